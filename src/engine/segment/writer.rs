//! The segment writer: appends records, rotates to new segments, keeps each segment's
//! accounting, and deletes segments. It lives under the engine's writer lock.
//!
//! Invariants it keeps (the engine's crash invariants rest on them):
//! - Bytes go only to the end of the active segment, within its mapping; every appended
//!   segment is in the unsynced set until a checkpoint takes it ([`Self::take_unsynced`]),
//!   so the checkpoint syncs it before the index may point at it (invariant 1).
//! - Every change of a segment's accounting marks its row dirty, so the next commit writes
//!   it; `indexed` holds every segment whose row a commit may have written, so a segment
//!   outside it has no committed entries and can be deleted without an index commit.
//! - A segment drained by compaction stays doomed, its row kept, until the checkpoint that
//!   makes the moved copies durable releases it; only then is its file deleted
//!   (invariant 3). A file is unlinked at once and its handle closed by the reaper thread.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::faults::{FaultPoint, Faults, check};
use super::file::Segment;
use super::format::SEGMENT_HEADER_LEN;
use super::map::SegmentMap;
use super::meta::{Log, SegmentMeta};
use super::reaper::Reaper;
use crate::clock::Clock;
use crate::error::{Result, write_err};
use crate::permissions::Sharing;

/// Who appends: inserts, or maintenance moving records forward (compaction, eviction's
/// second chances). Segments maintenance fills are synced early, once sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFor {
    /// New values.
    Insert,
    /// Records moved forward.
    Maintenance,
}

/// How segment files are made: who may read them, the clock for their last-access time,
/// the target size, and (in tests) the faults to inject.
#[derive(Clone)]
pub struct WriterConfig {
    /// Permissions of new segment files.
    pub sharing: Sharing,
    /// The store's clock.
    pub clock: Arc<dyn Clock>,
    /// Target size of a new segment.
    pub segment_size: u64,
    /// Failures a test armed, if any.
    pub faults: Option<Arc<Faults>>,
}

/// Appends, rotation, accounting and deletion of segments. See the module doc for the
/// invariants it keeps.
pub struct SegmentWriter {
    dir: PathBuf,
    sharing: Sharing,
    clock: Arc<dyn Clock>,
    faults: Option<Arc<Faults>>,
    map: Arc<SegmentMap>,
    reaper: Reaper,
    /// The segment receiving appends, per log ([`Log::index`]).
    active: [Option<Arc<Segment>>; 2],
    /// Next segment id to allocate.
    next_id: u32,
    /// Target size of a new segment.
    segment_size: u64,
    /// Accounting of every live segment, authoritative in memory, written at each commit.
    meta: BTreeMap<u32, SegmentMeta>,
    /// Segments whose row changed since the last commit.
    dirty_rows: BTreeSet<u32>,
    /// Segments the index file may refer to.
    indexed: BTreeSet<u32>,
    /// Segments created by maintenance: synced early, on the reaper thread, once sealed.
    maintenance: BTreeSet<u32>,
    /// Segments written since the last checkpoint took them.
    unsynced: BTreeSet<u32>,
    /// Segments drained by compaction, with their last accounting, until released.
    doomed: BTreeMap<u32, SegmentMeta>,
    /// A segment file was created or deleted since the last directory sync.
    dir_changed: bool,
}

/// What a checkpoint must sync before it commits.
pub struct Unsynced {
    /// Segments written since the last checkpoint.
    pub files: Vec<Arc<Segment>>,
    /// The segments directory, when it changed (files created or deleted).
    pub sync_dir: Option<PathBuf>,
}

impl SegmentWriter {
    /// A writer over segments already opened by recovery.
    pub(super) fn new(
        dir: &Path,
        config: WriterConfig,
        map: Arc<SegmentMap>,
        meta: BTreeMap<u32, SegmentMeta>,
        next_id: u32,
    ) -> Self {
        let WriterConfig {
            sharing,
            clock,
            segment_size,
            faults,
        } = config;
        Self {
            dir: dir.to_path_buf(),
            sharing,
            clock,
            faults,
            map,
            reaper: Reaper::start(),
            active: [None, None],
            next_id,
            segment_size,
            indexed: meta.keys().copied().collect(),
            meta,
            dirty_rows: BTreeSet::new(),
            maintenance: BTreeSet::new(),
            unsynced: BTreeSet::new(),
            doomed: BTreeMap::new(),
            dir_changed: false,
        }
    }

    /// The segments directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when segment `id` receives appends (it is the active segment of a log).
    pub fn is_active(&self, id: u32) -> bool {
        self.active.iter().flatten().any(|s| s.id() == id)
    }

    /// Bytes still free in the active segment of `log`.
    pub fn room_in(&self, log: Log) -> u64 {
        self.active[log.index()]
            .as_ref()
            .map_or(0, |s| s.reserved_len().saturating_sub(s.readable_len()))
    }

    /// Bytes still free in the active segments of both logs.
    pub fn room_in_active(&self) -> u64 {
        Log::ALL.iter().map(|log| self.room_in(*log)).sum()
    }

    /// Bytes the live segments of `log` take.
    pub fn file_bytes_of(&self, log: Log) -> u64 {
        let of_log = self.meta.values().filter(|m| m.log == log);
        of_log.map(|m| m.len).sum()
    }

    /// Bytes the segments of `log` take, with what its active segment may still grow by.
    pub fn spoken_for_by(&self, log: Log) -> u64 {
        self.file_bytes_of(log) + self.room_in(log)
    }

    /// Size of the segment a record of `need` bytes would start: at least a segment.
    pub fn reserve_for(&self, need: u64) -> u64 {
        self.segment_size.max(SEGMENT_HEADER_LEN as u64 + need)
    }

    /// Target segment size.
    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// Writes a record (given as consecutive parts) at the end of the active segment of
    /// `log`, rotating to a new segment when it does not fit. Returns (segment id, offset).
    pub fn append(&mut self, parts: &[&[u8]], by: AppendFor, log: Log) -> Result<(u32, u32)> {
        let need: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let seg = match &self.active[log.index()] {
            Some(s) if s.readable_len() + need <= s.reserved_len() => s.clone(),
            _ => self.rotate(self.reserve_for(need), by, log)?,
        };
        let offset = seg.readable_len();
        let mut at = offset;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            // A failed write leaves `readable_len` where it was, and the file is cut back
            // to it: whatever part of the record reached the file would otherwise keep its
            // blocks (on a full disk, the very space the next write needs).
            let written = check(self.faults.as_deref(), FaultPoint::Write)
                .and_then(|()| seg.file().write_all_at(part, at));
            if let Err(e) = written {
                let _ = seg.file().set_len(offset);
                return Err(write_err("append to segment", seg.path(), need, e));
            }
            at += part.len() as u64;
        }
        seg.set_readable_len(offset + need);
        self.meta.entry(seg.id()).or_default().len = offset + need;
        self.dirty_rows.insert(seg.id());
        self.unsynced.insert(seg.id());
        Ok((seg.id(), offset as u32))
    }

    /// Seals the active segments of both logs: later appends start new ones.
    pub fn seal_all_active(&mut self) {
        Log::ALL.iter().for_each(|log| self.seal_active(*log));
    }

    /// Seals the active segment of `log` (if any): later appends to it start a new one.
    pub fn seal_active(&mut self, log: Log) {
        if let Some(old) = self.active[log.index()].take() {
            self.seal(old.id());
            // Filled by maintenance: sync it while maintenance fills the next one. (Not
            // segments of inserts: at capacity most of them are evicted before a
            // checkpoint and never need writing at all.)
            if self.maintenance.remove(&old.id()) {
                self.reaper.sync_early(old);
            }
        }
    }

    /// Seals the active segment of `log` and starts a new one of `reserve` bytes.
    pub fn rotate(&mut self, reserve: u64, by: AppendFor, log: Log) -> Result<Arc<Segment>> {
        self.seal_active(log);
        let id = self.next_id;
        // Used even if creating fails: a half-made file that could not be removed must
        // not make the next attempt fail on an existing name (recovery deletes it).
        self.next_id = id + 1;
        if let Err(e) = check(self.faults.as_deref(), FaultPoint::Write) {
            let path = self.dir.join(super::file::segment_file_name(id));
            return Err(write_err(
                "create segment",
                &path,
                SEGMENT_HEADER_LEN as u64,
                e,
            ));
        }
        let faults = self.faults.as_deref();
        let seg = Arc::new(Segment::create(
            &self.dir,
            id,
            reserve,
            self.sharing,
            faults,
        )?);
        if by == AppendFor::Maintenance {
            self.maintenance.insert(id);
        }
        let meta = SegmentMeta {
            len: SEGMENT_HEADER_LEN as u64,
            last_access: self.clock.now_ms(),
            log,
            ..Default::default()
        };
        self.meta.insert(id, meta);
        self.dirty_rows.insert(id);
        self.unsynced.insert(id);
        self.dir_changed = true;
        self.map.insert(seg.clone());
        self.active[log.index()] = Some(seg.clone());
        Ok(seg)
    }

    /// Sets the active segment of `log` (recovery found it).
    pub(super) fn set_active(&mut self, segment: Arc<Segment>, log: Log) {
        self.active[log.index()] = Some(segment);
    }

    /// Marks segment `id` full: no more appends.
    fn seal(&mut self, id: u32) {
        self.meta.entry(id).or_default().sealed = true;
        self.dirty_rows.insert(id);
    }

    /// Seals each active segment for which `pred` holds; later appends start new ones.
    pub fn seal_active_if(&mut self, pred: impl Fn(&Segment) -> bool) {
        for slot in 0..self.active.len() {
            if let Some(active) = self.active[slot].take_if(|a| pred(a)) {
                self.seal(active.id());
            }
        }
    }

    /// Changes the target segment size; an active segment reserved for more is sealed,
    /// so it cannot grow past a smaller bound.
    pub fn set_segment_size(&mut self, bytes: u64) {
        self.segment_size = bytes;
        self.seal_active_if(|a| a.reserved_len() > bytes);
    }

    /// Adds (`sign` = 1) or subtracts (-1) a record of `bytes` from the live accounting of
    /// `segment` (live or doomed).
    pub fn account(&mut self, segment: u32, bytes: u64, sign: i64) {
        let meta = match self.meta.get_mut(&segment) {
            Some(meta) => Some(meta),
            None => self.doomed.get_mut(&segment),
        };
        if let Some(meta) = meta {
            if sign > 0 {
                meta.live_bytes += bytes;
                meta.live_count += 1;
            } else {
                meta.live_bytes = meta.live_bytes.saturating_sub(bytes);
                meta.live_count = meta.live_count.saturating_sub(1);
            }
            self.dirty_rows.insert(segment);
        }
    }

    /// Records a write into `segment` at `now_ms` (for its last-access time).
    pub fn touch(&mut self, segment: u32, now_ms: u64) {
        if let Some(meta) = self.meta.get_mut(&segment) {
            meta.last_access = meta.last_access.max(now_ms);
        }
    }

    /// Bytes of all segment files (live and doomed), by the accounting.
    pub fn file_bytes(&self) -> u64 {
        self.meta
            .values()
            .chain(self.doomed.values())
            .map(|m| m.len)
            .sum()
    }

    /// Bytes the segment files take, plus what the active segment may still grow by: the
    /// most the segments can take before the next rotation.
    pub fn spoken_for_bytes(&self) -> u64 {
        self.file_bytes() + self.room_in_active()
    }

    /// Live bytes of all segments (doomed ones keep theirs until the checkpoint that
    /// credits their moved copies: counting both keeps a drain from reading as loss).
    pub fn live_bytes(&self) -> u64 {
        let metas = self.meta.values().chain(self.doomed.values());
        metas.map(|m| m.live_bytes).sum()
    }

    /// Live records of all live segments.
    pub fn live_count(&self) -> u64 {
        self.meta.values().map(|m| m.live_count).sum()
    }

    /// Live bytes of segment `id` (0 when it is not live).
    pub fn live_bytes_of(&self, id: u32) -> u64 {
        self.meta.get(&id).map_or(0, |m| m.live_bytes)
    }

    /// Segment files, live and doomed.
    pub fn count(&self) -> u64 {
        (self.meta.len() + self.doomed.len()) as u64
    }

    /// Bytes of the doomed segments (they take space until a checkpoint releases them).
    pub fn doomed_bytes(&self) -> u64 {
        self.doomed.values().map(|m| m.len).sum()
    }

    /// True when segment `id` is live (not drained).
    pub fn contains(&self, id: u32) -> bool {
        self.meta.contains_key(&id)
    }

    /// True when the index file may refer to segment `id`.
    pub fn is_indexed(&self, id: u32) -> bool {
        self.indexed.contains(&id)
    }

    /// The oldest live segment that is not active, of `log` or of either log (ids grow
    /// with time).
    pub fn oldest_sealed(&self, log: Option<Log>) -> Option<u32> {
        let in_log = |m: &SegmentMeta| log.is_none_or(|l| m.log == l);
        self.meta
            .iter()
            .find(|(id, m)| in_log(m) && !self.is_active(**id))
            .map(|(id, _)| *id)
    }

    /// The log of live segment `id` (the main log when it is not live).
    pub fn log_of(&self, id: u32) -> Log {
        self.meta.get(&id).map_or(Log::Main, |m| m.log)
    }

    /// Live segments that are not active.
    pub fn sealed_count(&self) -> usize {
        self.meta.keys().filter(|id| !self.is_active(**id)).count()
    }

    /// Live segments `pick` selects, given their accounting and whether each is active.
    pub fn select(&self, pick: impl Fn(u32, &SegmentMeta, bool) -> bool) -> Vec<u32> {
        let chosen = self
            .meta
            .iter()
            .filter(|(id, m)| pick(**id, m, self.is_active(**id)));
        chosen.map(|(id, _)| *id).collect()
    }

    /// Stops appending to segment `id` if it is an active one (it is about to be
    /// drained: records moved out of it must go to another segment).
    pub fn stop_appending_to(&mut self, id: u32) {
        for slot in &mut self.active {
            slot.take_if(|s| s.id() == id);
        }
    }

    /// Takes segment `id`, drained, out of the live set.
    /// With `doom`, its row and file stay until [`Self::release_doomed`] (compaction);
    /// otherwise the caller deletes it after a durable commit (eviction).
    pub fn take_for_drain(&mut self, id: u32, doom: bool) {
        self.stop_appending_to(id);
        let meta = self.meta.remove(&id).unwrap_or_default();
        self.dirty_rows.insert(id);
        if doom {
            let sealed = SegmentMeta {
                sealed: true,
                ..meta
            };
            self.doomed.insert(id, sealed);
        }
    }

    /// Doomed segments now.
    pub fn doomed_ids(&self) -> Vec<u32> {
        self.doomed.keys().copied().collect()
    }

    /// Takes the doomed segments among `ids` out of the doomed set, for a commit that makes
    /// their moved copies durable; returns them. Their rows are removed by that commit.
    pub fn release_doomed(&mut self, ids: &[u32]) -> Vec<u32> {
        let released: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| self.doomed.remove(id).is_some())
            .collect();
        self.dirty_rows.extend(released.iter().copied());
        released
    }

    /// Takes what a checkpoint must sync: the segments written since the last one.
    pub fn take_unsynced(&mut self) -> Unsynced {
        let ids = std::mem::take(&mut self.unsynced);
        Unsynced {
            files: self.map.some(ids),
            sync_dir: std::mem::take(&mut self.dir_changed).then(|| self.dir.clone()),
        }
    }

    /// True when accounting or files changed since the last commit.
    pub fn has_changes(&self) -> bool {
        !self.dirty_rows.is_empty()
            || !self.unsynced.is_empty()
            || !self.doomed.is_empty()
            || self.dir_changed
    }

    /// Writes every dirty row into the segments table (removing rows of segments that are
    /// gone) and returns the next segment id, for the meta table.
    pub fn write_rows(
        &mut self,
        table: &mut redb::Table<u32, SegmentMeta>,
    ) -> Result<u32, redb::StorageError> {
        for id in &self.dirty_rows {
            // A drained segment keeps its row, up to date, until the commit that deletes it.
            match self.meta.get(id).or_else(|| self.doomed.get(id)) {
                Some(meta) => {
                    table.insert(id, meta)?;
                    self.indexed.insert(*id);
                }
                None => {
                    table.remove(id)?;
                }
            };
        }
        Ok(self.next_id)
    }

    /// The dirty rows were committed.
    pub fn rows_committed(&mut self) {
        self.dirty_rows.clear();
    }

    /// Deletes segment `id`, which no durable index state references any more. The file
    /// is unlinked now; its handle and mapping are dropped by the reaper thread.
    pub fn delete(&mut self, id: u32) {
        self.indexed.remove(&id);
        self.maintenance.remove(&id);
        if let Some(seg) = self.map.remove(id) {
            if let Err(e) = std::fs::remove_file(seg.path()) {
                log::warn!("could not delete segment {}: {e}", seg.path().display());
            }
            self.dir_changed = true;
            self.reaper.release(seg);
        }
    }

    /// Waits until the files deleted so far have given their space back (see
    /// [`Reaper::wait_for_releases`]).
    pub fn wait_for_releases(&self) {
        self.reaper.wait_for_releases();
    }

    /// Records that recovery removed or changed files and rows.
    pub(super) fn recovered(&mut self, dirty_rows: BTreeSet<u32>, dir_changed: bool) {
        self.dirty_rows.extend(dirty_rows);
        self.dir_changed |= dir_changed;
    }
}
