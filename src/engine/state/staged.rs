//! Index changes waiting for the next checkpoint.
//!
//! `current` receives new changes; `committing` holds the ones a running checkpoint is
//! making durable (their bytes are being synced). Readers look in `current`, then
//! `committing`, then the location cache, then redb.
//!
//! redb never references bytes that were not synced: changes reach it only through a
//! checkpoint (after the sync) or as pure removals (eviction, sweep).

use std::collections::{HashMap, HashSet};

use super::memory::STAGED_BYTES_PER_CHANGE;
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

/// About what one key takes in the index file besides the key itself: the location and
/// expiry rows and the B-tree's own overhead.
const INDEX_BYTES_PER_ENTRY: u64 = 64;

/// About what an entry with a key of `key_len` bytes takes in the index file.
pub fn index_bytes_of(key_len: usize) -> u64 {
    key_len as u64 + INDEX_BYTES_PER_ENTRY
}

/// `bytes` (index bytes of the staged puts) after the change of `key` from `old` to `new`:
/// only puts may grow the index, a staged removal does not.
fn put_bytes(bytes: u64, key_len: usize, old: Option<&Pending>, new: &Pending) -> u64 {
    let size = index_bytes_of(key_len);
    match (old.is_some_and(|o| o.loc().is_some()), new.loc().is_some()) {
        (false, true) => bytes + size,
        (true, false) => bytes.saturating_sub(size),
        _ => bytes,
    }
}

/// Heap bytes a change adds for its key: none when the map held the key already.
fn new_key_bytes(len: usize, old: &Option<Pending>) -> u64 {
    if old.is_some() {
        0
    } else {
        key_heap_bytes(len)
    }
}

/// The staged changes (see the module doc). Changes only under the engine's writer lock.
#[derive(Default)]
pub struct Staged {
    current: PendingMap,
    committing: PendingMap,
    /// Estimated index bytes of the keys `current` and `committing` put (removals do not
    /// grow the index).
    current_bytes: u64,
    committing_bytes: u64,
    /// Estimated index bytes that removals committed since the last checkpoint freed (the
    /// staged keys reuse those pages: a store at its capacity evicts as many entries as it
    /// gains, and its index does not grow).
    freed_bytes: u64,
    /// When `current_bytes` reaches this, a checkpoint is due (see
    /// [`Self::set_index_bytes_limit`]).
    index_bytes_limit: u64,
    /// Heap bytes of the keys `current` and `committing` hold (see [`key_heap_bytes`]).
    current_key_bytes: u64,
    committing_key_bytes: u64,
    /// When the estimated memory of `current` reaches this, a checkpoint is due (see
    /// [`Self::set_memory_limit`]).
    memory_limit: u64,
}

/// Heap bytes of a boxed key of `len` bytes: the allocator's header and rounding included.
fn key_heap_bytes(len: usize) -> u64 {
    (len as u64 + 8).next_multiple_of(16)
}

/// Bytes one bucket of a map of staged changes takes (the slot and its control byte).
const BUCKET_BYTES: u64 = (std::mem::size_of::<(Box<[u8]>, Pending)>() + 1) as u64;

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
        let growth = self.current_bytes.saturating_sub(self.freed_bytes);
        growth as f64 / self.index_bytes_limit.max(1) as f64
    }

    /// About how many bytes the staged keys will add to the index file when committed,
    /// less what committed removals freed meanwhile (an estimate for planning space).
    pub fn index_bytes(&self) -> u64 {
        (self.current_bytes + self.committing_bytes).saturating_sub(self.freed_bytes)
    }

    /// A commit other than a checkpoint removed entries taking about `bytes` of index.
    pub fn index_freed(&mut self, bytes: u64) {
        self.freed_bytes += bytes;
    }

    /// Stages a change of `key`, replacing an older staged one.
    pub fn stage(&mut self, key: &[u8], op: Pending) {
        let old = self.current.insert(key.into(), op);
        self.current_bytes = put_bytes(self.current_bytes, key.len(), old.as_ref(), &op);
        self.current_key_bytes += new_key_bytes(key.len(), &old);
    }

    /// [`Self::stage`] with a key the caller owns (no copy).
    pub fn stage_owned(&mut self, key: Vec<u8>, op: Pending) {
        let key_len = key.len();
        let old = self.current.insert(key.into_boxed_slice(), op);
        self.current_bytes = put_bytes(self.current_bytes, key_len, old.as_ref(), &op);
        self.current_key_bytes += new_key_bytes(key_len, &old);
    }

    /// [`Self::stage_owned`] for a key that is usually staged already (maintenance
    /// re-staging a young record it moved): looks before it takes the key.
    pub fn restage(&mut self, key: Vec<u8>, op: Pending) {
        match self.current.get_mut(key.as_slice()) {
            Some(slot) => {
                let old = std::mem::replace(slot, op);
                self.current_bytes = put_bytes(self.current_bytes, key.len(), Some(&old), &op);
            }
            None => self.stage_owned(key, op),
        }
    }

    /// Makes a running checkpoint commit a removal of `key` instead of what it holds (the
    /// record it pointed at is going away).
    pub fn retract_committing(&mut self, key: &[u8]) {
        let old = self.committing.insert(key.into(), Pending::Remove);
        self.committing_key_bytes += new_key_bytes(key.len(), &old);
        self.committing_bytes = put_bytes(
            self.committing_bytes,
            key.len(),
            old.as_ref(),
            &Pending::Remove,
        );
    }

    /// Turns every change a running checkpoint would commit that points into one of
    /// `segments` into a removal: those files are about to be deleted.
    pub fn retract_committing_into(&mut self, segments: &[u32]) {
        for (key, op) in self.committing.iter_mut() {
            if matches!(op, Pending::Put(l) if segments.contains(&l.segment)) {
                *op = Pending::Remove;
                self.committing_bytes = self
                    .committing_bytes
                    .saturating_sub(index_bytes_of(key.len()));
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
        // Keys staged in both were merged: an overestimate until the commit is done.
        self.committing_key_bytes += std::mem::take(&mut self.current_key_bytes);
    }

    /// The changes the running checkpoint commits.
    pub fn committing(&self) -> impl Iterator<Item = (&[u8], &Pending)> {
        self.committing.iter().map(|(k, op)| (&**k, op))
    }

    /// The running checkpoint committed its changes.
    pub fn commit_done(&mut self) {
        self.committing.clear();
        self.freed_bytes = self.freed_bytes.saturating_sub(self.committing_bytes);
        self.committing_bytes = 0;
        self.committing_key_bytes = 0;
    }

    /// Makes a checkpoint due once the estimated memory of the changes staged since the
    /// last one reaches `limit` bytes (see [`MemoryPlan`](super::MemoryPlan)).
    pub fn set_memory_limit(&mut self, limit: u64) {
        self.memory_limit = limit;
    }

    /// The fraction of the memory limit the current changes fill: 1.0 means a checkpoint
    /// is due now.
    pub fn memory_room_used(&self) -> f64 {
        let estimate = self.current.len() as u64 * STAGED_BYTES_PER_CHANGE + self.current_key_bytes;
        estimate as f64 / self.memory_limit.max(1) as f64
    }

    /// Bytes the staged changes hold: both maps' tables (with the room they keep between
    /// checkpoints) and the keys.
    pub fn memory_bytes(&self) -> u64 {
        let buckets = |map: &PendingMap| match map.capacity() {
            0 => 0,
            // The map keeps a power of two of buckets, at most 7/8 of them full.
            items => (items as u64 * 8 / 7).next_power_of_two(),
        };
        (buckets(&self.current) + buckets(&self.committing)) * BUCKET_BYTES
            + self.current_key_bytes
            + self.committing_key_bytes
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
