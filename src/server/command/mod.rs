//! The commands: a table of specs (name, arity, flags, keys, docs) and the dispatcher.
//!
//! Groups, one file each: `strings` (GET, SET...), `keyspace` (DEL, SCAN...), `expiry`
//! (EXPIRE, TTL...), `connection` (PING, HELLO, AUTH, CLIENT...), `server` (INFO, SAVE,
//! COMMAND, CONFIG...), and `native` (the `SC.` commands for what Redis has no command for).

mod connection;
mod expiry;
mod keyspace;
mod native;
pub(crate) mod server;
mod strings;
mod table;
mod transaction;
mod util;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use super::resp::reply::Replies;
use super::session::Session;
use super::shared::Shared;

pub use table::COMMANDS;
pub use util::Ctx;

/// A command's handler.
type Handler = fn(&mut Ctx<'_>, &[&[u8]]);

/// What `COMMAND` says about a command, and how to run it.
pub struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    /// Redis command flags.
    pub flags: &'static [&'static str],
    /// First key argument (0: none), last key (-1: the last argument), step.
    pub keys: (i32, i32, i32),
    /// `COMMAND DOCS` group.
    pub group: &'static str,
    /// `COMMAND DOCS` summary.
    pub summary: &'static str,
    /// The handler.
    pub run: Handler,
}

fn table() -> &'static HashMap<&'static str, &'static Spec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static Spec>> = OnceLock::new();
    TABLE.get_or_init(|| COMMANDS.iter().map(|s| (s.name, s)).collect())
}

/// The spec of the command named `name` (any case).
pub fn find(name: &[u8]) -> Option<&'static Spec> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (l, c) in lower.iter_mut().zip(name) {
        *l = c.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&lower[..name.len()]).ok()?;
    table().get(lower).copied()
}

/// Commands that may take long (they walk the index or flush): run so that the runtime
/// moves this worker's other clients to another thread meanwhile.
const SLOW: &[&str] = &[
    "keys",
    "flushdb",
    "flushall",
    "save",
    "dbsize",
    "info",
    "sc.invalidate",
    "sc.delprefix",
    "sc.stats",
    "sc.verify",
    "sc.compact",
    "sc.sweep",
    "sc.capacity",
];

/// Runs one request on a server worker thread and queues its reply.
pub fn run(shared: &Shared, session: &mut Session, out: &mut Replies, args: &[&[u8]]) {
    let spec = find(args[0]);
    if spec.is_some_and(|spec| SLOW.contains(&spec.name)) {
        tokio::task::block_in_place(|| dispatch(shared, session, out, args, spec));
    } else {
        dispatch(shared, session, out, args, spec);
    }
}

/// Runs one request and queues its reply.
pub fn execute(shared: &Shared, session: &mut Session, out: &mut Replies, args: &[&[u8]]) {
    dispatch(shared, session, out, args, find(args[0]));
}

/// Runs one request whose command was looked up (`None`: unknown) and queues its reply.
fn dispatch(
    shared: &Shared,
    session: &mut Session,
    out: &mut Replies,
    args: &[&[u8]],
    spec: Option<&'static Spec>,
) {
    shared.counters.commands.fetch_add(1, Ordering::Relaxed);
    let mut ctx = Ctx {
        shared,
        session,
        out,
    };
    let Some(spec) = spec else {
        ctx.unknown_command(args);
        abort_transaction(&mut ctx);
        return;
    };
    if !ctx.session.authed && !spec.flags.contains(&"no_auth") {
        ctx.error("NOAUTH Authentication required.");
        return;
    }
    let n = args.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || (spec.arity < 0 && n < -spec.arity) {
        ctx.error(&format!(
            "ERR wrong number of arguments for '{}' command",
            spec.name
        ));
        abort_transaction(&mut ctx);
        return;
    }
    if transaction::queue_if_in_multi(&mut ctx, spec, args) {
        return;
    }
    {
        let mut entry = ctx.session.slot.lock();
        entry.last_active = std::time::Instant::now();
        entry.last_cmd.clear();
        entry.last_cmd.push_str(spec.name);
    }
    (spec.run)(&mut ctx, args);
}

/// Inside `MULTI`, a refused command makes `EXEC` discard the transaction.
fn abort_transaction(ctx: &mut Ctx<'_>) {
    if let Some(queued) = &mut ctx.session.multi {
        queued.aborted = true;
    }
}
