//! Listing entries by key prefix (for `ls` and `export`).

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use crate::error::{IndexResultExt, Result};
use crate::index::tables::ENTRIES;
use crate::store::inner::Inner;

/// What the index knows about one live entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// The key.
    pub key: Vec<u8>,
    /// Value length in bytes.
    pub size: u64,
    /// Bytes the value takes in its segment (compressed size when compressed).
    pub stored_size: u64,
    /// Absolute expiry in ms since the Unix epoch; `None` when it never expires.
    pub expires_at_ms: Option<u64>,
}

impl Inner {
    /// Every live (unexpired) entry whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &[u8]) -> Result<Vec<EntryInfo>> {
        self.checkpoint_unless_poisoned()?;
        let now = self.config.clock.now_ms();
        let path = &self.index_path;
        let txn = self.db.read().begin_read().ix(path)?;
        let table = txn.open_table(ENTRIES).ix(path)?;
        let mut out = Vec::new();
        for row in table.range(prefix..).ix(path)? {
            let (key, loc) = row.ix(path)?;
            let (key, loc) = (key.value(), loc.value());
            if !key.starts_with(prefix) {
                break;
            }
            if loc.is_expired(now) {
                continue;
            }
            out.push(EntryInfo {
                key: key.to_vec(),
                size: loc.raw_len as u64,
                stored_size: loc.stored_len as u64,
                expires_at_ms: (loc.expires_at != 0).then_some(loc.expires_at),
            });
        }
        Ok(out)
    }
}
