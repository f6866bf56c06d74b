//! Transactions: MULTI, EXEC, DISCARD (and WATCH, refused).
//!
//! `EXEC` runs the queued commands in order and answers them together, as Redis does;
//! unlike Redis, other clients' commands may run between them (each command is atomic on
//! its own, the transaction as a whole is not isolated). redis-py's `pipeline()` sends its
//! commands this way.

use super::util::Ctx;
use super::{Spec, execute};
use crate::server::session::Queued;

/// Queues the command when the client is inside `MULTI` (replying `QUEUED`); true when it
/// did.
pub fn queue_if_in_multi(ctx: &mut Ctx<'_>, spec: &Spec, args: &[&[u8]]) -> bool {
    if matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) {
        return false;
    }
    let max = ctx.shared.limits.max_query;
    let Some(queued) = &mut ctx.session.multi else {
        return false;
    };
    let bytes: usize = args.iter().map(|a| a.len()).sum();
    if queued.bytes + bytes > max {
        queued.aborted = true;
        ctx.error("ERR the transaction is over the query buffer limit");
        return true;
    }
    queued.bytes += bytes;
    queued
        .commands
        .push(args.iter().map(|a| a.to_vec()).collect());
    ctx.out.simple("QUEUED");
    true
}

/// `MULTI`
pub fn multi(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.session.multi.is_some() {
        return ctx.error("ERR MULTI calls can not be nested");
    }
    ctx.session.multi = Some(Queued::default());
    ctx.out.ok();
}

/// `EXEC`
pub fn exec(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let Some(queued) = ctx.session.multi.take() else {
        return ctx.error("ERR EXEC without MULTI");
    };
    if queued.aborted {
        return ctx.error("EXECABORT Transaction discarded because of previous errors.");
    }
    ctx.out.array(queued.commands.len());
    for command in &queued.commands {
        let args: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        execute(ctx.shared, ctx.session, ctx.out, &args);
    }
}

/// `DISCARD`
pub fn discard(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.session.multi.take().is_none() {
        return ctx.error("ERR DISCARD without MULTI");
    }
    ctx.out.ok();
}

/// `WATCH key...`: optimistic locking is not offered; refused so that code relying on it
/// does not silently lose its guarantee.
pub fn watch(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    if ctx.session.multi.is_some() {
        return ctx.error("ERR WATCH inside MULTI is not allowed");
    }
    ctx.error("ERR WATCH is not supported by stratacache (transactions are not isolated)");
}

/// `UNWATCH`: nothing is ever watched.
pub fn unwatch(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.ok();
}
