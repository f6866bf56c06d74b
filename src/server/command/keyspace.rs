//! Keyspace commands: DEL, UNLINK, EXISTS, TYPE, SCAN, KEYS, DBSIZE, FLUSHDB, FLUSHALL.

use super::util::{Ctx, NOT_INTEGER, SYNTAX, int, is};
use crate::server::glob;

/// Rows one `KEYS` page reads from the index.
const KEYS_PAGE: usize = 4096;

/// `DEL key [key ...]`, `UNLINK key [key ...]`
pub fn del(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let shared = ctx.shared;
    let mut removed = 0;
    ctx.wrote();
    for key in &args[1..] {
        let _lock = shared.locks.lock(key);
        match shared.cache.remove(key) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => return ctx.fail(&e),
        }
    }
    ctx.out.int(removed);
}

/// `EXISTS key [key ...]` (a key named twice counts twice, as in Redis)
pub fn exists(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut found = 0;
    for key in &args[1..] {
        match ctx.shared.cache.contains_key(key) {
            Ok(true) => found += 1,
            Ok(false) => {}
            Err(e) => return ctx.fail(&e),
        }
    }
    ctx.out.int(found);
}

/// `TYPE key`: every value here is a string.
pub fn key_type(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.shared.cache.contains_key(args[1]) {
        Ok(true) => ctx.out.simple("string"),
        Ok(false) => ctx.out.simple("none"),
        Err(e) => ctx.fail(&e),
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Cursors walk the index in key order: cursor 0 starts, a returned cursor continues after
/// the last key looked at (kept by the server), 0 ends. `COUNT` is the number of index rows
/// one call looks at; keys added or removed during a scan may or may not be returned, every
/// key present throughout is returned once.
pub fn scan(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(after) = ctx.cursor_after(args[1]) else {
        return;
    };
    let (mut pattern, mut count, mut type_ok) = (None, 10usize, true);
    let mut rest = &args[2..];
    while let [option, value, tail @ ..] = rest {
        if is(option, "match") {
            pattern = Some(*value);
        } else if is(option, "count") {
            match int(value) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return ctx.error(SYNTAX),
                None => return ctx.error(NOT_INTEGER),
            }
        } else if is(option, "type") {
            type_ok = is(value, "string");
        } else {
            return ctx.error(SYNTAX);
        }
        rest = tail;
    }
    if !rest.is_empty() {
        return ctx.error(SYNTAX);
    }
    let prefix = pattern.map(glob::literal_prefix).unwrap_or(b"");
    let page = if type_ok {
        match ctx
            .shared
            .store()
            .list_page(prefix, after.as_deref(), count.min(100_000))
        {
            Ok(page) => page,
            Err(e) => return ctx.fail(&e),
        }
    } else {
        Default::default()
    };
    let next = ctx.next_cursor(page.next_after);
    let keys: Vec<&[u8]> = page
        .entries
        .iter()
        .map(|e| e.key.as_slice())
        .filter(|k| pattern.is_none_or(|p| glob::matches(p, k)))
        .collect();
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(keys.len());
    for key in keys {
        ctx.out.bulk(key);
    }
}

/// `KEYS pattern`: every matching key (reads the index range of the pattern's literal
/// prefix, a page at a time).
pub fn keys(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let pattern = args[1];
    let prefix = glob::literal_prefix(pattern);
    let mut found = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = match ctx
            .shared
            .store()
            .list_page(prefix, after.as_deref(), KEYS_PAGE)
        {
            Ok(page) => page,
            Err(e) => return ctx.fail(&e),
        };
        found.extend(
            page.entries
                .into_iter()
                .map(|e| e.key)
                .filter(|k| glob::matches(pattern, k)),
        );
        match page.next_after {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
}

/// `DBSIZE`: entries in the index (expired ones until the sweeper removes them).
pub fn dbsize(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    match ctx.shared.store().stats() {
        Ok(stats) => ctx.out.int(stats.entries as i64),
        Err(e) => ctx.fail(&e),
    }
}

/// `FLUSHDB [ASYNC | SYNC]`, `FLUSHALL [ASYNC | SYNC]`
pub fn flush(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match &args[1..] {
        [] => {}
        [mode] if is(mode, "async") || is(mode, "sync") => {}
        _ => return ctx.error(SYNTAX),
    }
    ctx.wrote();
    match ctx.shared.cache.remove_prefix(b"") {
        Ok(_) => ctx.out.ok(),
        Err(e) => ctx.fail(&e),
    }
}
