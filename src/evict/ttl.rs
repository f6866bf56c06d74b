//! TTL sweep: deletes expired entries through the expiry-ordered table, in bounded batches,
//! so its cost grows with the number expired, not with the size of the store.

use redb::ReadableDatabase;

use crate::error::{IndexResultExt, Result};
use crate::index::tables::EXPIRY;
use crate::store::counters::Counters;
use crate::store::inner::{Inner, Pending};

/// Expired entries removed per batch.
const SWEEP_BATCH: usize = 1024;

impl Inner {
    /// Removes every entry expired as of now; returns how many.
    pub fn sweep_expired(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let mut w = self.writer.lock();
            self.check_writable(&w)?;
            self.commit_locked(&mut w, false)?;
            let now = self.config.clock.now_ms();
            let batch = self.expired_batch(now)?;
            let before = total;
            for (key, expires_at) in &batch {
                // Still the same entry? (It may have been overwritten since.)
                if self
                    .lookup(key)?
                    .is_some_and(|loc| loc.expires_at == *expires_at)
                {
                    self.stage(&mut w, key, Pending::Remove)?;
                    Counters::bump(&self.counters.expirations);
                    total += 1;
                }
            }
            self.commit_locked(&mut w, false)?;
            // A short batch was the last; a batch that removed nothing holds only stale rows.
            if batch.len() < SWEEP_BATCH || total == before {
                return Ok(total);
            }
        }
    }

    /// Up to one batch of (key, expiry) pairs with expiry at or before `now`.
    fn expired_batch(&self, now: u64) -> Result<Vec<(Vec<u8>, u64)>> {
        let txn = self.db.read().begin_read().ix(&self.index_path)?;
        let table = txn.open_table(EXPIRY).ix(&self.index_path)?;
        let mut batch = Vec::new();
        for row in table
            .range((0u64, &[][..])..(now.saturating_add(1), &[][..]))
            .ix(&self.index_path)?
        {
            let (k, _) = row.ix(&self.index_path)?;
            let (expires_at, key) = k.value();
            batch.push((key.to_vec(), expires_at));
            if batch.len() == SWEEP_BATCH {
                break;
            }
        }
        Ok(batch)
    }
}
