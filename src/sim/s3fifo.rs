//! S3-FIFO (Yang et al., SOSP 2023), by bytes: a small FIFO (10% of the capacity) that new
//! objects enter, a main FIFO with reinsertion, and a ghost FIFO of keys recently evicted
//! from the small queue. An object read while in the small queue moves to main when it
//! leaves; one that was not is evicted and remembered as a ghost; a missed key that is a
//! ghost enters main directly. Main reinserts objects read since they last passed its tail
//! (a 2-bit frequency, decremented per pass).

use std::collections::{HashMap, VecDeque};

use super::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Small,
    Main,
}

#[derive(Debug, Clone, Copy)]
struct Object {
    size: u64,
    freq: u8,
    queue: Queue,
}

/// S3-FIFO by bytes; see the module doc.
#[derive(Debug)]
pub struct S3Fifo {
    small_capacity: u64,
    capacity: u64,
    small: VecDeque<u64>,
    main: VecDeque<u64>,
    small_bytes: u64,
    main_bytes: u64,
    objects: HashMap<u64, Object>,
    /// Ghost keys in eviction order, each with the sequence number that makes it current.
    ghost_order: VecDeque<(u64, u64)>,
    ghosts: HashMap<u64, u64>,
    ghost_seq: u64,
    /// Ghosts kept: as many objects as main holds.
    ghost_limit: usize,
}

impl S3Fifo {
    /// An empty cache of `capacity` bytes (the ghost list holds as many keys as objects of
    /// `typical_size` fit in main).
    pub fn new(capacity: u64, typical_size: u64) -> Self {
        let small_capacity = capacity / 10;
        Self {
            small_capacity,
            capacity,
            small: VecDeque::new(),
            main: VecDeque::new(),
            small_bytes: 0,
            main_bytes: 0,
            objects: HashMap::new(),
            ghost_order: VecDeque::new(),
            ghosts: HashMap::new(),
            ghost_seq: 0,
            ghost_limit: ((capacity - small_capacity) / typical_size.max(1)) as usize,
        }
    }

    fn remember_ghost(&mut self, key: u64) {
        self.ghost_seq += 1;
        self.ghosts.insert(key, self.ghost_seq);
        self.ghost_order.push_back((key, self.ghost_seq));
        while self.ghosts.len() > self.ghost_limit {
            let Some((old, seq)) = self.ghost_order.pop_front() else {
                break;
            };
            if self.ghosts.get(&old) == Some(&seq) {
                self.ghosts.remove(&old);
            }
        }
    }

    fn push(&mut self, key: u64, object: Object) {
        match object.queue {
            Queue::Small => {
                self.small.push_back(key);
                self.small_bytes += object.size;
            }
            Queue::Main => {
                self.main.push_back(key);
                self.main_bytes += object.size;
            }
        }
        self.objects.insert(key, object);
    }

    /// Evicts one object from the small queue: read ones move to main on the way.
    fn evict_small(&mut self) {
        while let Some(key) = self.small.pop_front() {
            let mut object = self.objects.remove(&key).expect("queued object");
            self.small_bytes -= object.size;
            if object.freq > 0 {
                object.freq = 0;
                object.queue = Queue::Main;
                self.push(key, object);
            } else {
                self.remember_ghost(key);
                return;
            }
        }
    }

    /// Evicts one object from main: read ones go around again with one read less.
    fn evict_main(&mut self) {
        while let Some(key) = self.main.pop_front() {
            let mut object = self.objects.remove(&key).expect("queued object");
            self.main_bytes -= object.size;
            if object.freq > 0 {
                object.freq -= 1;
                self.push(key, object);
            } else {
                return;
            }
        }
    }
}

impl Policy for S3Fifo {
    fn request(&mut self, key: u64, size: u64) -> bool {
        if let Some(object) = self.objects.get_mut(&key) {
            object.freq = (object.freq + 1).min(3);
            return true;
        }
        while self.small_bytes + self.main_bytes + size > self.capacity {
            if self.small_bytes >= self.small_capacity || self.main.is_empty() {
                self.evict_small();
            } else {
                self.evict_main();
            }
            if self.small.is_empty() && self.main.is_empty() {
                break;
            }
        }
        let queue = match self.ghosts.remove(&key) {
            Some(_) => Queue::Main,
            None => Queue::Small,
        };
        self.push(
            key,
            Object {
                size,
                freq: 0,
                queue,
            },
        );
        false
    }
}
