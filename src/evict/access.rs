//! "Recently read" bits, one per key hash: the second chance that makes segment-level FIFO
//! eviction behave like LRU (a CLOCK over segments). Persisted approximately at checkpoints so
//! a reopened cache does not evict its hot set first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A fixed-size atomic bitset indexed by a stable hash of the key.
pub struct AccessBits {
    words: Vec<AtomicU64>,
    hasher: ahash::RandomState,
    changed: AtomicBool,
}

impl AccessBits {
    /// About two bits per 4 KiB of capacity, between 2^16 and 2^24 bits.
    pub fn for_capacity(capacity: u64) -> Self {
        let bits = (capacity / 2048)
            .clamp(1 << 16, 1 << 24)
            .next_power_of_two();
        Self {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            // Fixed seeds: the bit of a key must be the same after a restart.
            hasher: ahash::RandomState::with_seeds(
                0x5354_5241,
                0x5441_4341,
                0x4348_4531,
                0x6269_7473,
            ),
            changed: AtomicBool::new(false),
        }
    }

    fn slot(&self, key: &[u8]) -> (usize, u64) {
        let h = self.hasher.hash_one(key);
        let bit = (h as usize) % (self.words.len() * 64);
        (bit / 64, 1u64 << (bit % 64))
    }

    /// Marks `key` as recently read.
    pub fn mark(&self, key: &[u8]) {
        let (word, mask) = self.slot(key);
        if self.words[word].load(Ordering::Relaxed) & mask == 0 {
            self.words[word].fetch_or(mask, Ordering::Relaxed);
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Returns whether `key` was marked, and clears the mark (its second chance is used).
    pub fn take(&self, key: &[u8]) -> bool {
        let (word, mask) = self.slot(key);
        let was = self.words[word].fetch_and(!mask, Ordering::Relaxed) & mask != 0;
        if was {
            self.changed.store(true, Ordering::Relaxed);
        }
        was
    }

    /// The bits as little-endian bytes, if they changed since the last call.
    pub fn snapshot_if_changed(&self) -> Option<Vec<u8>> {
        if !self.changed.swap(false, Ordering::Relaxed) {
            return None;
        }
        Some(
            self.words
                .iter()
                .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
                .collect(),
        )
    }

    /// Restores bits saved by [`Self::snapshot_if_changed`]; ignored when the size differs.
    pub fn restore(&self, bytes: &[u8]) {
        if bytes.len() != self.words.len() * 8 {
            return;
        }
        for (word, chunk) in self.words.iter().zip(bytes.chunks_exact(8)) {
            word.store(
                u64::from_le_bytes(chunk.try_into().expect("8 bytes")),
                Ordering::Relaxed,
            );
        }
    }
}
