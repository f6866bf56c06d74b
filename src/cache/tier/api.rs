//! What every tier offers the cache. Tiers store envelopes (see `envelope`) as opaque bytes
//! with an absolute expiry; the cache does the rest.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::blob::Blob;
use super::kind::TierKind;
use crate::error::Result;

/// One value of an `insert_many`: key, envelope and absolute expiry.
pub type InsertItem<'a> = (&'a [u8], &'a Arc<[u8]>, Option<u64>);

/// A value as a tier returns it.
pub struct TierValue {
    /// The stored envelope, or only its payload when the tier keeps the header beside it.
    pub blob: Blob,
    /// Absolute expiry in ms since the Unix epoch on the cache's clock.
    pub expires_at_ms: Option<u64>,
    /// The envelope header, when the tier keeps it beside the payload (the disk tier does,
    /// so that every interface reads the user's bytes alone); empty for a plain value.
    /// `None`: `blob` is a whole envelope.
    pub header: Option<Box<[u8]>>,
}

impl TierValue {
    /// A whole envelope as one blob (memory and Redis tiers).
    pub fn whole(blob: Blob, expires_at_ms: Option<u64>) -> Self {
        Self {
            blob,
            expires_at_ms,
            header: None,
        }
    }

    /// The value as one envelope, header and payload together (copied unless it already
    /// is one shared buffer).
    pub fn to_envelope(&self) -> Arc<[u8]> {
        match (&self.header, &self.blob) {
            (None, Blob::Shared(bytes)) => bytes.clone(),
            (None, blob) => Arc::from(&**blob),
            (Some(header), blob) => {
                let mut out = Vec::with_capacity(header.len().max(4) + blob.len());
                if header.is_empty() {
                    crate::cache::envelope::write_header(&mut out, None, &[], Default::default());
                } else {
                    out.extend_from_slice(header);
                }
                out.extend_from_slice(blob);
                Arc::from(out)
            }
        }
    }
}

/// Values a tier dropped, by cause (lifetime totals where the tier persists them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evictions {
    /// Dropped because they expired.
    pub expired: u64,
    /// Dropped to stay within the size bound.
    pub size: u64,
    /// Removed on request (`remove`, `remove_prefix`, stale tags).
    pub explicit: u64,
    /// Replaced by a newer value for the same key (tiers that cannot tell report 0).
    pub replaced: u64,
}

/// A tier's size and evictions at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes the tier holds; `None` when the tier cannot tell (never a made-up 0).
    pub size_bytes: Option<u64>,
    /// Entries the tier holds (approximate where the tier only knows that); `None` when
    /// the tier cannot tell.
    pub entries: Option<u64>,
    /// Values the tier dropped, by cause.
    pub evictions: Evictions,
    /// Anonymous memory the tier's bookkeeping holds, apart from the values (the disk tier:
    /// its engine's index cache, location cache, staged changes and policy tables); `None`
    /// when the tier does not keep such a count.
    pub memory_bytes: Option<u64>,
    /// The bound on `memory_bytes` (the disk tier: its memory budget).
    pub memory_budget_bytes: Option<u64>,
}

/// One level of the cache. Implementations are thread-safe and never see keys the cache
/// has not validated.
pub trait Tier: Send + Sync {
    /// Which tier this is.
    fn kind(&self) -> TierKind;
    /// The live value under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<TierValue>>;
    /// Stores `envelope` under `key`, replacing any value.
    fn insert(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()>;
    /// Removes `key`; true when a value was there.
    fn remove(&self, key: &[u8]) -> Result<bool>;
    /// Removes every key starting with `prefix`; returns how many went.
    fn remove_prefix(&self, prefix: &[u8]) -> Result<u64>;
    /// Makes accepted writes durable (where the tier has durability).
    fn flush(&self) -> Result<()>;
    /// What the tier holds and what it dropped, read together (one stats call each).
    fn usage(&self) -> Usage;

    /// Stores `value` copied up from a tier below (default: as an insert). A shared tier
    /// does not announce promotions to other caches.
    fn promote(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        self.insert(key, envelope, expires_at_ms)
    }

    /// Values of several keys, in order (default: one `get` each; a remote tier answers in
    /// one round trip).
    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<TierValue>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// Stores several values (default: one `insert` each).
    fn insert_many(&self, items: &[InsertItem<'_>]) -> Result<()> {
        items.iter().try_for_each(|(k, v, e)| self.insert(k, v, *e))
    }

    /// Sets when `key` expires (`None`: never; the cache removes keys whose new expiry is
    /// already past instead of calling this). True when the tier held `key`. Default: read
    /// and write back with the new expiry (a remote tier thereby also tells other caches).
    fn set_expiry(&self, key: &[u8], expires_at_ms: Option<u64>) -> Result<bool> {
        match self.get(key)? {
            Some(value) => {
                self.insert(key, &value.to_envelope(), expires_at_ms)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Told that `tag` moved to `generation` (a shared tier passes it on to other caches).
    fn tag_invalidated(&self, _tag: &str, _generation: u64) -> Result<()> {
        Ok(())
    }
}
