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
mod util;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use super::resp::reply::Replies;
use super::session::Session;
use super::shared::Shared;

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

const W: &[&str] = &["write"];
const WF: &[&str] = &["write", "denyoom"];
const R: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const F: &[&str] = &["fast"];
const L: &[&str] = &["loading", "stale", "fast"];
const A: &[&str] = &["admin", "noscript"];

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $summary:literal, $run:expr) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            summary: $summary,
            run: $run,
        }
    };
}

/// Every command, in `COMMAND` order.
pub static COMMANDS: &[Spec] = &[
    spec!(
        "get",
        2,
        R,
        (1, 1, 1),
        "string",
        "Returns the string value of a key.",
        strings::get
    ),
    spec!(
        "set",
        -3,
        WF,
        (1, 1, 1),
        "string",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        strings::set
    ),
    spec!(
        "setex",
        4,
        WF,
        (1, 1, 1),
        "string",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        strings::setex
    ),
    spec!(
        "psetex",
        4,
        WF,
        (1, 1, 1),
        "string",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        strings::psetex
    ),
    spec!(
        "setnx",
        3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "Set the string value of a key only when the key doesn't exist.",
        strings::setnx
    ),
    spec!(
        "getdel",
        2,
        &["write", "fast"],
        (1, 1, 1),
        "string",
        "Returns the string value of a key after deleting the key.",
        strings::getdel
    ),
    spec!(
        "getex",
        -2,
        &["write", "fast"],
        (1, 1, 1),
        "string",
        "Returns the string value of a key after setting its expiration time.",
        strings::getex
    ),
    spec!(
        "mget",
        -2,
        R,
        (1, -1, 1),
        "string",
        "Atomically returns the string values of one or more keys.",
        strings::mget
    ),
    spec!(
        "mset",
        -3,
        WF,
        (1, -1, 2),
        "string",
        "Atomically creates or modifies the string values of one or more keys.",
        strings::mset
    ),
    spec!(
        "strlen",
        2,
        R,
        (1, 1, 1),
        "string",
        "Returns the length of a string value.",
        strings::strlen
    ),
    spec!(
        "del",
        -2,
        W,
        (1, -1, 1),
        "generic",
        "Deletes one or more keys.",
        keyspace::del
    ),
    spec!(
        "unlink",
        -2,
        &["write", "fast"],
        (1, -1, 1),
        "generic",
        "Asynchronously deletes one or more keys.",
        keyspace::del
    ),
    spec!(
        "exists",
        -2,
        R,
        (1, -1, 1),
        "generic",
        "Determines whether one or more keys exist.",
        keyspace::exists
    ),
    spec!(
        "type",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Determines the type of value stored at a key.",
        keyspace::key_type
    ),
    spec!(
        "scan",
        -2,
        RS,
        (0, 0, 0),
        "generic",
        "Iterates over the key names in the database.",
        keyspace::scan
    ),
    spec!(
        "keys",
        2,
        RS,
        (0, 0, 0),
        "generic",
        "Returns all key names that match a pattern.",
        keyspace::keys
    ),
    spec!(
        "dbsize",
        1,
        R,
        (0, 0, 0),
        "server",
        "Returns the number of keys in the database.",
        keyspace::dbsize
    ),
    spec!(
        "flushdb",
        -1,
        W,
        (0, 0, 0),
        "server",
        "Remove all keys from the current database.",
        keyspace::flush
    ),
    spec!(
        "flushall",
        -1,
        W,
        (0, 0, 0),
        "server",
        "Removes all keys from all databases.",
        keyspace::flush
    ),
    spec!(
        "expire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in seconds.",
        expiry::expire
    ),
    spec!(
        "pexpire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in milliseconds.",
        expiry::pexpire
    ),
    spec!(
        "expireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix timestamp.",
        expiry::expireat
    ),
    spec!(
        "pexpireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        expiry::pexpireat
    ),
    spec!(
        "ttl",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in seconds of a key.",
        expiry::ttl
    ),
    spec!(
        "pttl",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in milliseconds of a key.",
        expiry::pttl
    ),
    spec!(
        "expiretime",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiry::expiretime
    ),
    spec!(
        "pexpiretime",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        expiry::pexpiretime
    ),
    spec!(
        "persist",
        2,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Removes the expiration time of a key.",
        expiry::persist
    ),
    spec!(
        "ping",
        -1,
        F,
        (0, 0, 0),
        "connection",
        "Returns the server's liveliness response.",
        connection::ping
    ),
    spec!(
        "echo",
        2,
        F,
        (0, 0, 0),
        "connection",
        "Returns the given string.",
        connection::echo
    ),
    spec!(
        "quit",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Closes the connection.",
        connection::quit
    ),
    spec!(
        "hello",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Handshakes with the Redis server.",
        connection::hello
    ),
    spec!(
        "auth",
        -2,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Authenticates the connection.",
        connection::auth
    ),
    spec!(
        "select",
        2,
        L,
        (0, 0, 0),
        "connection",
        "Changes the selected database.",
        connection::select
    ),
    spec!(
        "client",
        -2,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "A container for client connection commands.",
        connection::client
    ),
    spec!(
        "reset",
        1,
        L,
        (0, 0, 0),
        "connection",
        "Resets the connection.",
        connection::reset
    ),
    spec!(
        "command",
        -1,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns detailed information about all commands.",
        server::command
    ),
    spec!(
        "info",
        -1,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns information and statistics about the server.",
        server::info
    ),
    spec!(
        "config",
        -2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "A container for server configuration commands.",
        server::config
    ),
    spec!(
        "save",
        1,
        A,
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk.",
        server::save
    ),
    spec!(
        "bgsave",
        -1,
        A,
        (0, 0, 0),
        "server",
        "Asynchronously saves the database(s) to disk.",
        server::bgsave
    ),
    spec!(
        "lastsave",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "Returns the Unix timestamp of the last successful save to disk.",
        server::lastsave
    ),
    spec!(
        "shutdown",
        -1,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        server::shutdown
    ),
    spec!(
        "time",
        1,
        L,
        (0, 0, 0),
        "server",
        "Returns the server time.",
        server::time
    ),
    spec!(
        "sc.invalidate",
        -2,
        W,
        (0, 0, 0),
        "stratacache",
        "Retires every value carrying one of the given tags (stratacache).",
        native::invalidate
    ),
    spec!(
        "sc.delprefix",
        2,
        W,
        (0, 0, 0),
        "stratacache",
        "Removes every key starting with a prefix; replies the count (stratacache).",
        native::delprefix
    ),
    spec!(
        "sc.set",
        -3,
        WF,
        (1, 1, 1),
        "stratacache",
        "SET with tags: SC.SET key value [PX ms] [TAG tag]... (stratacache).",
        native::set_tagged
    ),
    spec!(
        "sc.list",
        -2,
        RS,
        (0, 0, 0),
        "stratacache",
        "Lists entries with sizes and expiry: SC.LIST cursor [PREFIX p] [COUNT n] (stratacache).",
        native::list
    ),
    spec!(
        "sc.stats",
        1,
        RS,
        (0, 0, 0),
        "stratacache",
        "The store's and the cache's stats as JSON (stratacache).",
        native::stats
    ),
    spec!(
        "sc.verify",
        -1,
        RS,
        (0, 0, 0),
        "stratacache",
        "Checks every record's CRC: SC.VERIFY [REPAIR]; a JSON report (stratacache).",
        native::verify
    ),
    spec!(
        "sc.compact",
        -1,
        W,
        (0, 0, 0),
        "stratacache",
        "Compacts sparse segments: SC.COMPACT [ALL]; a JSON report (stratacache).",
        native::compact
    ),
    spec!(
        "sc.sweep",
        1,
        W,
        (0, 0, 0),
        "stratacache",
        "Removes expired entries now; replies the count (stratacache).",
        native::sweep
    ),
    spec!(
        "sc.capacity",
        -1,
        W,
        (0, 0, 0),
        "stratacache",
        "Reads or sets the disk capacity in bytes: SC.CAPACITY [bytes] (stratacache).",
        native::capacity
    ),
];

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
    let slow = find(args[0]).is_some_and(|spec| SLOW.contains(&spec.name));
    if slow {
        tokio::task::block_in_place(|| execute(shared, session, out, args));
    } else {
        execute(shared, session, out, args);
    }
}

/// Runs one request and queues its reply.
pub fn execute(shared: &Shared, session: &mut Session, out: &mut Replies, args: &[&[u8]]) {
    shared.counters.commands.fetch_add(1, Ordering::Relaxed);
    let mut ctx = Ctx {
        shared,
        session,
        out,
    };
    let Some(spec) = find(args[0]) else {
        ctx.unknown_command(args);
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
