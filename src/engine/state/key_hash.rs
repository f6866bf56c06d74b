//! The hash that places a key in eviction's bit and counter tables: seeded with constants,
//! so a key lands in the same place after a restart (the tables are saved and restored).

/// A stable 64-bit hash of keys.
#[derive(Clone)]
pub struct KeyHash(ahash::RandomState);

impl KeyHash {
    /// The hash with the store's fixed seeds.
    pub fn stable() -> Self {
        Self(ahash::RandomState::with_seeds(
            0x5354_5241,
            0x5441_4341,
            0x4348_4531,
            0x6269_7473,
        ))
    }

    /// The hash of `key`.
    pub fn of(&self, key: &[u8]) -> u64 {
        self.0.hash_one(key)
    }
}
