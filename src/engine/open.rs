//! Opening a store: check the directory, take its lock, open the index and the segments.
//! O(1) in the number of entries (DESIGN invariant 4).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{ReadableTable, WriteTransaction};

use crate::engine::index::tables::{ACCESS, ENTRIES, EXPIRY, META, SEGMENTS, meta_keys};
use crate::engine::index::{IndexDb, Outcome};
use crate::engine::segment::format::FORMAT_VERSION;
use crate::engine::segment::{SegmentMap, SegmentMeta, SegmentWriter, WriterConfig};
use crate::engine::state::{
    Counters, Engine, EngineParts, Eviction, Settings, SpaceReserve, WriterState,
};
use crate::error::{Error, Result, io_err};
use crate::limits::DEFAULT_CAPACITY;
use crate::permissions::Sharing;

/// Name of the index file.
pub const INDEX_FILE: &str = "index.redb";
/// Name of the lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Name of the segments directory.
pub const SEGMENTS_DIR: &str = "segments";

/// Opens (or creates, when `create`) the store in `dir`, recording `capacity_bytes` when
/// given.
pub fn open_engine(
    dir: PathBuf,
    capacity_bytes: Option<u64>,
    create: bool,
    settings: Settings,
) -> Result<Engine> {
    let index_path = dir.join(INDEX_FILE);
    let sharing = settings.sharing;
    prepare_dir(&dir, &index_path, create, sharing)?;
    let lock = lock_dir(&dir, sharing)?;
    let segments_dir = dir.join(SEGMENTS_DIR);
    sharing
        .create_dir_all(&segments_dir)
        .map_err(io_err("create directory", &segments_dir))?;
    create_file(&index_path, sharing, "create index")?;
    let memory = settings.memory_plan();
    let index = IndexDb::open(&index_path, memory.index_cache_bytes)?;
    let (meta, seg_meta) =
        match index.transact(true, |txn| read_or_create_meta(txn, capacity_bytes))? {
            MetaRead::Found(meta, seg_meta) => (meta, seg_meta),
            MetaRead::NewerFormat(found) => {
                return Err(Error::NewerFormat {
                    path: index_path,
                    found,
                    supported: FORMAT_VERSION,
                });
            }
        };
    let map = Arc::new(SegmentMap::default());
    let segment_size = settings.segment_size_for(meta.capacity);
    let config = WriterConfig {
        sharing,
        clock: settings.clock.clone(),
        segment_size,
        faults: settings.faults.clone(),
    };
    let segments = SegmentWriter::recover(
        &segments_dir,
        config,
        map.clone(),
        seg_meta,
        meta.next_segment,
    )?;
    let counters = index.read(Counters::load)?;
    let eviction = Eviction::new(
        settings.eviction_policy,
        meta.capacity.min(memory.policy_capacity),
    );
    if let Some(saved) = index.read(load_access_bits)? {
        eviction.restore(&saved);
    }
    Ok(Engine::new(EngineParts {
        writer: WriterState::new(
            &dir,
            segments,
            SpaceReserve::open(&dir, meta.capacity, sharing),
            meta.capacity,
        ),
        dir,
        settings,
        index,
        segments: map,
        counters,
        eviction,
        next_seq: meta.next_seq,
        lock,
    }))
}

/// Creates the directory when allowed, and refuses directories that are not stores.
fn prepare_dir(dir: &Path, index_path: &Path, create: bool, sharing: Sharing) -> Result<()> {
    if index_path.exists() {
        return Ok(());
    }
    let is_empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io_err("read directory", dir)(e)),
    };
    if !is_empty {
        // A store that crashed during its very first open may hold only these.
        let only_ours = std::fs::read_dir(dir)
            .map_err(io_err("read directory", dir))?
            .filter_map(|e| e.ok())
            .all(|e| e.file_name() == LOCK_FILE || e.file_name() == SEGMENTS_DIR);
        if !only_ours {
            return Err(Error::NotACache {
                dir: dir.to_path_buf(),
            });
        }
    }
    if !create {
        return Err(Error::NoStore {
            dir: dir.to_path_buf(),
        });
    }
    sharing
        .create_dir_all(dir)
        .map_err(io_err("create directory", dir))
}

/// Creates `path` empty with the store's permissions unless it exists (redb then
/// initialises an empty file as a new database).
fn create_file(path: &Path, sharing: Sharing, op: &'static str) -> Result<()> {
    match sharing
        .file_options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => sharing.created_file(path).map_err(io_err(op, path)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(op, path)(e)),
    }
}

fn lock_dir(dir: &Path, sharing: Sharing) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    create_file(&path, sharing, "create lock file")?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the error a second opener gets. Best effort: the lock is
            // what counts, not the note.
            let _ = file
                .set_len(0)
                .and_then(|()| file.write_all_at(std::process::id().to_string().as_bytes(), 0));
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut note = String::new();
            let _ = file.read_to_string(&mut note);
            Err(Error::Locked {
                dir: dir.to_path_buf(),
                holder: note.trim().parse().ok(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
    }
}

/// Settings read back from the meta table.
struct StoredMeta {
    capacity: u64,
    next_segment: u32,
    next_seq: u64,
}

/// What the meta table says.
enum MetaRead {
    /// The settings and the segment table.
    Found(StoredMeta, BTreeMap<u32, SegmentMeta>),
    /// The index has this newer format version.
    NewerFormat(u32),
}

/// Creates the tables on first open, checks the format version, and reads the segment
/// table. Commits (durably) only when something changed: a clean reopen writes nothing.
fn read_or_create_meta(
    txn: &WriteTransaction,
    capacity_bytes: Option<u64>,
) -> Result<(MetaRead, Outcome), redb::Error> {
    let mut changed = false;
    let mut meta = txn.open_table(META)?;
    txn.open_table(ENTRIES)?;
    txn.open_table(EXPIRY)?;
    let segments = txn.open_table(SEGMENTS)?;
    let get = |m: &redb::Table<&str, u64>, k: &str| -> Result<Option<u64>, redb::Error> {
        Ok(m.get(k)?.map(|v| v.value()))
    };
    match get(&meta, meta_keys::FORMAT_VERSION)? {
        Some(v) if v > FORMAT_VERSION as u64 => {
            let found = v.min(u32::MAX as u64) as u32;
            return Ok((MetaRead::NewerFormat(found), Outcome::Abort));
        }
        Some(v) if v == FORMAT_VERSION as u64 => {}
        // A format 1 store is read as it is (its records say which layout they have); new
        // records are format 2, so builds that only know format 1 must refuse it from now on.
        Some(_) | None => {
            meta.insert(meta_keys::FORMAT_VERSION, FORMAT_VERSION as u64)?;
            changed = true;
        }
    }
    let stored_cap = get(&meta, meta_keys::CAPACITY)?;
    let capacity = capacity_bytes.or(stored_cap).unwrap_or(DEFAULT_CAPACITY);
    if stored_cap != Some(capacity) {
        meta.insert(meta_keys::CAPACITY, capacity)?;
        changed = true;
    }
    let stored = StoredMeta {
        capacity,
        next_segment: get(&meta, meta_keys::NEXT_SEGMENT)?.unwrap_or(1) as u32,
        next_seq: get(&meta, meta_keys::NEXT_SEQ)?.unwrap_or(1),
    };
    let mut segs = BTreeMap::new();
    for row in segments.iter()? {
        let (id, m) = row?;
        segs.insert(id.value(), m.value());
    }
    let outcome = if changed {
        Outcome::Commit
    } else {
        Outcome::Abort
    };
    Ok((MetaRead::Found(stored, segs), outcome))
}

/// Reads the saved access bits, if any.
fn load_access_bits(txn: &redb::ReadTransaction) -> Result<Option<Vec<u8>>, redb::Error> {
    let table = match txn.open_table(ACCESS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut packed = Vec::new();
    for row in table.iter()? {
        packed.extend_from_slice(row?.1.value());
    }
    // Damaged or foreign bits only cost recency: start without them.
    Ok(lz4_flex::block::decompress_size_prepended(&packed).ok())
}
