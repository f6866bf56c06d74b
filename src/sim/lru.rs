//! Exact LRU by bytes (the baseline every hit ratio is compared with), and the ordered list
//! it and W-TinyLFU's segments are made of.

use std::collections::{BTreeMap, HashMap};

use super::Policy;

/// Keys in recency order with their sizes: oldest first.
#[derive(Debug, Default)]
pub(crate) struct LruList {
    order: BTreeMap<u64, u64>,
    entries: HashMap<u64, (u64, u64)>,
    bytes: u64,
}

impl LruList {
    /// Bytes of the keys held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True when `key` is held.
    pub fn contains(&self, key: u64) -> bool {
        self.entries.contains_key(&key)
    }

    /// Moves `key` to the newest end at `tick`; false when it is not held.
    pub fn touch(&mut self, key: u64, tick: u64) -> bool {
        let Some((at, _)) = self.entries.get_mut(&key) else {
            return false;
        };
        self.order.remove(at);
        *at = tick;
        self.order.insert(tick, key);
        true
    }

    /// Adds `key` at the newest end (`tick` must be unique and growing).
    pub fn push(&mut self, key: u64, size: u64, tick: u64) {
        self.entries.insert(key, (tick, size));
        self.order.insert(tick, key);
        self.bytes += size;
    }

    /// The oldest key and its size.
    pub fn oldest(&self) -> Option<(u64, u64)> {
        let (_, key) = self.order.first_key_value()?;
        Some((*key, self.entries[key].1))
    }

    /// Removes `key`; returns its size.
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        let (tick, size) = self.entries.remove(&key)?;
        self.order.remove(&tick);
        self.bytes -= size;
        Some(size)
    }

    /// Removes and returns the oldest key and its size.
    pub fn pop_oldest(&mut self) -> Option<(u64, u64)> {
        let (key, _) = self.oldest()?;
        self.remove(key).map(|size| (key, size))
    }
}

/// Exact LRU by bytes.
#[derive(Debug, Default)]
pub struct ExactLru {
    capacity: u64,
    tick: u64,
    list: LruList,
}

impl ExactLru {
    /// An empty LRU holding up to `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// Requests `key` of `size` bytes; true on a hit. A miss inserts it.
    pub fn request(&mut self, key: u64, size: u64) -> bool {
        self.tick += 1;
        if self.list.touch(key, self.tick) {
            return true;
        }
        while self.list.bytes() + size > self.capacity && self.list.pop_oldest().is_some() {}
        self.list.push(key, size, self.tick);
        false
    }
}

impl Policy for ExactLru {
    fn request(&mut self, key: u64, size: u64) -> bool {
        ExactLru::request(self, key, size)
    }
}
