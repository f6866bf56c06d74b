//! The lock around [`Staged`], with a flag that lets readers skip it when nothing is staged.
//!
//! A warm read of a store whose changes are all committed should not write to any memory
//! another reader touches: taking even a read lock does. The flag is written only by
//! writers, while they hold the lock, so readers share it read-only.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Staged;
use crate::engine::index::EntryLoc;

/// [`Staged`] behind a read-write lock, plus "something may be staged".
pub struct StagedLock {
    lock: RwLock<Staged>,
    /// False only when `lock` holds nothing: set by every write guard as it ends, after
    /// the change (and, for a finished commit, after the location cache saw it).
    nonempty: AtomicBool,
}

impl StagedLock {
    /// Wraps `staged`.
    pub fn new(staged: Staged) -> Self {
        Self {
            nonempty: AtomicBool::new(!staged.is_empty()),
            lock: RwLock::new(staged),
        }
    }

    /// Shared access.
    pub fn read(&self) -> RwLockReadGuard<'_, Staged> {
        self.lock.read()
    }

    /// Exclusive access; the flag is brought up to date when the guard ends.
    pub fn write(&self) -> StagedWriteGuard<'_> {
        StagedWriteGuard {
            guard: self.lock.write(),
            nonempty: &self.nonempty,
        }
    }

    /// The staged change of `key`: `Some(loc)` when one is staged (`loc` is `None` for a
    /// removal), `None` when the index has the key's current state. Takes no lock when
    /// nothing is staged.
    pub fn change_of(&self, key: &[u8]) -> Option<Option<EntryLoc>> {
        if !self.nonempty.load(Ordering::Acquire) {
            return None;
        }
        self.lock.read().get(key).map(|op| op.loc())
    }
}

/// Exclusive access to [`Staged`]; updates [`StagedLock`]'s flag as it ends.
pub struct StagedWriteGuard<'a> {
    guard: RwLockWriteGuard<'a, Staged>,
    nonempty: &'a AtomicBool,
}

impl Deref for StagedWriteGuard<'_> {
    type Target = Staged;

    fn deref(&self) -> &Staged {
        &self.guard
    }
}

impl DerefMut for StagedWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Staged {
        &mut self.guard
    }
}

impl Drop for StagedWriteGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: writers store in the order they held it.
        self.nonempty
            .store(!self.guard.is_empty(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::staged::Pending;

    #[test]
    fn the_flag_follows_the_changes() {
        let staged = StagedLock::new(Staged::default());
        assert_eq!(staged.change_of(b"k"), None);
        staged.write().stage(b"k", Pending::Remove);
        assert_eq!(staged.change_of(b"k"), Some(None));
        staged.write().begin_commit();
        assert_eq!(
            staged.change_of(b"k"),
            Some(None),
            "committing changes count"
        );
        staged.write().commit_done();
        assert_eq!(staged.change_of(b"k"), None);
    }
}
