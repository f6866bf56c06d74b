//! Listing entries by key prefix (for `ls` and `export`).

use serde::{Deserialize, Serialize};

use crate::engine::index::tables::ENTRIES;
use crate::engine::state::Engine;
use crate::error::Result;

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

impl Engine {
    /// Every live (unexpired) entry whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &[u8]) -> Result<Vec<EntryInfo>> {
        self.checkpoint_unless_poisoned()?;
        let now = self.now_ms();
        self.index.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            let mut out = Vec::new();
            for row in table.range(prefix..)? {
                let (key, loc) = row?;
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
        })
    }
}
