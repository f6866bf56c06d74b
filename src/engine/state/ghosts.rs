//! S3-FIFO's ghost list: keys recently evicted from probation, remembered (as one bit per
//! key hash) for about as many evictions as the store holds entries. A key inserted again
//! while it is a ghost was evicted too soon: it goes straight to the main log.
//!
//! Two generations of bits: a ghost is added to the current one and found in either; once
//! the current one has taken half the limit, the older one is cleared and becomes current.
//! A key that shares a bit with a ghost is taken for one, which only lets it skip probation.

use std::sync::atomic::{AtomicU64, Ordering};

use super::dirty::Dirty;
use super::key_bits::KeyBits;

/// Two generations of ghost bits, rotated by the number of ghosts added.
pub struct Ghosts {
    bits: KeyBits,
    added: AtomicU64,
    limit: AtomicU64,
    changed: Dirty,
}

impl Ghosts {
    /// Bytes of the bits.
    pub fn table_bytes(&self) -> u64 {
        self.bits.table_bytes()
    }

    /// About one bit per 128 bytes of capacity, between 2^16 and 2^24 bits per
    /// generation; remembering `limit` keys until told otherwise.
    pub fn for_capacity(capacity: u64, limit: u64) -> Self {
        let bits = (capacity / 128).clamp(1 << 16, 1 << 24).next_power_of_two() as usize;
        Self {
            bits: KeyBits::with_bits(bits),
            added: AtomicU64::new(0),
            limit: AtomicU64::new(limit.max(1)),
            changed: Dirty::default(),
        }
    }

    /// Remembers `key` as a ghost.
    pub fn add(&self, key: &[u8]) {
        self.bits.set(key);
        self.changed.mark();
        let added = self.added.fetch_add(1, Ordering::Relaxed) + 1;
        if added >= self.limit.load(Ordering::Relaxed).div_ceil(2) {
            self.added.store(0, Ordering::Relaxed);
            self.bits.rotate();
        }
    }

    /// True when `key` is a ghost.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.bits.contains(key)
    }

    /// Remembers about `limit` keys from now on (the entries the store holds).
    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// True when ghosts changed since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed.is_set()
    }

    /// Byte length of a snapshot.
    pub fn snapshot_len(&self) -> usize {
        self.bits.byte_len()
    }

    /// Both generations (older, then current) as little-endian bytes (clears the changed
    /// flag).
    pub fn snapshot(&self) -> Vec<u8> {
        self.changed.take();
        self.bits.to_bytes()
    }

    /// Restores a snapshot of [`Self::snapshot_len`] bytes.
    pub fn restore(&self, bytes: &[u8]) {
        self.bits.restore(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghosts_are_forgotten_after_about_the_limit() {
        let ghosts = Ghosts::for_capacity(1 << 20, 4);
        ghosts.add(b"first");
        assert!(ghosts.contains(b"first") && !ghosts.contains(b"other"));
        ghosts.add(b"2"); // the current generation is full: the older one becomes current
        ghosts.add(b"3");
        assert!(ghosts.contains(b"first"));
        ghosts.add(b"4"); // and again: the generation holding "first" is cleared
        assert!(!ghosts.contains(b"first") && ghosts.contains(b"4"));
    }

    #[test]
    fn snapshot_round_trips() {
        let ghosts = Ghosts::for_capacity(1 << 20, 100);
        ghosts.add(b"a");
        let saved = ghosts.snapshot();
        assert_eq!(saved.len(), ghosts.snapshot_len());
        let restored = Ghosts::for_capacity(1 << 20, 100);
        restored.restore(&saved);
        assert!(restored.contains(b"a"));
    }
}
