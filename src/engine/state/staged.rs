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

/// About what one staged key adds to the index file besides the key itself: the location
/// and expiry rows and the B-tree's own overhead.
const INDEX_BYTES_PER_ENTRY: u64 = 64;

/// The staged changes (see the module doc). Changes only under the engine's writer lock.
#[derive(Default)]
pub struct Staged {
    current: PendingMap,
    committing: PendingMap,
    /// Estimated index bytes of the keys in `current` and in `committing`.
    current_bytes: u64,
    committing_bytes: u64,
    /// When `current_bytes` reaches this, a checkpoint is due (see
    /// [`Self::set_index_bytes_limit`]).
    index_bytes_limit: u64,
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

    /// Makes a checkpoint due once the keys staged since the last one may need `limit`
    /// bytes of index (the capacity plans room for the index to grow by about that much).
    pub fn set_index_bytes_limit(&mut self, limit: u64) {
        self.index_bytes_limit = limit;
    }

    /// The fraction of the index room the current changes fill: 1.0 means a checkpoint is
    /// due now.
    pub fn index_room_used(&self) -> f64 {
        self.current_bytes as f64 / self.index_bytes_limit.max(1) as f64
    }

    /// About how many bytes the staged keys will add to the index file when committed
    /// (an upper bound for planning space, not an exact figure).
    pub fn index_bytes(&self) -> u64 {
        self.current_bytes + self.committing_bytes
    }

    /// Stages a change of `key`, replacing an older staged one.
    pub fn stage(&mut self, key: &[u8], op: Pending) {
        let len = key.len() as u64;
        if self.current.insert(key.into(), op).is_none() {
            self.current_bytes += len + INDEX_BYTES_PER_ENTRY;
        }
    }

    /// [`Self::stage`] with a key the caller owns (no copy).
    pub fn stage_owned(&mut self, key: Vec<u8>, op: Pending) {
        let len = key.len() as u64;
        if self.current.insert(key.into_boxed_slice(), op).is_none() {
            self.current_bytes += len + INDEX_BYTES_PER_ENTRY;
        }
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
        let len = key.len() as u64;
        if self
            .committing
            .insert(key.into(), Pending::Remove)
            .is_none()
        {
            self.committing_bytes += len + INDEX_BYTES_PER_ENTRY;
        }
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
        self.committing_bytes += std::mem::take(&mut self.current_bytes);
    }

    /// The changes the running checkpoint commits.
    pub fn committing(&self) -> impl Iterator<Item = (&[u8], &Pending)> {
        self.committing.iter().map(|(k, op)| (&**k, op))
    }

    /// The running checkpoint committed its changes.
    pub fn commit_done(&mut self) {
        self.committing.clear();
        self.committing_bytes = 0;
    }

    /// Every staged key with the record length it will have once committed (`None`: it will
    /// be gone): the newest change of each key, `current` before `committing`. Copied out, so
    /// the caller can look the keys up in the index without holding the lock.
    pub fn final_changes(&self) -> Vec<(Box<[u8]>, Option<u64>)> {
        let len = |op: &Pending| op.loc().map(|l| l.record_len());
        let mut out = Vec::with_capacity(self.current.len() + self.committing.len());
        out.extend(self.current.iter().map(|(k, op)| (k.clone(), len(op))));
        let shadowed = |k: &[u8]| self.current.contains_key(k);
        out.extend(
            (self.committing.iter())
                .filter(|(k, _)| !shadowed(k))
                .map(|(k, op)| (k.clone(), len(op))),
        );
        out
    }

    /// Segments that staged changes point into.
    pub fn segments_referenced(&self) -> HashSet<u32> {
        let ops = self.current.values().chain(self.committing.values());
        ops.filter_map(|op| op.loc().map(|l| l.segment)).collect()
    }
}
