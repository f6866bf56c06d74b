//! Two generations of bits indexed by a stable hash of the key: what the LRU policy's
//! "recently read" marks and S3-FIFO's ghost list are made of. A key is set in the current
//! generation and found in either; rotating clears the older generation and makes it the
//! current one. The bits are saved as little-endian words, older generation first.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::key_hash::KeyHash;
use crate::engine::prefetch::prefetch_word;

/// Two generations of atomic bitsets; see the module doc.
pub struct KeyBits {
    generations: [Vec<AtomicU64>; 2],
    current: AtomicUsize,
    hash: KeyHash,
}

impl KeyBits {
    /// `bits` per generation (a power of two, at least 64).
    pub fn with_bits(bits: usize) -> Self {
        let words = || (0..bits / 64).map(|_| AtomicU64::new(0)).collect();
        Self {
            generations: [words(), words()],
            current: AtomicUsize::new(0),
            hash: KeyHash::stable(),
        }
    }

    /// Bytes of both generations.
    pub fn table_bytes(&self) -> u64 {
        (2 * self.generations[0].len() * std::mem::size_of::<AtomicU64>()) as u64
    }

    fn slot(&self, key: &[u8]) -> (usize, u64) {
        let bit = (self.hash.of(key) as usize) % (self.generations[0].len() * 64);
        (bit / 64, 1u64 << (bit % 64))
    }

    /// Starts loading `key`'s word of the current generation.
    pub fn prefetch(&self, key: &[u8]) {
        let (word, _) = self.slot(key);
        prefetch_word(&self.generations[self.current.load(Ordering::Relaxed)][word]);
    }

    /// Sets `key`'s bit in the current generation; true when it was not set there.
    pub fn set(&self, key: &[u8]) -> bool {
        let (word, mask) = self.slot(key);
        let current = &self.generations[self.current.load(Ordering::Relaxed)][word];
        current.load(Ordering::Relaxed) & mask == 0
            && current.fetch_or(mask, Ordering::Relaxed) & mask == 0
    }

    /// True when `key`'s bit is set in either generation.
    pub fn contains(&self, key: &[u8]) -> bool {
        let (word, mask) = self.slot(key);
        self.generations
            .iter()
            .any(|g| g[word].load(Ordering::Relaxed) & mask != 0)
    }

    /// Clears the older generation and makes it the current one.
    pub fn rotate(&self) {
        let next = 1 - self.current.load(Ordering::Relaxed);
        self.generations[next]
            .iter()
            .for_each(|w| w.store(0, Ordering::Relaxed));
        self.current.store(next, Ordering::Relaxed);
    }

    /// Both generations in order, older first.
    fn in_order(&self) -> impl Iterator<Item = &AtomicU64> {
        let current = self.current.load(Ordering::Relaxed);
        let older = self.generations[1 - current].iter();
        older.chain(self.generations[current].iter())
    }

    /// Byte length of [`Self::to_bytes`].
    pub fn byte_len(&self) -> usize {
        self.generations[0].len() * 16
    }

    /// Both generations as little-endian words, older first.
    pub fn to_bytes(&self) -> Vec<u8> {
        words_to_bytes(self.in_order())
    }

    /// Restores bytes of [`Self::to_bytes`]; false (nothing restored) when their length is
    /// not [`Self::byte_len`].
    pub fn restore(&self, bytes: &[u8]) -> bool {
        let fits = bytes.len() == self.byte_len();
        if fits {
            restore_words(self.in_order(), bytes);
        }
        fits
    }
}

/// Atomic words as little-endian bytes.
pub fn words_to_bytes<'a>(words: impl Iterator<Item = &'a AtomicU64>) -> Vec<u8> {
    words
        .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
        .collect()
}

/// Stores little-endian words from `bytes` into `words`, as many as both have.
pub fn restore_words<'a>(words: impl Iterator<Item = &'a AtomicU64>, bytes: &[u8]) {
    for (word, chunk) in words.zip(bytes.chunks_exact(8)) {
        let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        word.store(value, Ordering::Relaxed);
    }
}
