//! W-TinyLFU (Einziger, Friedman, Manes; the policy of Caffeine), by bytes: a window LRU of
//! 1% of the capacity in front of a segmented LRU (20% probation, 80% protected), and a
//! candidate leaving the window enters the main part only when a count-min sketch says it
//! is more frequent than the victim it would replace. The sketch's counters are halved
//! every ten capacities' worth of requests, so old popularity fades.

use super::lru::LruList;
use super::{Policy, mix64};

/// A count-min sketch of 4-bit counters (stored in bytes), 4 rows.
#[derive(Debug)]
struct FrequencySketch {
    rows: [Vec<u8>; 4],
    mask: u64,
    samples: u64,
    reset_every: u64,
}

impl FrequencySketch {
    fn for_entries(entries: u64) -> Self {
        let width = entries.max(16).next_power_of_two();
        Self {
            rows: std::array::from_fn(|_| vec![0; width as usize]),
            mask: width - 1,
            samples: 0,
            reset_every: 10 * entries.max(16),
        }
    }

    fn slot(&self, key: u64, row: usize) -> usize {
        (mix64(key ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) & self.mask) as usize
    }

    fn increment(&mut self, key: u64) {
        for row in 0..4 {
            let slot = self.slot(key, row);
            let counter = &mut self.rows[row][slot];
            *counter = (*counter + 1).min(15);
        }
        self.samples += 1;
        if self.samples >= self.reset_every {
            self.samples /= 2;
            self.rows.iter_mut().flatten().for_each(|c| *c /= 2);
        }
    }

    fn estimate(&self, key: u64) -> u8 {
        (0..4)
            .map(|row| self.rows[row][self.slot(key, row)])
            .min()
            .unwrap_or(0)
    }
}

/// W-TinyLFU by bytes; see the module doc.
#[derive(Debug)]
pub struct WTinyLfu {
    window_capacity: u64,
    protected_capacity: u64,
    main_capacity: u64,
    window: LruList,
    probation: LruList,
    protected: LruList,
    sketch: FrequencySketch,
    tick: u64,
}

impl WTinyLfu {
    /// An empty cache of `capacity` bytes, its sketch sized for objects of `typical_size`.
    pub fn new(capacity: u64, typical_size: u64) -> Self {
        let window_capacity = (capacity / 100).max(typical_size);
        let main_capacity = capacity.saturating_sub(window_capacity);
        Self {
            window_capacity,
            protected_capacity: main_capacity / 5 * 4,
            main_capacity,
            window: LruList::default(),
            probation: LruList::default(),
            protected: LruList::default(),
            sketch: FrequencySketch::for_entries(capacity / typical_size.max(1)),
            tick: 0,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// A hit in probation moves the key to protected, demoting protected's oldest keys to
    /// probation while protected is over its share.
    fn promote(&mut self, key: u64) {
        let size = self.probation.remove(key).expect("key in probation");
        let tick = self.next_tick();
        self.protected.push(key, size, tick);
        while self.protected.bytes() > self.protected_capacity {
            let Some((old, old_size)) = self.protected.pop_oldest() else {
                break;
            };
            let tick = self.next_tick();
            self.probation.push(old, old_size, tick);
        }
    }

    /// Moves window overflow into the main part, by admission against main's victims.
    fn drain_window(&mut self) {
        while self.window.bytes() > self.window_capacity {
            let (candidate, size) = self.window.pop_oldest().expect("window not empty");
            let mut admitted = true;
            while self.probation.bytes() + self.protected.bytes() + size > self.main_capacity {
                let from_probation = self.probation.oldest().is_some();
                let victim = match from_probation {
                    true => self.probation.oldest(),
                    false => self.protected.oldest(),
                };
                let Some((victim, _)) = victim else {
                    admitted = false;
                    break;
                };
                if self.sketch.estimate(candidate) <= self.sketch.estimate(victim) {
                    admitted = false;
                    break;
                }
                match from_probation {
                    true => self.probation.remove(victim),
                    false => self.protected.remove(victim),
                };
            }
            if admitted {
                let tick = self.next_tick();
                self.probation.push(candidate, size, tick);
            }
        }
    }
}

impl Policy for WTinyLfu {
    fn request(&mut self, key: u64, size: u64) -> bool {
        self.sketch.increment(key);
        let tick = self.next_tick();
        if self.window.touch(key, tick) || self.protected.touch(key, tick) {
            return true;
        }
        if self.probation.contains(key) {
            self.promote(key);
            return true;
        }
        self.window.push(key, size, tick);
        self.drain_window();
        false
    }
}
