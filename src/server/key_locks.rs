//! Striped locks by key: a conditional write (`SET NX`, `GETDEL`, `GETEX`...) reads and
//! writes its key with no other write to that key in between.

use parking_lot::{Mutex, MutexGuard};

const STRIPES: usize = 1024;

/// A fixed table of mutexes; a key takes the one its hash picks.
pub struct KeyLocks {
    stripes: Box<[Mutex<()>]>,
}

impl KeyLocks {
    /// A new table.
    pub fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Holds the lock of `key` until the guard drops.
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, ()> {
        let h = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(key);
        self.stripes[h as usize % STRIPES].lock()
    }
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self::new()
    }
}
