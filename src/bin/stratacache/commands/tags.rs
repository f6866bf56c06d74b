//! `invalidate-tag TAG...`: retire every value stored with one of the tags.

use crate::cli::TagArgs;
use crate::exit::{CmdResult, Outcome};
use crate::store::Store;

/// Retires the tags, durably (one write per tag, however many values carry it).
pub fn invalidate(store: &Store, args: TagArgs) -> CmdResult {
    for tag in &args.tags {
        store.invalidate_tag(tag)?;
    }
    store.flush()?;
    Ok(Outcome::Done)
}
