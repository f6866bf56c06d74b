//! Opening the segments at store open: the index's segment table says which exist. The
//! active segment is cut back to its durable length, and files the index does not know
//! (written after the last durable commit) are deleted. Nothing else is scanned, so open
//! stays O(1) in the number of entries (DESIGN invariant 4).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::file::{Segment, parse_segment_file_name};
use super::map::SegmentMap;
use super::meta::{Log, SegmentMeta};
use super::writer::{SegmentWriter, WriterConfig};
use crate::error::{Error, Result, io_err};

impl SegmentWriter {
    /// Opens every segment in `meta` (the index's segment table) inside `dir`, and returns
    /// the writer over them (new files readable by whom `sharing` says). `next_id` is the allocation state the index recorded.
    pub fn recover(
        dir: &Path,
        config: WriterConfig,
        map: Arc<SegmentMap>,
        mut meta: BTreeMap<u32, SegmentMeta>,
        mut next_id: u32,
    ) -> Result<Self> {
        let segment_size = config.segment_size;
        config
            .sharing
            .create_dir_all(dir)
            .map_err(io_err("create directory", dir))?;
        let mut dirty_rows = BTreeSet::new();
        let (open, active) = open_known(dir, &mut meta, &mut dirty_rows, segment_size);
        let mut dir_changed = false;
        let entries = std::fs::read_dir(dir).map_err(io_err("read directory", dir))?;
        for entry in entries {
            let entry = entry.map_err(io_err("read directory", dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(parse_segment_file_name) else {
                continue;
            };
            if !meta.contains_key(&id) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(io_err("remove orphan segment", &path))?;
                dir_changed = true;
            }
            next_id = next_id.max(id + 1);
        }
        map.replace_all(open);
        let mut writer = SegmentWriter::new(dir, config, map, meta, next_id);
        for (segment, log) in active {
            writer.set_active(segment, log);
        }
        writer.recovered(dirty_rows, dir_changed);
        Ok(writer)
    }
}

/// An active segment recovery found, and its log.
type ActiveSegment = (Arc<Segment>, Log);

/// Opens the segments the index knows. The newest unsealed one of each log is that log's
/// active segment (cut back to its recorded length); any other unsealed one is sealed. A missing file with no
/// live records is forgotten; one with live records is kept sealed, its entries reading
/// as misses.
fn open_known(
    dir: &Path,
    meta: &mut BTreeMap<u32, SegmentMeta>,
    dirty_rows: &mut BTreeSet<u32>,
    segment_size: u64,
) -> (HashMap<u32, Arc<Segment>>, Vec<ActiveSegment>) {
    let mut open = HashMap::new();
    let mut active = Vec::new();
    let mut empty_and_gone = Vec::new();
    let newest_unsealed = |log: Log| {
        let found = meta.iter().rev().find(|(_, m)| !m.sealed && m.log == log);
        found.map(|(id, _)| *id)
    };
    let active_ids = Log::ALL.map(newest_unsealed);
    for (&id, m) in meta.iter_mut() {
        let is_active = active_ids.contains(&Some(id));
        if !is_active && !m.sealed {
            m.sealed = true;
            dirty_rows.insert(id);
        }
        let reserve = is_active.then(|| segment_size.max(m.len));
        match Segment::open(dir, id, m.len, reserve).and_then(|s| {
            s.check_header().map_err(Error::Config)?;
            Ok(s)
        }) {
            Ok(seg) => {
                let seg = Arc::new(seg);
                if is_active {
                    active.push((seg.clone(), m.log));
                }
                open.insert(id, seg);
            }
            Err(_) if m.live_count == 0 => {
                // Nothing refers to it (an eviction deleted the file just before a crash).
                empty_and_gone.push(id);
            }
            Err(e) => {
                log::warn!(
                    "segment {id} in {} is unusable, its entries will read as misses: {e}",
                    dir.display()
                );
                m.sealed = true;
                dirty_rows.insert(id);
            }
        }
    }
    for id in empty_and_gone {
        meta.remove(&id);
        dirty_rows.insert(id);
    }
    (open, active)
}
