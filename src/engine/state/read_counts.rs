//! Read counts for S3-FIFO: a 2-bit saturating counter (0 to 3) per key hash, packed 32 to
//! an atomic word. A read adds one; eviction's pass over a record takes one (a record read
//! since its last pass goes around again) or, for a record leaving probation, resets it.
//! Keys sharing a counter only make eviction keep an extra record now and then.

use std::sync::atomic::{AtomicU64, Ordering};

use super::dirty::Dirty;
use super::key_bits::{restore_words, words_to_bytes};
use super::key_hash::KeyHash;
use crate::engine::prefetch::prefetch_word;

const MAX: u64 = 3;

/// 2-bit read counters indexed by a stable hash of the key.
pub struct ReadCounts {
    words: Vec<AtomicU64>,
    hash: KeyHash,
    changed: Dirty,
}

impl ReadCounts {
    /// About one counter per 256 bytes of capacity, between 2^16 and 2^24 counters.
    pub fn for_capacity(capacity: u64) -> Self {
        let counters = (capacity / 256).clamp(1 << 16, 1 << 24).next_power_of_two();
        Self {
            words: (0..counters / 32).map(|_| AtomicU64::new(0)).collect(),
            hash: KeyHash::stable(),
            changed: Dirty::default(),
        }
    }

    /// Bytes of the counters.
    pub fn table_bytes(&self) -> u64 {
        (self.words.len() * std::mem::size_of::<AtomicU64>()) as u64
    }

    fn slot(&self, key: &[u8]) -> (&AtomicU64, u32) {
        let counter = (self.hash.of(key) as usize) % (self.words.len() * 32);
        (&self.words[counter / 32], (counter % 32) as u32 * 2)
    }

    /// The count of `key`.
    #[cfg(test)]
    pub fn get(&self, key: &[u8]) -> u64 {
        let (word, shift) = self.slot(key);
        (word.load(Ordering::Relaxed) >> shift) & MAX
    }

    /// Starts loading `key`'s counter word.
    pub fn prefetch(&self, key: &[u8]) {
        prefetch_word(self.slot(key).0);
    }

    /// Counts a read of `key` (up to 3).
    pub fn add(&self, key: &[u8]) {
        let (word, shift) = self.slot(key);
        let bump = |w: u64| ((w >> shift) & MAX < MAX).then(|| w + (1 << shift));
        if word
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, bump)
            .is_ok()
        {
            self.changed.mark();
        }
    }

    /// Takes one read off `key`'s count; true when there was one to take.
    pub fn take_one(&self, key: &[u8]) -> bool {
        let (word, shift) = self.slot(key);
        let drop_one = |w: u64| ((w >> shift) & MAX > 0).then(|| w - (1 << shift));
        let taken = (word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, drop_one)).is_ok();
        if taken {
            self.changed.mark();
        }
        taken
    }

    /// Sets `key`'s count to zero; true when it was read at all.
    pub fn reset(&self, key: &[u8]) -> bool {
        let (word, shift) = self.slot(key);
        let before = word.fetch_and(!(MAX << shift), Ordering::Relaxed);
        let was_read = (before >> shift) & MAX > 0;
        if was_read {
            self.changed.mark();
        }
        was_read
    }

    /// True when counts changed since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed.is_set()
    }

    /// Byte length of a snapshot.
    pub fn snapshot_len(&self) -> usize {
        self.words.len() * 8
    }

    /// The counters as little-endian bytes (clears the changed flag).
    pub fn snapshot(&self) -> Vec<u8> {
        self.changed.take();
        words_to_bytes(self.words.iter())
    }

    /// Restores a snapshot of [`Self::snapshot_len`] bytes.
    pub fn restore(&self, bytes: &[u8]) {
        restore_words(self.words.iter(), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_at_three_and_are_taken_one_by_one() {
        let counts = ReadCounts::for_capacity(1 << 20);
        (0..5).for_each(|_| counts.add(b"k"));
        assert_eq!(counts.get(b"k"), 3);
        assert!(counts.take_one(b"k") && counts.get(b"k") == 2);
        assert!(counts.reset(b"k") && counts.get(b"k") == 0);
        assert!(!counts.take_one(b"k") && !counts.reset(b"k"));
    }

    #[test]
    fn snapshot_round_trips() {
        let counts = ReadCounts::for_capacity(1 << 20);
        counts.add(b"a");
        counts.add(b"a");
        let saved = counts.snapshot();
        assert_eq!(saved.len(), counts.snapshot_len());
        let restored = ReadCounts::for_capacity(1 << 20);
        restored.restore(&saved);
        assert_eq!(restored.get(b"a"), 2);
    }
}
