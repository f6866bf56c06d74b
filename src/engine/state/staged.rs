//! Index changes waiting for the next checkpoint.
//!
//! `current` receives new changes; `committing` holds the ones a running checkpoint is
//! making durable (their bytes are being synced). Readers look in `current`, then
//! `committing`, then the location cache, then redb.
//!
//! redb never references bytes that were not synced: changes reach it only through a
//! checkpoint (after the sync) or as pure removals (eviction, sweep).

use std::collections::{HashMap, HashSet};

use crate::engine::index::EntryLoc;

/// A change waiting for the next index commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// The key now lives at this location.
    Put(EntryLoc),
    /// The key was removed.
    Remove,
}

impl Pending {
    /// The location this change leaves the key at.
    pub fn loc(&self) -> Option<EntryLoc> {
        match self {
            Pending::Put(loc) => Some(*loc),
            Pending::Remove => None,
        }
    }
}

/// Where a staged change of a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Staged since the last checkpoint began.
    Current,
    /// Being committed by a running checkpoint.
    Committing,
    /// Not staged: the index has it.
    Index,
}

type PendingMap = HashMap<Box<[u8]>, Pending, ahash::RandomState>;

/// The staged changes (see the module doc). Changes only under the engine's writer lock.
#[derive(Default)]
pub struct Staged {
    current: PendingMap,
    committing: PendingMap,
}

impl Staged {
    /// The staged change for `key`, newest first.
    pub fn get(&self, key: &[u8]) -> Option<&Pending> {
        if self.is_empty() {
            return None;
        }
        self.current.get(key).or_else(|| self.committing.get(key))
    }

    /// The staged change for `key` and where it was found, newest first.
    pub fn find(&self, key: &[u8]) -> Option<(Option<EntryLoc>, Source)> {
        match (self.current.get(key), self.committing.get(key)) {
            (Some(op), _) => Some((op.loc(), Source::Current)),
            (None, Some(op)) => Some((op.loc(), Source::Committing)),
            (None, None) => None,
        }
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.committing.is_empty()
    }

    /// Changes staged since the last checkpoint began.
    pub fn current_len(&self) -> usize {
        self.current.len()
    }

    /// Stages a change of `key`, replacing an older staged one.
    pub fn stage(&mut self, key: &[u8], op: Pending) {
        self.current.insert(key.into(), op);
    }

    /// [`Self::stage`] with a key the caller owns (no copy).
    pub fn stage_owned(&mut self, key: Vec<u8>, op: Pending) {
        self.current.insert(key.into_boxed_slice(), op);
    }

    /// [`Self::stage_owned`] for a key that is usually staged already (maintenance
    /// re-staging a young record it moved): looks before it takes the key.
    pub fn restage(&mut self, key: Vec<u8>, op: Pending) {
        match self.current.get_mut(key.as_slice()) {
            Some(slot) => *slot = op,
            None => self.stage_owned(key, op),
        }
    }

    /// Makes a running checkpoint commit a removal of `key` instead of what it holds (the
    /// record it pointed at is going away).
    pub fn retract_committing(&mut self, key: &[u8]) {
        self.committing.insert(key.into(), Pending::Remove);
    }

    /// Turns every change a running checkpoint would commit that points into one of
    /// `segments` into a removal: those files are about to be deleted.
    pub fn retract_committing_into(&mut self, segments: &[u32]) {
        for op in self.committing.values_mut() {
            if matches!(op, Pending::Put(l) if segments.contains(&l.segment)) {
                *op = Pending::Remove;
            }
        }
    }

    /// Hands the current changes to a checkpoint: they become `committing` (readers still
    /// see them).
    pub fn begin_commit(&mut self) {
        if self.committing.is_empty() {
            // The usual case: hand the map over instead of rehashing every entry, and
            // keep the emptied one (with its capacity) for the next changes.
            std::mem::swap(&mut self.current, &mut self.committing);
        } else {
            self.committing.extend(self.current.drain());
        }
    }

    /// The changes the running checkpoint commits.
    pub fn committing(&self) -> impl Iterator<Item = (&[u8], &Pending)> {
        self.committing.iter().map(|(k, op)| (&**k, op))
    }

    /// The running checkpoint committed its changes.
    pub fn commit_done(&mut self) {
        self.committing.clear();
    }

    /// Segments that staged changes point into.
    pub fn segments_referenced(&self) -> HashSet<u32> {
        let ops = self.current.values().chain(self.committing.values());
        ops.filter_map(|op| op.loc().map(|l| l.segment)).collect()
    }
}
