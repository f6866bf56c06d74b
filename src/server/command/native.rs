//! The `SC.` commands: what the cache does that Redis has no command for (tags, prefix
//! removal, listing with sizes, stats, verify, compaction, sweep, capacity).

use std::time::Duration;

use super::util::{Ctx, NOT_INTEGER, SYNTAX, int, is};
use crate::cache::{InsertOptions, PayloadKind};

fn json(ctx: &mut Ctx<'_>, value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(text) => ctx.out.text(&text),
        Err(e) => ctx.error(&format!("ERR could not encode the reply as JSON: {e}")),
    }
}

/// `SC.INVALIDATE tag [tag ...]`: retires every value carrying one of the tags; replies how
/// many tags it retired.
pub fn invalidate(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ctx.wrote();
    for tag in &args[1..] {
        let Ok(tag) = std::str::from_utf8(tag) else {
            return ctx.error("ERR tags are UTF-8 text");
        };
        if let Err(e) = ctx.shared.cache.invalidate_tag(tag) {
            return ctx.fail(&e);
        }
    }
    ctx.out.int(args.len() as i64 - 1);
}

/// `SC.DELPREFIX prefix`: removes every key starting with `prefix`; replies the count.
pub fn delprefix(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ctx.wrote();
    match ctx.shared.cache.remove_prefix(args[1]) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.SET key value [PX ms] [TAG tag]... [KIND kind] [NX]`: a SET whose value carries tags,
/// and what the bytes are (`bytes`, `text`, `json`, `msgpack`, `bincode`, `pickle`; see
/// `PayloadKind`), so that `SC.GET` and local readers decode them as written. With `NX` it
/// stores only when the key holds no live value, and replies null when it did not.
pub fn set_tagged(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut options = InsertOptions::new();
    let mut kind = PayloadKind::Bytes;
    let mut only_if_absent = false;
    let mut rest = &args[3..];
    while let [word, tail @ ..] = rest {
        if is(word, "nx") {
            only_if_absent = true;
            rest = tail;
            continue;
        }
        let [value, tail @ ..] = tail else {
            return ctx.error(SYNTAX);
        };
        if is(word, "px") {
            match int(value) {
                Some(ms) if ms > 0 => options = options.ttl(Duration::from_millis(ms as u64)),
                Some(_) => return ctx.error("ERR invalid expire time in 'sc.set' command"),
                None => return ctx.error(NOT_INTEGER),
            }
        } else if is(word, "tag") {
            let Ok(tag) = std::str::from_utf8(value) else {
                return ctx.error("ERR tags are UTF-8 text");
            };
            options = options.tags([tag]);
        } else if is(word, "kind") {
            match std::str::from_utf8(value)
                .ok()
                .and_then(PayloadKind::from_name)
            {
                Some(k) => kind = k,
                None => {
                    return ctx.error(
                        "ERR unknown value kind (use bytes, text, json, msgpack, bincode or pickle)",
                    );
                }
            }
        } else {
            return ctx.error(SYNTAX);
        }
        rest = tail;
    }
    let shared = ctx.shared;
    let _lock = shared.locks.lock(args[1]);
    if only_if_absent {
        match shared.cache.contains_key(args[1]) {
            // Nothing written: nothing for `--durability always` to wait for.
            Ok(true) => return ctx.out.null(),
            Ok(false) => {}
            Err(e) => return ctx.fail(&e),
        }
    }
    ctx.wrote();
    match shared
        .cache
        .insert_payload(args[1], kind, args[2], &options)
    {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.LIST cursor [PREFIX p] [COUNT n]`: like SCAN, with each entry as
/// `[key, size, stored size, expiry in Unix ms or -1]`.
pub fn list(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(after) = ctx.cursor_after(args[1]) else {
        return;
    };
    let (mut prefix, mut count): (&[u8], usize) = (b"", 1000);
    let mut rest = &args[2..];
    while let [word, value, tail @ ..] = rest {
        if is(word, "prefix") {
            prefix = value;
        } else if is(word, "count") {
            match int(value) {
                Some(n) if n >= 1 => count = (n as usize).min(100_000),
                _ => return ctx.error(NOT_INTEGER),
            }
        } else {
            return ctx.error(SYNTAX);
        }
        rest = tail;
    }
    if !rest.is_empty() {
        return ctx.error(SYNTAX);
    }
    let page = match ctx
        .shared
        .store()
        .list_page(prefix, after.as_deref(), count)
    {
        Ok(page) => page,
        Err(e) => return ctx.fail(&e),
    };
    let next = ctx.next_cursor(page.next_after);
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(page.entries.len());
    for entry in &page.entries {
        out.array(4);
        out.bulk(&entry.key);
        out.int(entry.size as i64);
        out.int(entry.stored_size as i64);
        out.int(entry.expires_at_ms.map_or(-1, |at| at as i64));
    }
}

/// `SC.GET key`: `[value, kind]`, what the bytes are (`PayloadKind::name`: `bytes`, `text`,
/// `json`, `msgpack`, `bincode`, `pickle`); null when absent.
pub fn get_with_kind(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.shared.cache.get_bytes(args[1]) {
        Ok(Some(value)) => {
            ctx.count_read(true);
            ctx.out.array(2);
            ctx.out.bulk(&value);
            ctx.out.simple(value.kind().name());
        }
        Ok(None) => {
            ctx.count_read(false);
            ctx.out.null_array();
        }
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.STATS`: `{"disk": <stats --json>, "cache": <Cache::stats>}` as JSON text.
pub fn stats(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let disk = match ctx.shared.store().stats() {
        Ok(disk) => disk,
        Err(e) => return ctx.fail(&e),
    };
    let cache = ctx.shared.cache.stats();
    json(ctx, &serde_json::json!({ "disk": disk, "cache": cache }));
}

/// `SC.VERIFY [REPAIR]`: checks every record; the report as JSON.
pub fn verify(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let repair = match &args[1..] {
        [] => false,
        [word] if is(word, "repair") => true,
        _ => return ctx.error(SYNTAX),
    };
    let store = ctx.shared.store();
    let report = if repair {
        ctx.wrote();
        store.verify_and_repair()
    } else {
        store.verify()
    };
    match report {
        Ok(report) => json(ctx, &report),
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.COMPACT [ALL]`: compacts sparse segments (every sealed one with ALL); the report as
/// JSON.
pub fn compact(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let all = match &args[1..] {
        [] => false,
        [word] if is(word, "all") => true,
        _ => return ctx.error(SYNTAX),
    };
    ctx.wrote();
    let store = ctx.shared.store();
    let report = if all {
        store.compact_all()
    } else {
        store.compact()
    };
    match report {
        Ok(report) => json(ctx, &report),
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.SWEEP`: removes expired entries now; replies how many.
pub fn sweep(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.wrote();
    match ctx.shared.store().sweep_expired() {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.fail(&e),
    }
}

/// `SC.CAPACITY [bytes]`: the disk capacity; with an argument, sets it first (a smaller
/// one evicts down to it at once).
pub fn capacity(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let store = ctx.shared.store();
    match &args[1..] {
        [] => {}
        [bytes] => {
            let Some(bytes) = int(bytes).filter(|&b| b > 0) else {
                return ctx.error(NOT_INTEGER);
            };
            ctx.wrote();
            if let Err(e) = store.set_capacity(bytes as u64) {
                return ctx.fail(&e);
            }
        }
        _ => return ctx.error(SYNTAX),
    }
    match store.stats() {
        Ok(stats) => ctx.out.int(stats.capacity_bytes as i64),
        Err(e) => ctx.fail(&e),
    }
}
