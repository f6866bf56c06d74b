//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX XX GT LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST. A change of expiry rewrites no value.

use super::util::{Ctx, NOT_INTEGER, int, is};

/// How the amount of an EXPIRE-family command is read.
#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

fn expire_generic(ctx: &mut Ctx<'_>, args: &[&[u8]], unit: Unit, command: &str) {
    let Some(amount) = int(args[2]) else {
        return ctx.error(NOT_INTEGER);
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in &args[3..] {
        if is(option, "nx") {
            nx = true;
        } else if is(option, "xx") {
            xx = true;
        } else if is(option, "gt") {
            gt = true;
        } else if is(option, "lt") {
            lt = true;
        } else {
            return ctx.error(&format!(
                "ERR Unsupported option {}",
                super::util::shown(option)
            ));
        }
    }
    if nx && (xx || gt || lt) {
        return ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.error("ERR GT and LT options at the same time are not compatible");
    }
    let now = ctx.now_ms() as i128;
    let at: i128 = match unit {
        Unit::Seconds => now + amount as i128 * 1000,
        Unit::Millis => now + amount as i128,
        Unit::UnixSeconds => amount as i128 * 1000,
        Unit::UnixMillis => amount as i128,
    };
    if at > i64::MAX as i128
        || (matches!(unit, Unit::Seconds | Unit::UnixSeconds)
            && amount.unsigned_abs() > i64::MAX as u64 / 1000)
    {
        return ctx.error(&format!("ERR invalid expire time in '{command}' command"));
    }
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    let current = match shared.cache.ttl(args[1]) {
        Ok(Some(ttl)) => ttl.map(|left| now + left.as_millis() as i128),
        Ok(None) => return ctx.out.int(0),
        Err(e) => return ctx.fail(&e),
    };
    // No expiry counts as an infinite one for GT and LT, as in Redis.
    let applies = (!nx || current.is_none())
        && (!xx || current.is_some())
        && (!gt || current.is_some_and(|c| at > c))
        && (!lt || current.is_none_or(|c| at < c));
    if !applies {
        return ctx.out.int(0);
    }
    ctx.wrote();
    let at = at.max(0) as u64;
    let result = if at as i128 <= now {
        shared.cache.remove(args[1])
    } else {
        shared.cache.set_expires_at(args[1], Some(at))
    };
    match result {
        Ok(done) => ctx.out.int(i64::from(done)),
        Err(e) => ctx.fail(&e),
    }
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`
pub fn expire(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, Unit::Seconds, "expire");
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
pub fn pexpire(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, Unit::Millis, "pexpire");
}

/// `EXPIREAT key unix-seconds [NX | XX | GT | LT]`
pub fn expireat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, Unit::UnixSeconds, "expireat");
}

/// `PEXPIREAT key unix-ms [NX | XX | GT | LT]`
pub fn pexpireat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    expire_generic(ctx, args, Unit::UnixMillis, "pexpireat");
}

/// The remaining TTL of `key` in ms: -2 absent, -1 no expiry.
fn remaining_ms(ctx: &mut Ctx<'_>, key: &[u8]) -> Option<i64> {
    match ctx.shared.cache.ttl(key) {
        Ok(None) => Some(-2),
        Ok(Some(None)) => Some(-1),
        Ok(Some(Some(left))) => Some(left.as_millis() as i64),
        Err(e) => {
            ctx.fail(&e);
            None
        }
    }
}

/// `TTL key`: seconds left, rounded as Redis rounds; -2 absent, -1 no expiry.
pub fn ttl(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if let Some(ms) = remaining_ms(ctx, args[1]) {
        ctx.out.int(if ms < 0 { ms } else { (ms + 500) / 1000 });
    }
}

/// `PTTL key`
pub fn pttl(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if let Some(ms) = remaining_ms(ctx, args[1]) {
        ctx.out.int(ms);
    }
}

/// `EXPIRETIME key`: the absolute expiry in Unix seconds; -2 absent, -1 no expiry.
pub fn expiretime(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if let Some(ms) = remaining_ms(ctx, args[1]) {
        let now = ctx.now_ms() as i64;
        ctx.out.int(if ms < 0 { ms } else { (now + ms) / 1000 });
    }
}

/// `PEXPIRETIME key`
pub fn pexpiretime(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if let Some(ms) = remaining_ms(ctx, args[1]) {
        let now = ctx.now_ms() as i64;
        ctx.out.int(if ms < 0 { ms } else { now + ms });
    }
}

/// `PERSIST key`: 1 when an expiry was removed.
pub fn persist(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    ctx.wrote();
    match shared.cache.persist(args[1]) {
        Ok(done) => ctx.out.int(i64::from(done)),
        Err(e) => ctx.fail(&e),
    }
}
