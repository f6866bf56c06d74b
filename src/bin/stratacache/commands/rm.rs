//! `rm KEY...`: remove keys, saying which ones were not there.

use crate::store::Store;

use crate::cli::RmArgs;
use crate::commands::keys;
use crate::exit::{CmdResult, Outcome};

/// Removes every key given; `NotFound` (exit 1) when any was missing. The others are
/// removed anyway, durably.
pub fn run(store: &Store, args: RmArgs) -> CmdResult {
    let mut missing = 0usize;
    if let Some(prefix) = &args.prefix {
        let removed = store.remove_prefix(keys::from_arg(prefix))?;
        eprintln!(
            "stratacache: removed {} under {:?}",
            crate::units::counted(removed, "entry", "entries"),
            prefix.to_string_lossy()
        );
    }
    for key in &args.keys {
        if !store.remove(keys::from_arg(key))? {
            eprintln!("stratacache: not found: {}", key.to_string_lossy());
            missing += 1;
        }
    }
    store.flush()?;
    Ok(if missing == 0 {
        Outcome::Done
    } else {
        Outcome::NotFound
    })
}
