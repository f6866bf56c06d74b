//! What only the writer touches, under the engine's writer lock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::SpaceReserve;
use crate::engine::segment::{AppendFor, Log, SegmentWriter};
use crate::error::{Error, Result};

/// Access bits are saved at a checkpoint at most this often (and always at close).
const ACCESS_SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// The writer's state. Invariants:
/// - once `poisoned` is set (a write or sync failed: the kernel may have dropped dirty
///   pages), it stays set until the store is reopened, and every write path refuses to run
///   ([`Self::check_writable`]); reads go on;
/// - `dirty` is set by every change that a durable commit has not yet covered, and cleared
///   only by a checkpoint that takes those changes;
/// - `capacity` is the store's one capacity while open (the index's meta row persists it
///   at each commit); `disk_budget`, when set, is what the file system can hold (see
///   [`Self::budget`]).
pub struct WriterState {
    store_dir: PathBuf,
    segments: SegmentWriter,
    reserve: SpaceReserve,
    capacity: u64,
    disk_budget: Option<u64>,
    dirty: bool,
    poisoned: Option<String>,
    closing: bool,
    /// When the access bits (and counters) were last saved; the open counts as a save, as
    /// what the file holds is the state at open.
    access_saved_at: Instant,
}

impl WriterState {
    /// The writer of the store in `store_dir`, over recovered segments.
    pub fn new(
        store_dir: &Path,
        segments: SegmentWriter,
        reserve: SpaceReserve,
        capacity: u64,
    ) -> Self {
        Self {
            store_dir: store_dir.to_path_buf(),
            segments,
            reserve,
            capacity,
            disk_budget: None,
            dirty: false,
            poisoned: None,
            closing: false,
            access_saved_at: Instant::now(),
        }
    }

    /// The segments.
    pub fn segments(&self) -> &SegmentWriter {
        &self.segments
    }

    /// The segments, to change them.
    pub fn segments_mut(&mut self) -> &mut SegmentWriter {
        &mut self.segments
    }

    /// Appends a record through the segment writer. A full disk fails only this write;
    /// any other failure poisons the store.
    pub fn append(&mut self, parts: &[&[u8]], by: AppendFor, log: Log) -> Result<(u32, u32)> {
        let need: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if let Err(available) = self.reserve.check_room(need) {
            return Err(Error::DiskFull {
                path: self.segments.dir().to_path_buf(),
                needed: need,
                available,
                source: std::io::Error::from_raw_os_error(libc::ENOSPC),
            });
        }
        let appended = self.segments.append(parts, by, log);
        appended.map_err(|e| self.poison_unless_full(e))
    }

    /// Starts a new segment of `reserve` bytes in `log` for inserts. A full disk fails
    /// only this write; any other failure poisons the store.
    pub fn rotate_for_insert(&mut self, reserve: u64, log: Log) -> Result<()> {
        let rotated = self.segments.rotate(reserve, AppendFor::Insert, log);
        rotated.map(|_| ()).map_err(|e| self.poison_unless_full(e))
    }

    /// A write that did not fit a full file system leaves nothing behind (the segment's
    /// readable length did not move, a half-made segment file is removed): it fails alone.
    /// Any other write failure may have left the file in an unknown state: poison.
    /// The reserve is released then, so the next checkpoint can still commit.
    fn poison_unless_full(&mut self, err: Error) -> Error {
        match err {
            Error::DiskFull { .. } => {
                self.reserve.release();
                err
            }
            err => self.poison(err),
        }
    }

    /// Bytes the space reserve holds on disk (it counts in the capacity).
    pub fn reserve_bytes(&self) -> u64 {
        self.reserve.bytes()
    }

    /// A checkpoint is about to commit: free the reserve if the file system is full.
    pub fn free_reserve_if_low(&mut self) {
        self.reserve.release_if_low();
    }

    /// A checkpoint committed, leaving the index file `index_len` bytes long: size the
    /// reserve to it, and make the reserve if the file system is getting full (and again
    /// after it was spent, once there is room).
    pub fn keep_up_reserve(&mut self, index_len: u64) {
        self.reserve.follow_index(self.capacity, index_len);
        self.reserve.keep_up();
    }

    /// The error to return when writes are refused.
    pub fn check_writable(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                dir: self.store_dir.clone(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// True once a write-path failure was recorded.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Records a write-path failure: later writes are refused until reopen. Returns `err`.
    pub fn poison(&mut self, err: Error) -> Error {
        self.poison_with(&err.to_string());
        err
    }

    /// Records a write-path failure described by `cause`.
    pub fn poison_with(&mut self, cause: &str) {
        log::error!(
            "stratacache at {}: write path failed, refusing writes until reopened: {cause}",
            self.store_dir.display()
        );
        self.poisoned.get_or_insert_with(|| cause.to_string());
    }

    /// The capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The bytes the store keeps to: its capacity, or less while the file system cannot
    /// hold that much.
    pub fn budget(&self) -> u64 {
        self.disk_budget
            .map_or(self.capacity, |disk| disk.min(self.capacity))
    }

    /// What the file system can hold for the store (`None`: no limit below the capacity).
    pub fn set_disk_budget(&mut self, bytes: Option<u64>) {
        let dir = self.store_dir.display();
        match (self.disk_budget, bytes) {
            (None, Some(b)) if b < self.capacity => log::warn!(
                "stratacache at {dir}: the file system has room for only {b} bytes of the \
                 store, below its capacity of {}; keeping to that until space comes back",
                self.capacity
            ),
            (Some(_), None) => log::info!(
                "stratacache at {dir}: the file system has room again; back to the capacity"
            ),
            _ => {}
        }
        self.disk_budget = bytes;
    }

    /// Bytes of the reserve not held on disk now: the file system must keep them free
    /// for the index.
    pub fn reserve_shortfall(&self) -> u64 {
        self.reserve.shortfall()
    }

    /// Sets a new capacity and the segment size that goes with it.
    pub fn set_capacity(&mut self, capacity: u64, segment_size: u64) {
        self.capacity = capacity;
        self.segments.set_segment_size(segment_size);
        self.dirty = true;
    }

    /// Something changed that the next checkpoint must commit.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// True when something changed since the last checkpoint took the changes.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// A checkpoint takes the changes.
    pub fn take_dirty(&mut self) {
        self.dirty = false;
    }

    /// True when nothing awaits a checkpoint, in this state or the segments.
    pub fn is_clean(&self) -> bool {
        !self.dirty && !self.segments.has_changes()
    }

    /// The store is closing: the last commit saves everything, access bits included.
    pub fn set_closing(&mut self) {
        self.closing = true;
    }

    /// True once the store is closing.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True when a durable commit should save the access bits now.
    pub fn access_save_due(&self) -> bool {
        self.closing || self.access_saved_at.elapsed() >= ACCESS_SAVE_INTERVAL
    }

    /// The access bits were saved now.
    pub fn access_saved(&mut self) {
        self.access_saved_at = Instant::now();
    }
}
