//! What a layer above the engine keeps with the index (the tiered cache keeps its tag
//! generations and its hit sketch here), written with a durable commit and never evicted:
//!
//! - named numbers, in the index's meta table under the prefix `user:`;
//! - named blobs, in the `user_blobs` table.
//!
//! Reads of single names are point lookups; only [`Engine::user_meta`] and
//! [`Engine::visit_user_meta`] read ranges.

use redb::TableError;

use crate::engine::index::tables::{META, USER_BLOBS};
use crate::engine::state::Engine;
use crate::error::{Error, Result};

/// Prefix that keeps user entries apart from the engine's own meta rows.
const USER_PREFIX: &str = "user:";
/// Longest accepted name, in bytes.
pub const MAX_USER_META_NAME: usize = 1024;

impl Engine {
    /// Every user entry, in name order.
    pub fn user_meta(&self) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        self.visit_user_meta("", |name, value| {
            out.push((name.to_string(), value));
            true
        })?;
        Ok(out)
    }

    /// Hands every user entry whose name starts with `prefix` to `visit`, in name order,
    /// inside one read transaction, until `visit` returns false.
    pub fn visit_user_meta(
        &self,
        prefix: &str,
        mut visit: impl FnMut(&str, u64) -> bool,
    ) -> Result<()> {
        let start = format!("{USER_PREFIX}{prefix}");
        self.index.read(|txn| {
            let table = txn.open_table(META)?;
            for row in table.range(start.as_str()..)? {
                let (name, value) = row?;
                let Some(name) = name.value().strip_prefix(USER_PREFIX) else {
                    break;
                };
                if !name.starts_with(prefix) || !visit(name, value.value()) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// One user entry (a point lookup).
    pub fn user_meta_get(&self, name: &str) -> Result<Option<u64>> {
        let row = format!("{USER_PREFIX}{name}");
        self.index.read(|txn| {
            let table = txn.open_table(META)?;
            Ok(table.get(row.as_str())?.map(|v| v.value()))
        })
    }

    /// Sets a user entry durably.
    pub fn set_user_meta(&self, name: &str, value: u64) -> Result<()> {
        self.update_user_meta(&[(name, value)], &[])
    }

    /// Sets the entries of `set` and removes those named in `remove`, in one durable commit.
    pub fn update_user_meta(&self, set: &[(&str, u64)], remove: &[&str]) -> Result<()> {
        for name in set.iter().map(|(n, _)| n).chain(remove) {
            check_name(name)?;
        }
        self.index.write(true, |txn| {
            let mut table = txn.open_table(META)?;
            for (name, value) in set {
                table.insert(format!("{USER_PREFIX}{name}").as_str(), value)?;
            }
            for name in remove {
                table.remove(format!("{USER_PREFIX}{name}").as_str())?;
            }
            Ok(())
        })
    }

    /// The blob saved under `name`, if any.
    pub fn user_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.index.read(|txn| {
            let table = match txn.open_table(USER_BLOBS) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(table.get(name)?.map(|v| v.value().to_vec()))
        })
    }

    /// Saves `bytes` under `name` durably, replacing what was there.
    pub fn set_user_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        self.index.write(true, |txn| {
            txn.open_table(USER_BLOBS)?.insert(name, bytes)?;
            Ok(())
        })
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.len() > MAX_USER_META_NAME {
        return Err(Error::InvalidInput(format!(
            "user meta name of {} bytes is longer than the limit of {MAX_USER_META_NAME}",
            name.len()
        )));
    }
    Ok(())
}
