//! String commands: GET, SET (NX XX GET EX PX EXAT PXAT KEEPTTL), SETEX, PSETEX, SETNX,
//! GETDEL, GETEX, MGET, MSET, STRLEN.

use std::time::Duration;

use super::util::{Ctx, NOT_INTEGER, SYNTAX, int, is};
use crate::cache::InsertOptions;

/// When a written value expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Never (a plain SET clears any TTL).
    Never,
    /// At this time, ms since the Unix epoch.
    At(u64),
    /// Whatever the key had (`KEEPTTL`).
    Keep,
}

/// Parses the amount after EX/PX/EXAT/PXAT into an absolute time in ms. `None`: Redis's
/// "invalid expire time" (not positive, or overflowing).
pub fn expiry_at(unit: &[u8], amount: &[u8], now_ms: u64) -> Result<Option<u64>, &'static str> {
    let n = int(amount).ok_or(NOT_INTEGER)?;
    if n <= 0 {
        return Ok(None);
    }
    let n = n as u64;
    let at = if is(unit, "ex") {
        n.checked_mul(1000).and_then(|ms| ms.checked_add(now_ms))
    } else if is(unit, "px") {
        n.checked_add(now_ms)
    } else if is(unit, "exat") {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    Ok(at.filter(|&at| at < i64::MAX as u64))
}

fn is_expiry_word(arg: &[u8]) -> bool {
    ["ex", "px", "exat", "pxat"].iter().any(|w| is(arg, w))
}

/// Writes `value` under `key` expiring as `expiry` (the caller holds the key's lock). A
/// time already past removes the key instead, as Redis does.
fn write(ctx: &mut Ctx<'_>, key: &[u8], value: &[u8], expiry: Expiry) -> crate::Result<()> {
    let cache = &ctx.shared.cache;
    let now = cache.now_ms();
    let at = match expiry {
        Expiry::Never => None,
        Expiry::At(at) => Some(at),
        Expiry::Keep => match cache.ttl(key)? {
            Some(Some(left)) => Some(now + left.as_millis() as u64),
            _ => None,
        },
    };
    ctx.session.wrote = true;
    match at {
        None => cache.insert_bytes(key, value),
        Some(at) if at <= now => cache.remove(key).map(|_| ()),
        Some(at) => {
            let options = InsertOptions::new().ttl(Duration::from_millis(at - now));
            cache.insert_bytes_with(key, value, &options)
        }
    }
}

/// `GET key`
pub fn get(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.shared.cache.get_bytes(args[1]) {
        Ok(Some(value)) => {
            ctx.count_read(true);
            ctx.out.bulk(&value);
        }
        Ok(None) => {
            ctx.count_read(false);
            ctx.out.null();
        }
        Err(e) => ctx.fail(&e),
    }
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]`
pub fn set(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let (key, value) = (args[1], args[2]);
    let (mut nx, mut xx, mut get, mut expiry, mut timed) =
        (false, false, false, Expiry::Never, false);
    let mut i = 3;
    while i < args.len() {
        let arg = args[i];
        if is(arg, "nx") && !xx {
            nx = true;
        } else if is(arg, "xx") && !nx {
            xx = true;
        } else if is(arg, "get") {
            get = true;
        } else if is(arg, "keepttl") && !timed {
            expiry = Expiry::Keep;
            timed = true;
        } else if is_expiry_word(arg) && !timed && i + 1 < args.len() {
            match expiry_at(arg, args[i + 1], ctx.now_ms()) {
                Ok(Some(at)) => expiry = Expiry::At(at),
                Ok(None) => return ctx.error("ERR invalid expire time in 'set' command"),
                Err(e) => return ctx.error(e),
            }
            timed = true;
            i += 1;
        } else {
            return ctx.error(SYNTAX);
        }
        i += 1;
    }
    let shared = ctx.shared;
    let _lock = shared.locks.lock(key);
    let old = if get || nx || xx {
        match shared.cache.get_bytes(key) {
            Ok(old) => old,
            Err(e) => return ctx.fail(&e),
        }
    } else {
        None
    };
    let refused = (nx && old.is_some()) || (xx && old.is_none());
    let allowed = !refused;
    if allowed && let Err(e) = write(ctx, key, value, expiry) {
        return ctx.fail(&e);
    }
    match (get, old) {
        (true, Some(old)) => ctx.out.bulk(&old),
        (true, None) => ctx.out.null(),
        (false, _) if allowed => ctx.out.ok(),
        (false, _) => ctx.out.null(),
    }
}

fn set_expiring(ctx: &mut Ctx<'_>, args: &[&[u8]], unit: &str, command: &str) {
    let at = match expiry_at(unit.as_bytes(), args[2], ctx.now_ms()) {
        Ok(Some(at)) => at,
        Ok(None) => return ctx.error(&format!("ERR invalid expire time in '{command}' command")),
        Err(e) => return ctx.error(e),
    };
    let _lock = ctx.shared.locks.lock(args[1]);
    match write(ctx, args[1], args[3], Expiry::At(at)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.fail(&e),
    }
}

/// `SETEX key seconds value`
pub fn setex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    set_expiring(ctx, args, "ex", "setex");
}

/// `PSETEX key milliseconds value`
pub fn psetex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    set_expiring(ctx, args, "px", "psetex");
}

/// `SETNX key value`
pub fn setnx(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    match shared.cache.contains_key(args[1]) {
        Ok(true) => ctx.out.int(0),
        Ok(false) => match write(ctx, args[1], args[2], Expiry::Never) {
            Ok(()) => ctx.out.int(1),
            Err(e) => ctx.fail(&e),
        },
        Err(e) => ctx.fail(&e),
    }
}

/// `GETDEL key`
pub fn getdel(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    let old = match shared.cache.get_bytes(args[1]) {
        Ok(old) => old,
        Err(e) => return ctx.fail(&e),
    };
    ctx.count_read(old.is_some());
    let Some(old) = old else {
        return ctx.out.null();
    };
    ctx.wrote();
    match shared.cache.remove(args[1]) {
        Ok(_) => ctx.out.bulk(&old),
        Err(e) => ctx.fail(&e),
    }
}

/// `GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]`
pub fn getex(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let now = ctx.now_ms();
    let change = match &args[2..] {
        [] => None,
        [word] if is(word, "persist") => Some(None),
        [unit, amount] if is_expiry_word(unit) => match expiry_at(unit, amount, now) {
            Ok(Some(at)) => Some(Some(at)),
            Ok(None) => return ctx.error("ERR invalid expire time in 'getex' command"),
            Err(e) => return ctx.error(e),
        },
        _ => return ctx.error(SYNTAX),
    };
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    let value = match shared.cache.get_bytes(args[1]) {
        Ok(value) => value,
        Err(e) => return ctx.fail(&e),
    };
    ctx.count_read(value.is_some());
    let Some(value) = value else {
        return ctx.out.null();
    };
    if let Some(at) = change {
        ctx.wrote();
        if let Err(e) = shared.cache.set_expires_at(args[1], at) {
            return ctx.fail(&e);
        }
    }
    ctx.out.bulk(&value);
}

/// `MGET key [key ...]`
pub fn mget(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.shared.cache.get_many_bytes(&args[1..]) {
        Ok(values) => {
            ctx.out.array(values.len());
            for value in values {
                ctx.count_read(value.is_some());
                match value {
                    Some(v) => ctx.out.bulk(&v),
                    None => ctx.out.null(),
                }
            }
        }
        Err(e) => ctx.fail(&e),
    }
}

/// `MSET key value [key value ...]`
pub fn mset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len().is_multiple_of(2) {
        return ctx.error("ERR wrong number of arguments for 'mset' command");
    }
    let items: Vec<(&[u8], &[u8])> = args[1..].chunks(2).map(|p| (p[0], p[1])).collect();
    ctx.wrote();
    let shared = ctx.shared;
    // Each key's lock in turn would deadlock against another MSET taking them in another
    // order; one batch write is what plain SETs of these keys would do.
    match shared.cache.insert_many_bytes(&items) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.fail(&e),
    }
}

/// `STRLEN key`
pub fn strlen(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.shared.cache.get_bytes(args[1]) {
        Ok(value) => {
            ctx.count_read(value.is_some());
            ctx.out.int(value.map_or(0, |v| v.len() as i64));
        }
        Err(e) => ctx.fail(&e),
    }
}
