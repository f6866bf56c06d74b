//! Small named numbers that a layer above the engine keeps with the index (the tiered
//! cache keeps its tag generations here). They live in the index's meta table under the
//! prefix `user:`, are written with a durable commit, and are never evicted.

use crate::engine::index::tables::META;
use crate::engine::state::Engine;
use crate::error::{Error, Result};

/// Prefix that keeps user entries apart from the engine's own meta rows.
const USER_PREFIX: &str = "user:";
/// Longest accepted name, in bytes.
pub const MAX_USER_META_NAME: usize = 1024;

impl Engine {
    /// Every user entry, in name order.
    pub fn user_meta(&self) -> Result<Vec<(String, u64)>> {
        self.index.read(|txn| {
            let table = txn.open_table(META)?;
            let mut out = Vec::new();
            for row in table.range(USER_PREFIX..)? {
                let (name, value) = row?;
                let Some(name) = name.value().strip_prefix(USER_PREFIX) else {
                    break;
                };
                out.push((name.to_string(), value.value()));
            }
            Ok(out)
        })
    }

    /// Sets a user entry durably.
    pub fn set_user_meta(&self, name: &str, value: u64) -> Result<()> {
        if name.len() > MAX_USER_META_NAME {
            return Err(Error::InvalidInput(format!(
                "user meta name of {} bytes is longer than the limit of {MAX_USER_META_NAME}",
                name.len()
            )));
        }
        let row = format!("{USER_PREFIX}{name}");
        self.index.write(true, |txn| {
            txn.open_table(META)?.insert(row.as_str(), value)?;
            Ok(())
        })
    }
}
