//! Lifetime counters, kept in memory and saved to the meta table at each commit.

use std::sync::atomic::{AtomicU64, Ordering};

use super::striped_counter::StripedCounter;

use redb::ReadTransaction;

use crate::engine::index::tables::META;

/// Lifetime totals of a store.
#[derive(Debug, Default)]
pub struct Counters {
    pub hits: StripedCounter,
    pub misses: StripedCounter,
    pub inserts: StripedCounter,
    pub removes: StripedCounter,
    pub evictions: StripedCounter,
    pub expirations: StripedCounter,
    pub corruptions: StripedCounter,
    /// Sum of all counters when last saved (to skip saving when nothing moved).
    saved_sum: AtomicU64,
}

impl Counters {
    fn fields(&self) -> [(&'static str, &StripedCounter); 7] {
        [
            ("counter.hits", &self.hits),
            ("counter.misses", &self.misses),
            ("counter.inserts", &self.inserts),
            ("counter.removes", &self.removes),
            ("counter.evictions", &self.evictions),
            ("counter.expirations", &self.expirations),
            ("counter.corruptions", &self.corruptions),
        ]
    }

    fn sum(&self) -> u64 {
        self.fields().iter().map(|(_, v)| v.get()).sum()
    }

    /// True when a counter moved since the last save (or load).
    pub fn changed(&self) -> bool {
        self.sum() != self.saved_sum.load(Ordering::Relaxed)
    }

    /// Loads the saved totals.
    pub fn load(txn: &ReadTransaction) -> Result<Self, redb::Error> {
        let counters = Self::default();
        let meta = txn.open_table(META)?;
        for (name, value) in counters.fields() {
            if let Some(v) = meta.get(name)? {
                value.set(v.value());
            }
        }
        counters.saved_sum.store(counters.sum(), Ordering::Relaxed);
        Ok(counters)
    }

    /// Writes the current totals into an open meta table.
    pub fn save(&self, meta: &mut redb::Table<&str, u64>) -> Result<(), redb::StorageError> {
        let mut sum = 0;
        for (name, value) in self.fields() {
            let v = value.get();
            meta.insert(name, v)?;
            sum += v;
        }
        self.saved_sum.store(sum, Ordering::Relaxed);
        Ok(())
    }

    /// Adds one to a counter.
    pub fn bump(counter: &StripedCounter) {
        counter.add(1);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &StripedCounter, n: u64) {
        if n > 0 {
            counter.add(n);
        }
    }

    /// Reads a counter.
    pub fn get(counter: &StripedCounter) -> u64 {
        counter.get()
    }
}
