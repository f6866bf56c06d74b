//! The disk tier: the cache's view of a [`DiskStore`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::tier::Blob;
use crate::cache::tier::{Evictions, InsertItem, Tier, TierKind, TierValue, Usage};
use crate::engine::DiskStore;
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
        Ok(self.store.get(key)?.map(|value| TierValue {
            expires_at_ms: value.expires_at_ms(),
            blob: Blob::Disk(value),
        }))
    }

    fn insert(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        self.store
            .insert_expiring_at(key, envelope, expires_at_ms.unwrap_or(0))
    }

    fn insert_many(&self, items: &[InsertItem<'_>]) -> Result<()> {
        let batch: Vec<(&[u8], &[u8], u64)> = items
            .iter()
            .map(|(key, envelope, expires_at)| (*key, &***envelope, expires_at.unwrap_or(0)))
            .collect();
        self.store.insert_many_expiring_at(&batch)
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
        // One stats call: it checkpoints and walks the directory.
        let stats = self.store.stats().unwrap_or_default();
        Usage {
            size_bytes: stats.disk_bytes,
            entries: stats.entries,
            evictions: Evictions {
                expired: stats.expirations,
                size: stats.evictions,
                explicit: self.explicit.load(Ordering::Relaxed),
                replaced: 0,
            },
        }
    }
}
