//! `ls [--prefix P] [--long | --json]`: list live keys.
//!
//! Keys are shown as lossy UTF-8. Plain: one key per line, nothing else. Long:
//! `SIZE  STORED  TTL  KEY`, sizes human, TTL the remaining time or `-`. JSON: an array
//! of `{key, size, stored_size, expires_in_ms}` with `expires_in_ms` null for entries
//! that never expire. With `-0` (plain or long) each row ends with a NUL byte instead of
//! a newline and the key is written as its stored bytes, so any key survives `xargs -0`.

use std::io::{BufWriter, Write};

use serde::Serialize;
use stratacache::EntryInfo;

use crate::store::Store;

use crate::cli::LsArgs;
use crate::commands::keys;
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::units::{human_duration, human_size};

/// One entry of `ls --json`.
#[derive(Serialize)]
struct JsonEntry<'a> {
    key: std::borrow::Cow<'a, str>,
    size: u64,
    stored_size: u64,
    expires_in_ms: Option<u64>,
}

/// Lists the live keys under a prefix, a page of the index at a time (the listing of
/// millions of keys holds one page in memory; `--long` aligns its columns per page).
pub fn run(store: &Store, args: LsArgs) -> CmdResult {
    let now = store.now_ms();
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut first = true;
    if args.json {
        out.write_all(b"[").map_err(Fatal::stdout)?;
    }
    let prefix = keys::from_arg(&args.prefix);
    if !args.json && !args.long {
        store.for_each_key(prefix, |key| -> Result<(), Fatal> {
            write_key(&mut out, key, args.null).map_err(Fatal::stdout)
        })?;
        out.flush().map_err(Fatal::stdout)?;
        return Ok(Outcome::Done);
    }
    store.for_each_page(prefix, |entries| -> Result<(), Fatal> {
        if args.json {
            for e in &entries {
                let row = JsonEntry {
                    key: keys::show(&e.key),
                    size: e.size,
                    stored_size: e.stored_size,
                    expires_in_ms: e.expires_at_ms.map(|at| at.saturating_sub(now)),
                };
                let json = serde_json::to_string(&row).map_err(|e| Fatal::msg(e.to_string()))?;
                let sep: &[u8] = if first { b"" } else { b"," };
                first = false;
                out.write_all(sep).map_err(Fatal::stdout)?;
                out.write_all(json.as_bytes()).map_err(Fatal::stdout)?;
            }
        } else {
            write_long(&mut out, &entries, now, args.null).map_err(Fatal::stdout)?;
        }
        Ok(())
    })?;
    if args.json {
        out.write_all(b"]\n").map_err(Fatal::stdout)?;
    }
    out.flush().map_err(Fatal::stdout)?;
    Ok(Outcome::Done)
}

/// Ends a row with a key: its stored bytes and a NUL byte with `null`, else lossy UTF-8
/// and a newline.
fn write_key(out: &mut impl Write, key: &[u8], null: bool) -> std::io::Result<()> {
    if null {
        out.write_all(key)?;
        out.write_all(b"\0")
    } else if std::str::from_utf8(key).is_ok() {
        // The common case, without formatting machinery: the key is its own UTF-8.
        out.write_all(key)?;
        out.write_all(b"\n")
    } else {
        writeln!(out, "{}", keys::show(key))
    }
}

/// The long listing of one page, its columns aligned.
fn write_long(
    out: &mut impl Write,
    entries: &[EntryInfo],
    now: u64,
    null: bool,
) -> std::io::Result<()> {
    let rows: Vec<[String; 3]> = entries
        .iter()
        .map(|e| {
            let ttl = match e.expires_at_ms {
                Some(at) => human_duration(at.saturating_sub(now)),
                None => "-".into(),
            };
            [human_size(e.size), human_size(e.stored_size), ttl]
        })
        .collect();
    let width = |col: usize| rows.iter().map(|r| r[col].len()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for (row, e) in rows.iter().zip(entries) {
        write!(out, "{:>w0$}  {:>w1$}  {:<w2$}  ", row[0], row[1], row[2])?;
        write_key(out, &e.key, null)?;
    }
    Ok(())
}
