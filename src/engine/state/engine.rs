//! The state of an open store, shared by its handle, readers and the background thread.
//!
//! Every field is a handle whose own type keeps its invariants; nothing here is a bare
//! value that other files change. The invariants, and who keeps each:
//!
//! | part | invariant | kept by |
//! |---|---|---|
//! | `index` | the only source of truth; a durable commit never points at unsynced bytes (DESIGN 1) | the checkpoint (`state/checkpoint.rs`): sync, then commit |
//! | `staged` | every acknowledged change not yet in redb is here; changes only under the writer lock; its "nothing staged" flag is never set while something is | [`Staged`]'s methods, [`StagedLock`]'s write guard |
//! | `writer` | appends, rotation, accounting, deletion of segments; poisoning after a failed write or sync | [`WriterState`] and the segment writer |
//! | `segments` | every segment an index entry may point at is open; only the writer adds or removes | [`SegmentMap`] |
//! | `locs` | a cached location is never staler than redb | [`LocCache`]'s bucket versions |
//! | `counters` | lifetime totals, saved at each commit | [`Counters`] |
//!
//! Lock order: `checkpoint_lock`, then `writer`, then `staged`; `segments` and the
//! index's own lock are taken last and briefly.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{
    BackgroundSignal, Counters, Eviction, LocCache, MemoryPlan, MemoryUsage, Settings, Staged,
    StagedLock, WriterState,
};
use crate::engine::index::IndexDb;
use crate::engine::segment::SegmentMap;
use crate::error::Result;

/// Everything an open store shares between threads. Built by the engine's `open`.
pub struct Engine {
    /// The store directory.
    pub dir: PathBuf,
    /// The settings it runs with.
    pub settings: Settings,
    /// How the memory budget is split.
    pub memory: MemoryPlan,
    /// The redb index.
    pub index: IndexDb,
    /// The read history eviction decides by.
    pub eviction: Eviction,
    /// The open segments, for readers.
    pub segments: Arc<SegmentMap>,
    /// Index changes waiting for the next checkpoint.
    pub staged: StagedLock,
    /// One checkpoint at a time.
    pub checkpoint_lock: Mutex<()>,
    /// Committed locations kept in memory.
    pub locs: LocCache,
    /// The writer's state.
    pub writer: Mutex<WriterState>,
    /// Lifetime counters.
    pub counters: Counters,
    /// Wakes the background thread early, or stops it.
    pub background: Arc<BackgroundSignal>,
    seq: AtomicU64,
    lock: File,
}

/// How many bytes of index the keys staged between two checkpoints may need, for a store of
/// `capacity` bytes: 1/64 of it (the capacity plans room for twice that). Small values in a
/// small store would otherwise let one commit grow the index by much more than that.
pub fn index_bytes_limit(capacity: u64) -> u64 {
    capacity / 64
}

/// The parts an [`Engine`] is made of, as opening found or made them.
pub struct EngineParts {
    /// The store directory.
    pub dir: PathBuf,
    /// The settings.
    pub settings: Settings,
    /// The open index.
    pub index: IndexDb,
    /// The open segments.
    pub segments: Arc<SegmentMap>,
    /// The writer over them.
    pub writer: WriterState,
    /// Counters loaded from the index.
    pub counters: Counters,
    /// Access bits, restored when saved.
    pub eviction: Eviction,
    /// The next write sequence number.
    pub next_seq: u64,
    /// The held lock file.
    pub lock: File,
}

impl Engine {
    /// Assembles an open store.
    pub fn new(parts: EngineParts) -> Self {
        let memory = parts.settings.memory_plan();
        let mut staged = Staged::default();
        staged.set_index_bytes_limit(index_bytes_limit(parts.writer.capacity()));
        staged.set_memory_limit(memory.staged_bytes);
        Self {
            locs: LocCache::new(memory.location_slots),
            memory,
            dir: parts.dir,
            settings: parts.settings,
            index: parts.index,
            eviction: parts.eviction,
            segments: parts.segments,
            staged: StagedLock::new(staged),
            checkpoint_lock: Mutex::new(()),
            writer: Mutex::new(parts.writer),
            counters: parts.counters,
            background: Arc::default(),
            seq: AtomicU64::new(parts.next_seq),
            lock: parts.lock,
        }
    }

    /// Checks a key against the store's key limit.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        crate::limits::check_key(key, self.settings.max_key_len)
    }

    /// Now, on the store's clock (ms since the Unix epoch).
    pub fn now_ms(&self) -> u64 {
        self.settings.now_ms()
    }

    /// A new write sequence number.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The next sequence number to hand out (persisted at each commit).
    pub fn seq_now(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Sum of the lengths of the files in the store directory (one level of
    /// subdirectories), found by walking it.
    pub fn disk_bytes(&self) -> u64 {
        fn sum(dir: &Path, depth: u32) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() && depth > 0 => sum(&e.path(), depth - 1),
                    Ok(m) if m.is_file() => m.len(),
                    _ => 0,
                })
                .sum()
        }
        sum(&self.dir, 1)
    }

    /// What the parts of the memory budget hold now.
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            index_cache: self.index.cache_bytes(),
            locations: self.locs.table_bytes(),
            staged: self.staged.read().memory_bytes(),
            policy: self.eviction.table_bytes(),
        }
    }

    /// Length of the lock file (it names the holder's pid).
    pub fn lock_file_len(&self) -> u64 {
        self.lock.metadata().map_or(0, |m| m.len())
    }
}
