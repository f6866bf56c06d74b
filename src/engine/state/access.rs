//! "Recently read" marks, one bit per key hash: the second chance that makes segment-level
//! FIFO eviction behave like LRU.
//!
//! Two generations of bits: a read sets its bit in the current generation; a key counts as
//! recently read when its bit is set in either generation. The generations rotate each time
//! eviction has drained half the capacity (half a lap of the FIFO), so a read is remembered
//! for between half a lap and a full lap. Bits are never cleared one by one, so two keys
//! sharing a bit can only make eviction keep an extra entry, never drop a hot one.
//! Saved approximately at checkpoints, so a reopened cache does not evict its hot set first.

use std::sync::atomic::{AtomicU64, Ordering};

use super::dirty::Dirty;
use super::key_bits::KeyBits;

/// Two generations of "read" bits, rotated by eviction's progress.
pub struct AccessBits {
    bits: KeyBits,
    changed: Dirty,
    drained: AtomicU64,
    lap_bytes: AtomicU64,
}

impl AccessBits {
    /// Bytes of the bits.
    pub fn table_bytes(&self) -> u64 {
        self.bits.table_bytes()
    }

    /// About one bit per 512 bytes of capacity, between 2^16 and 2^24 bits per generation.
    pub fn for_capacity(capacity: u64) -> Self {
        let bits = (capacity / 512).clamp(1 << 16, 1 << 24).next_power_of_two() as usize;
        Self {
            bits: KeyBits::with_bits(bits),
            changed: Dirty::default(),
            drained: AtomicU64::new(0),
            lap_bytes: AtomicU64::new(capacity / 2),
        }
    }

    /// Marks `key` as recently read.
    pub fn mark(&self, key: &[u8]) {
        if self.bits.set(key) {
            self.changed.mark();
        }
    }

    /// Starts loading the word [`Self::mark`] touches.
    pub fn prefetch(&self, key: &[u8]) {
        self.bits.prefetch(key);
    }

    /// Whether `key` was read in the current or the previous generation.
    pub fn recently_read(&self, key: &[u8]) -> bool {
        self.bits.contains(key)
    }

    /// Records `bytes` drained by eviction; starts a new generation every half capacity.
    pub fn note_drained(&self, bytes: u64) {
        let total = self.drained.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total >= self.lap_bytes.load(Ordering::Relaxed) {
            self.drained.store(0, Ordering::Relaxed);
            self.bits.rotate();
            self.changed.mark();
        }
    }

    /// Adapts the generation length to a new capacity (the bit count stays).
    pub fn set_capacity(&self, capacity: u64) {
        self.lap_bytes.store(capacity / 2, Ordering::Relaxed);
    }

    /// True when bits changed since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed.is_set()
    }

    /// Both generations (previous, then current) as little-endian bytes, if they changed
    /// since the last call.
    pub fn snapshot_if_changed(&self) -> Option<Vec<u8>> {
        self.changed.take().then(|| self.bits.to_bytes())
    }

    /// Restores bits saved by [`Self::snapshot_if_changed`]; ignored when the size differs
    /// (the capacity changed), which only costs the recency of one lap.
    pub fn restore(&self, bytes: &[u8]) {
        self.bits.restore(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_remembered_for_one_to_two_generations() {
        let bits = AccessBits::for_capacity(1 << 20);
        bits.mark(b"hot");
        assert!(bits.recently_read(b"hot") && !bits.recently_read(b"cold"));
        bits.note_drained(1 << 19); // one generation later: still remembered
        assert!(bits.recently_read(b"hot"));
        bits.note_drained(1 << 19); // two generations later: forgotten
        assert!(!bits.recently_read(b"hot"));
    }

    #[test]
    fn snapshot_round_trips() {
        let bits = AccessBits::for_capacity(1 << 20);
        bits.mark(b"a");
        let saved = bits.snapshot_if_changed().unwrap();
        let restored = AccessBits::for_capacity(1 << 20);
        restored.restore(&saved);
        assert!(restored.recently_read(b"a"));
    }
}
