//! `put KEY [FILE] [--ttl D]` and `get KEY [-o FILE]`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::store::Store;

use crate::cli::{GetArgs, PutArgs};
use crate::commands::keys;
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::output;
use crate::units::human_size;

/// Stores a file (or standard input) of at most `limit` bytes under a key, durably.
pub fn put(store: &Store, args: PutArgs, limit: u64) -> CmdResult {
    let value = match args.file.as_deref() {
        Some(path) if path != Path::new("-") => read_file(path, limit)?,
        _ => read_stdin(limit)?,
    };
    store.put(keys::from_arg(&args.key), &value, args.ttl, &args.tags)?;
    store.flush()?;
    Ok(Outcome::Done)
}

/// Writes the value of a key to standard output or a file; `NotFound` when absent.
pub fn get(store: &Store, args: GetArgs) -> CmdResult {
    let Some(value) = store.get(keys::from_arg(&args.key))? else {
        eprintln!("stratacache: not found: {}", args.key.to_string_lossy());
        return Ok(Outcome::NotFound);
    };
    // A typed value the cache wrote as MessagePack is shown as JSON (JSON is shown as it
    // is either way); `--raw` gives the stored bytes.
    let shown = if args.raw { None } else { value.json() };
    let bytes: &[u8] = shown.as_deref().unwrap_or(&value);
    match &args.output {
        Some(path) => std::fs::write(path, bytes).map_err(|e| Fatal::io("write", path, e))?,
        None => output::write(bytes)?,
    }
    Ok(Outcome::Done)
}

/// Reads a whole file, refusing one over the value limit before reading it.
fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, Fatal> {
    let meta = std::fs::metadata(path).map_err(|e| Fatal::io("read", path, e))?;
    if !meta.is_file() {
        return Err(Fatal::msg(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if meta.len() > limit {
        return Err(too_large(&path.display().to_string(), meta.len(), limit));
    }
    let file = File::open(path).map_err(|e| Fatal::io("open", path, e))?;
    let mut value = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut value)
        .map_err(|e| Fatal::io("read", path, e))?;
    if value.len() as u64 > limit {
        return Err(too_large(
            &path.display().to_string(),
            value.len() as u64,
            limit,
        ));
    }
    Ok(value)
}

/// Reads standard input up to one byte past the value limit.
fn read_stdin(limit: u64) -> Result<Vec<u8>, Fatal> {
    let mut value = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut value)
        .map_err(|e| Fatal::msg(format!("read standard input: {e}")))?;
    if value.len() as u64 > limit {
        return Err(Fatal::msg(format!(
            "standard input is over the value limit of {} (--max-value-size)",
            human_size(limit)
        )));
    }
    Ok(value)
}

fn too_large(what: &str, len: u64, limit: u64) -> Fatal {
    Fatal::msg(format!(
        "{what} is {} ({len} bytes), over the value limit of {} (--max-value-size)",
        human_size(len),
        human_size(limit)
    ))
}
