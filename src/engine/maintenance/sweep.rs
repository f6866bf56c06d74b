//! TTL sweep: deletes expired entries through the expiry-ordered table, in bounded batches,
//! so its cost grows with the number expired, not with the size of the store.

use redb::ReadableTable;

use crate::engine::index::tables::{ENTRIES, EXPIRY};
use crate::engine::state::{Counters, Engine, WriterState, index_bytes_of};
use crate::error::Result;

/// Expired entries removed per batch (one index transaction each).
const SWEEP_BATCH: usize = 8192;

impl Engine {
    /// Removes every entry expired as of now; returns how many.
    pub fn sweep_expired(&self) -> Result<usize> {
        // A checkpoint first: then the expiry table lists every entry acknowledged so far.
        // Changes staged after it only ever replace what the sweep removes.
        self.flush()?;
        let mut total = 0;
        loop {
            let mut w = self.writer.lock();
            w.check_writable()?;
            let now = self.now_ms();
            let swept = match self.sweep_batch(&mut w, now) {
                Ok(swept) => swept,
                Err(e) => return Err(w.poison(e)),
            };
            let freed = swept.iter().map(|k| index_bytes_of(k.len()));
            self.staged.write().index_freed(freed.sum());
            for key in &swept {
                self.locs.update(key, None);
            }
            Counters::add(&self.counters.expirations, swept.len() as u64);
            total += swept.len();
            if !swept.is_empty() {
                w.mark_dirty();
            }
            if swept.len() < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }

    /// Takes up to one batch of expired rows from the front of the expiry table, deletes
    /// them with one range operation and removes their entries, all in one non-durable
    /// transaction. Returns the removed keys.
    fn sweep_batch(&self, w: &mut WriterState, now: u64) -> Result<Vec<Vec<u8>>> {
        self.index.write(false, |txn| {
            let mut expiry = txn.open_table(EXPIRY)?;
            let mut entries = txn.open_table(ENTRIES)?;
            let mut rows: Vec<(u64, Vec<u8>)> = Vec::new();
            for row in expiry.range((0u64, &[][..])..(now.saturating_add(1), &[][..]))? {
                let (guard, _) = row?;
                let (at, key) = guard.value();
                rows.push((at, key.to_vec()));
                if rows.len() == SWEEP_BATCH {
                    break;
                }
            }
            if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
                let range = (first.0, first.1.as_slice())..=(last.0, last.1.as_slice());
                expiry.retain_in(range, |_, _| false)?;
            }
            let mut swept = Vec::with_capacity(rows.len());
            for (at, key) in rows {
                let removed = entries.remove(key.as_slice())?.map(|g| g.value());
                match removed {
                    Some(old) if old.expires_at == at => {
                        w.segments_mut().account(old.segment, old.record_len(), -1);
                        swept.push(key);
                    }
                    // A stale row (the entry changed since): put the entry back.
                    Some(old) => {
                        entries.insert(key.as_slice(), old)?;
                    }
                    None => {}
                }
            }
            Ok(swept)
        })
    }
}
