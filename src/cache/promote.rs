//! Counting lower-tier hits per key for `Promotion::AfterHits`.

use std::collections::HashMap;

use parking_lot::Mutex;

const SHARDS: usize = 16;
/// Keys remembered per shard before the shard starts over (bounds memory).
const KEYS_PER_SHARD: usize = 1 << 14;

/// Approximate per-key hit counts (by 64-bit key hash, so collisions are rare and harmless).
pub struct HitCounter {
    hasher: ahash::RandomState,
    shards: [Mutex<HashMap<u64, u32>>; SHARDS],
}

impl Default for HitCounter {
    fn default() -> Self {
        Self {
            hasher: ahash::RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl HitCounter {
    /// Counts one lower-tier hit of `key`; true once it reached `needed` (and forgets it).
    pub fn hit(&self, key: &[u8], needed: u32) -> bool {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shards[hash as usize % SHARDS].lock();
        if shard.len() >= KEYS_PER_SHARD {
            shard.clear();
        }
        let count = shard.entry(hash).or_insert(0);
        *count += 1;
        if *count >= needed {
            shard.remove(&hash);
            true
        } else {
            false
        }
    }
}
