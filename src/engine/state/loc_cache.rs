//! A bounded in-memory map of committed entry locations, so warm reads skip redb.
//!
//! Holds only small fixed-size metadata, never values. Each shard carries an epoch that
//! every committed change bumps; a reader that looked a location up in redb caches it only
//! if the epoch did not move meanwhile, so a stale location is never cached.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::engine::index::EntryLoc;

const SHARDS: usize = 64;

type Map = HashMap<Box<[u8]>, EntryLoc, ahash::RandomState>;

#[derive(Default)]
struct Shard {
    epoch: u64,
    map: Map,
}

/// Sharded, bounded location cache.
pub struct LocCache {
    shards: Vec<RwLock<Shard>>,
    per_shard: usize,
    hasher: ahash::RandomState,
}

impl LocCache {
    /// A cache of about `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: ahash::RandomState::new(),
        }
    }

    fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// The cached location and the shard epoch to pass to [`Self::fill`] after a miss.
    pub fn get(&self, key: &[u8]) -> (Option<EntryLoc>, u64) {
        let shard = self.shard(key).read();
        (shard.map.get(key).copied(), shard.epoch)
    }

    /// Caches a location read from the index, unless the shard changed since `epoch`.
    pub fn fill(&self, key: &[u8], loc: EntryLoc, epoch: u64) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(key).write();
        if shard.epoch != epoch {
            return;
        }
        if shard.map.len() >= self.per_shard {
            // Crude but bounded: the index remains the source of truth.
            shard.map.clear();
        }
        shard.map.insert(key.into(), loc);
    }

    /// Records a committed change of `key`: its new location, or `None` when removed.
    pub fn update(&self, key: &[u8], loc: Option<EntryLoc>) {
        let mut shard = self.shard(key).write();
        shard.epoch += 1;
        match loc {
            Some(loc) if self.per_shard > 0 && shard.map.contains_key(key) => {
                shard.map.insert(key.into(), loc);
            }
            _ => {
                shard.map.remove(key);
            }
        }
    }
}
