//! `ttl KEY`, `expire KEY DURATION`, `persist KEY`: read and change an entry's expiry
//! without rewriting its value.

use std::time::Duration;

use crate::cli::{ExpireArgs, KeyArgs};
use crate::commands::keys;
use crate::exit::{CmdResult, Outcome};
use crate::output;
use crate::store::Store;
use crate::units::human_duration;

fn not_found(key: &std::ffi::OsStr) -> CmdResult {
    eprintln!("stratacache: not found: {}", key.to_string_lossy());
    Ok(Outcome::NotFound)
}

/// Prints the time left (`none` when the entry never expires).
pub fn ttl(store: &Store, args: KeyArgs) -> CmdResult {
    match store.ttl(keys::from_arg(&args.key))? {
        None => not_found(&args.key),
        Some(None) => {
            output::line("none")?;
            Ok(Outcome::Done)
        }
        Some(Some(left)) => {
            output::line(&human_duration(left.as_millis() as u64))?;
            Ok(Outcome::Done)
        }
    }
}

/// Sets a new expiry, durably.
pub fn expire(store: &Store, args: ExpireArgs) -> CmdResult {
    let done = store.expire(
        keys::from_arg(&args.key),
        args.ttl.max(Duration::from_millis(1)),
    )?;
    store.flush()?;
    if done {
        Ok(Outcome::Done)
    } else {
        not_found(&args.key)
    }
}

/// Removes the expiry, durably; a key without one is left as it is.
pub fn persist(store: &Store, args: KeyArgs) -> CmdResult {
    let key = keys::from_arg(&args.key);
    if store.ttl(key)?.is_none() {
        return not_found(&args.key);
    }
    store.persist(key)?;
    store.flush()?;
    Ok(Outcome::Done)
}
