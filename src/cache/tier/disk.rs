//! The disk tier: the cache's view of a [`DiskStore`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::envelope;
use crate::cache::tier::Blob;
use crate::cache::tier::{Evictions, InsertItem, Tier, TierKind, TierValue, Usage};
use crate::engine::{DiskStore, ValueRef};
use crate::error::Result;

/// The disk tier.
pub struct DiskTier {
    store: Arc<DiskStore>,
    explicit: AtomicU64,
}

impl DiskTier {
    /// Wraps an open store.
    pub fn new(store: Arc<DiskStore>) -> Self {
        Self {
            store,
            explicit: AtomicU64::new(0),
        }
    }
}

impl Tier for DiskTier {
    fn kind(&self) -> TierKind {
        TierKind::Disk
    }

    fn get(&self, key: &[u8]) -> Result<Option<TierValue>> {
        Ok(self.store.get(key)?.map(|value| {
            let header = header_of(&value);
            TierValue {
                expires_at_ms: value.expires_at_ms(),
                blob: Blob::Disk(value),
                header,
            }
        }))
    }

    fn insert(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        let (meta, payload) = split(envelope);
        self.store
            .insert_with_meta(key, meta, payload, expires_at_ms.unwrap_or(0))
    }

    fn insert_many(&self, items: &[InsertItem<'_>]) -> Result<()> {
        let batch: Vec<_> = items
            .iter()
            .map(|(key, envelope, expires_at)| {
                let (meta, payload) = split(envelope);
                (*key, meta, payload, expires_at.unwrap_or(0))
            })
            .collect();
        self.store.insert_many_with_meta(&batch)
    }

    fn set_expiry(&self, key: &[u8], expires_at_ms: Option<u64>) -> Result<bool> {
        Ok(self
            .store
            .set_expires_at(key, expires_at_ms.unwrap_or(0))?
            .is_some())
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        let removed = self.store.remove(key)?;
        self.explicit
            .fetch_add(u64::from(removed), Ordering::Relaxed);
        Ok(removed)
    }

    fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        let removed = self.store.remove_prefix(prefix)? as u64;
        self.explicit.fetch_add(removed, Ordering::Relaxed);
        Ok(removed)
    }

    fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    fn usage(&self) -> Usage {
        // One stats call: it checkpoints and walks the directory. If it fails, the sizes
        // are unknown (not 0).
        let stats = self.store.stats().ok();
        let stats = stats.as_ref();
        Usage {
            size_bytes: stats.map(|s| s.disk_bytes),
            entries: stats.map(|s| s.entries),
            memory_bytes: stats.map(|s| s.memory_bytes),
            memory_budget_bytes: stats.map(|s| s.memory_budget_bytes),
            evictions: Evictions {
                expired: stats.map_or(0, |s| s.expirations),
                size: stats.map_or(0, |s| s.evictions),
                explicit: self.explicit.load(Ordering::Relaxed),
                replaced: 0,
            },
        }
    }
}

/// Splits an envelope the cache made into the metadata the disk keeps beside the value
/// (empty when there is no TTL and no tag) and the user's bytes.
fn split(envelope: &[u8]) -> (&[u8], &[u8]) {
    match envelope::decode(envelope) {
        Ok(view) if view.is_trivial() => (&[], &envelope[view.payload_start..]),
        Ok(view) => envelope.split_at(view.payload_start),
        // Not reached: the cache only hands tiers envelopes it made.
        Err(_) => (&[], envelope),
    }
}

/// The envelope header of a disk value. A format 2 record keeps it beside the value. A
/// format 1 record may hold a whole envelope (the tiered cache of format 1 wrote them) or
/// plain bytes (written by `DiskStore` or the CLI): an envelope that decodes is taken as
/// one, anything else as a plain value.
fn header_of(value: &ValueRef) -> Option<Box<[u8]>> {
    match value.meta() {
        Some(meta) => Some(meta.into()),
        None if envelope::decode(value).is_ok() => None,
        None => Some(Box::default()),
    }
}
