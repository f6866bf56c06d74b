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

/// One page of a listing: live entries in key order, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Live entries of this page.
    pub entries: Vec<EntryInfo>,
    /// The last key this page looked at, when more keys may follow: pass it as `after` to
    /// get the next page. `None`: the listing is complete.
    pub next_after: Option<Vec<u8>>,
}

/// One live entry as a listing visits it, borrowing its key from the index (no
/// allocation per entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The key.
    pub key: &'a [u8],
    /// Value length in bytes.
    pub size: u64,
    /// Bytes the value takes in its segment (compressed size when compressed).
    pub stored_size: u64,
    /// Absolute expiry in ms since the Unix epoch; `None` when it never expires.
    pub expires_at_ms: Option<u64>,
}

impl EntryRef<'_> {
    /// An owned copy.
    pub fn to_info(&self) -> EntryInfo {
        EntryInfo {
            key: self.key.to_vec(),
            size: self.size,
            stored_size: self.stored_size,
            expires_at_ms: self.expires_at_ms,
        }
    }
}

impl Engine {
    /// Up to `budget` index rows whose keys start with `prefix` and come after `after`
    /// (from the start of the prefix when `None`), in key order; expired entries are looked
    /// at but left out. Memory is bounded by the budget, whatever the store holds.
    pub fn list_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        budget: usize,
    ) -> Result<ListPage> {
        let mut entries = Vec::with_capacity(budget.clamp(1, 4096));
        let next_after = self.visit_page(prefix, after, budget, |entry| {
            entries.push(entry.to_info());
            true
        })?;
        Ok(ListPage {
            entries,
            next_after,
        })
    }

    /// Like [`Engine::list_page`], handing each live entry to `visit` as it is read instead
    /// of collecting them; `visit` returns false to stop. Returns where the next page
    /// starts (`None`: the listing is complete, or `visit` stopped it).
    pub fn visit_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        budget: usize,
        mut visit: impl FnMut(EntryRef<'_>) -> bool,
    ) -> Result<Option<Vec<u8>>> {
        use std::ops::Bound;
        self.checkpoint_unless_poisoned()?;
        let now = self.now_ms();
        let budget = budget.max(1);
        self.index.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            let start = match after {
                Some(key) if key >= prefix => Bound::Excluded(key),
                _ => Bound::Included(prefix),
            };
            // The last key looked at, in one reused buffer (not an allocation per row).
            let mut last: Vec<u8> = Vec::new();
            for (looked, row) in table.range::<&[u8]>((start, Bound::Unbounded))?.enumerate() {
                let (key, loc) = row?;
                let (key, loc) = (key.value(), loc.value());
                // (An empty prefix skips the comparison: a call per row that showed in
                // profiles of listing millions of keys.)
                if !prefix.is_empty() && !key.starts_with(prefix) {
                    return Ok(None);
                }
                if looked == budget {
                    // A row remains: the next page starts after the last one looked at.
                    return Ok(Some(last));
                }
                if !loc.is_expired(now) {
                    let entry = EntryRef {
                        key,
                        size: loc.raw_len as u64,
                        stored_size: loc.stored_len as u64,
                        expires_at_ms: (loc.expires_at != 0).then_some(loc.expires_at),
                    };
                    if !visit(entry) {
                        return Ok(None);
                    }
                }
                last.clear();
                last.extend_from_slice(key);
            }
            Ok(None)
        })
    }

    /// Every live (unexpired) entry whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &[u8]) -> Result<Vec<EntryInfo>> {
        let mut out = Vec::new();
        self.visit_page(prefix, None, usize::MAX, |entry| {
            out.push(entry.to_info());
            true
        })?;
        Ok(out)
    }
}
