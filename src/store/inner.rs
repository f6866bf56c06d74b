//! The shared state of an open store and how it is opened.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use parking_lot::{Mutex, RwLock};
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::error::{Error, IndexResultExt, Result, index_err, io_err};
use crate::evict::access::AccessBits;
use crate::index::tables::{ACCESS, ENTRIES, EXPIRY, META, SEGMENTS, meta_keys};
use crate::index::{EntryLoc, SegmentMeta};
use crate::segment::Segment;
use crate::segment::file::parse_segment_file_name;
use crate::segment::format::FORMAT_VERSION;
use crate::store::checkpoint::BackgroundSignal;
use crate::store::config::{DEFAULT_CAPACITY, DiskStoreBuilder};
use crate::store::counters::Counters;
use crate::store::loc_cache::LocCache;
use crate::store::reaper::Reaper;

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

pub(crate) type PendingMap = HashMap<Box<[u8]>, Pending, ahash::RandomState>;

/// Index changes not yet in redb. `current` receives new changes; `committing` holds the
/// ones a checkpoint is making durable (their bytes are being synced). Readers look in
/// `current`, then `committing`, then the location cache, then redb.
///
/// redb never references bytes that were not synced: changes reach it only through a
/// checkpoint (after the sync) or as pure removals (eviction, sweep).
#[derive(Default)]
pub struct Staged {
    /// Changes since the last checkpoint began.
    pub current: PendingMap,
    /// Changes the running checkpoint is committing.
    pub committing: PendingMap,
}

impl Staged {
    /// The staged change for `key`, newest first.
    pub fn get(&self, key: &[u8]) -> Option<&Pending> {
        if self.current.is_empty() && self.committing.is_empty() {
            return None;
        }
        self.current.get(key).or_else(|| self.committing.get(key))
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.committing.is_empty()
    }
}

/// State only the writer touches, under `Inner::writer`.
#[derive(Debug, Default)]
pub struct Writer {
    /// Segment receiving appends.
    pub active: Option<Arc<Segment>>,
    /// Next segment id to allocate.
    pub next_segment_id: u32,
    /// Accounting of every segment, authoritative in memory, written at each commit.
    pub seg_meta: BTreeMap<u32, SegmentMeta>,
    /// Segments whose meta changed since the last commit.
    pub dirty_meta: BTreeSet<u32>,
    /// Segments the index file may refer to (a row in the segments table, so possibly
    /// entries too): every segment present at open, and every segment a commit wrote a row
    /// for. Evicting a segment not in here needs no index transaction: no committed entry
    /// can point into it.
    pub indexed: BTreeSet<u32>,
    /// Segments created by maintenance (compaction, eviction's moves): synced early, on
    /// the reaper thread, once sealed.
    pub maintenance_segments: BTreeSet<u32>,
    /// Segments written since the last durable sync.
    pub unsynced: BTreeSet<u32>,
    /// Segments drained by compaction, with their last accounting (the row stays, up to
    /// date, until they go), deleted by the first checkpoint that starts after the drain
    /// (it makes the moved copies durable first).
    pub doomed: BTreeMap<u32, SegmentMeta>,
    /// A segment file was created or deleted since the last directory sync.
    pub dir_changed: bool,
    /// Something changed since the last durable commit.
    pub dirty: bool,
    /// Set after an I/O failure on the write path.
    pub poisoned: Option<String>,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Segment size in bytes.
    pub segment_size: u64,
    /// Set while eviction or compaction runs, so their own rotations do not recurse.
    pub in_maintenance: bool,
    /// The store is closing: save everything (access bits included) at the last commit.
    pub closing: bool,
    /// When the access bits were last saved.
    pub access_saved_at: Option<std::time::Instant>,
}

/// Everything an open store shares between threads.
pub struct Inner {
    pub dir: PathBuf,
    pub segments_dir: PathBuf,
    pub index_path: PathBuf,
    pub config: DiskStoreBuilder,
    pub db: RwLock<Database>,
    pub access: AccessBits,
    pub segments: RwLock<HashMap<u32, Arc<Segment>>>,
    pub pending: RwLock<Staged>,
    /// One checkpoint at a time.
    pub checkpoint_lock: Mutex<()>,
    pub locs: LocCache,
    pub writer: Mutex<Writer>,
    pub counters: Counters,
    pub seq: AtomicU64,
    /// Closes deleted segment files off the writer's path.
    pub reaper: Reaper,
    /// Wakes the background (checkpoint) thread early.
    pub background: Arc<BackgroundSignal>,
    _lock: File,
}

/// Name of the index file.
pub const INDEX_FILE: &str = "index.redb";
/// Name of the lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Name of the segments directory.
pub const SEGMENTS_DIR: &str = "segments";

impl Inner {
    /// Opens (or creates) the store described by `config`.
    pub fn open(config: DiskStoreBuilder) -> Result<Self> {
        let dir = config.dir.clone();
        let index_path = dir.join(INDEX_FILE);
        prepare_dir(&dir, &index_path, config.create)?;
        let lock = lock_dir(&dir)?;
        let segments_dir = dir.join(SEGMENTS_DIR);
        std::fs::create_dir_all(&segments_dir)
            .map_err(io_err("create directory", &segments_dir))?;
        let db = open_db(&index_path)?;
        let (meta, seg_meta) = init_index(&db, &index_path, &config)?;
        let capacity = config.capacity_bytes.unwrap_or(meta.capacity);
        let mut writer = Writer {
            next_segment_id: meta.next_segment,
            indexed: seg_meta.keys().copied().collect(),
            seg_meta,
            capacity,
            segment_size: config.segment_size_for(capacity),
            ..Writer::default()
        };
        let segments = open_segments(&segments_dir, &mut writer)?;
        let counters = Counters::load(&db).map_err(index_err(&index_path))?;
        let access = AccessBits::for_capacity(capacity);
        if let Some(bits) = load_access_bits(&db).map_err(index_err(&index_path))? {
            access.restore(&bits);
        }
        Ok(Self {
            access,
            segments_dir,
            index_path,
            locs: LocCache::new(config.location_cache_entries),
            config,
            db: RwLock::new(db),
            segments: RwLock::new(segments),
            pending: RwLock::new(Staged::default()),
            checkpoint_lock: Mutex::new(()),
            writer: Mutex::new(writer),
            counters,
            seq: AtomicU64::new(meta.next_seq),
            reaper: Reaper::start(),
            background: Arc::default(),
            dir,
            _lock: lock,
        })
    }
}

/// Creates the directory when allowed, and refuses directories that are not stores.
fn prepare_dir(dir: &Path, index_path: &Path, create: bool) -> Result<()> {
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
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
    }
}

fn open_db(path: &Path) -> Result<Database> {
    // redb may panic on a file that is not a redb database at all; turn that into an error.
    let attempt = std::panic::catch_unwind(|| Database::builder().create(path));
    match attempt {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(Error::Index {
            path: path.to_path_buf(),
            message: format!(
                "cannot open the index ({e}); the file is damaged or not a stratacache index"
            ),
        }),
        Err(_) => Err(Error::Index {
            path: path.to_path_buf(),
            message: "cannot open the index: the file is damaged or not a stratacache index".into(),
        }),
    }
}

/// Settings read back from the meta table.
struct StoredMeta {
    capacity: u64,
    next_segment: u32,
    next_seq: u64,
}

/// Creates the tables on first open, checks the format version, and reads the segment table.
/// Commits (durably) only when something changed: a clean reopen writes nothing. A damaged
/// index that makes redb panic becomes an error.
fn init_index(
    db: &Database,
    path: &Path,
    config: &DiskStoreBuilder,
) -> Result<(StoredMeta, BTreeMap<u32, SegmentMeta>)> {
    let init = || read_or_create_meta(db, path, config);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(init)) {
        Ok(result) => result,
        Err(_) => Err(Error::Index {
            path: path.to_path_buf(),
            message: "the index is damaged (redb panicked while opening it)".into(),
        }),
    }
}

fn read_or_create_meta(
    db: &Database,
    path: &Path,
    config: &DiskStoreBuilder,
) -> Result<(StoredMeta, BTreeMap<u32, SegmentMeta>)> {
    let txn = db.begin_write().ix(path)?;
    let mut changed = false;
    let (stored, segs) = {
        let mut meta = txn.open_table(META).ix(path)?;
        txn.open_table(ENTRIES).ix(path)?;
        txn.open_table(EXPIRY).ix(path)?;
        let segments = txn.open_table(SEGMENTS).ix(path)?;
        let get = |m: &redb::Table<&str, u64>, k: &str| -> Result<Option<u64>> {
            Ok(m.get(k).ix(path)?.map(|v| v.value()))
        };
        match get(&meta, meta_keys::FORMAT_VERSION)? {
            Some(v) if v > FORMAT_VERSION as u64 => {
                let found = v.min(u32::MAX as u64) as u32;
                let supported = FORMAT_VERSION;
                return Err(Error::NewerFormat {
                    path: path.to_path_buf(),
                    found,
                    supported,
                });
            }
            Some(_) => {}
            None => {
                meta.insert(meta_keys::FORMAT_VERSION, FORMAT_VERSION as u64)
                    .ix(path)?;
                changed = true;
            }
        }
        let stored_cap = get(&meta, meta_keys::CAPACITY)?;
        let capacity = config
            .capacity_bytes
            .or(stored_cap)
            .unwrap_or(DEFAULT_CAPACITY);
        if stored_cap != Some(capacity) {
            meta.insert(meta_keys::CAPACITY, capacity).ix(path)?;
            changed = true;
        }
        let stored = StoredMeta {
            capacity,
            next_segment: get(&meta, meta_keys::NEXT_SEGMENT)?.unwrap_or(1) as u32,
            next_seq: get(&meta, meta_keys::NEXT_SEQ)?.unwrap_or(1),
        };
        let mut segs = BTreeMap::new();
        for row in segments.iter().ix(path)? {
            let (id, m) = row.ix(path)?;
            segs.insert(id.value(), m.value());
        }
        (stored, segs)
    };
    if changed {
        txn.commit().ix(path)?;
    } else {
        txn.abort().ix(path)?;
    }
    Ok((stored, segs))
}

/// Opens every segment the index knows, cuts the active one back to its durable length and
/// deletes files the index does not reference (written after the last durable commit).
fn open_segments(dir: &Path, w: &mut Writer) -> Result<HashMap<u32, Arc<Segment>>> {
    let mut open = HashMap::new();
    let mut empty_and_gone = Vec::new();
    let active_id = w
        .seg_meta
        .iter()
        .rev()
        .find(|(_, m)| !m.sealed)
        .map(|(id, _)| *id);
    for (&id, meta) in w.seg_meta.iter_mut() {
        let is_active = Some(id) == active_id;
        if !is_active && !meta.sealed {
            meta.sealed = true;
            w.dirty_meta.insert(id);
        }
        let reserve = is_active.then(|| w.segment_size.max(meta.len));
        match Segment::open(dir, id, meta.len, reserve).and_then(|s| {
            s.check_header().map_err(Error::Config)?;
            Ok(s)
        }) {
            Ok(seg) => {
                let seg = Arc::new(seg);
                if is_active {
                    w.active = Some(seg.clone());
                }
                open.insert(id, seg);
            }
            Err(_) if meta.live_count == 0 => {
                // Nothing refers to it (an eviction deleted the file just before a crash).
                empty_and_gone.push(id);
            }
            Err(e) => {
                log::warn!(
                    "segment {id} in {} is unusable, its entries will read as misses: {e}",
                    dir.display()
                );
                meta.sealed = true;
                w.dirty_meta.insert(id);
            }
        }
    }
    for id in empty_and_gone {
        w.seg_meta.remove(&id);
        w.dirty_meta.insert(id);
    }
    let entries = std::fs::read_dir(dir).map_err(io_err("read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", dir))?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(parse_segment_file_name) else {
            continue;
        };
        if !w.seg_meta.contains_key(&id) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io_err("remove orphan segment", &path))?;
            w.dir_changed = true;
        }
        w.next_segment_id = w.next_segment_id.max(id + 1);
    }
    Ok(open)
}

/// Reads the saved access bits, if any.
fn load_access_bits(db: &Database) -> Result<Option<Vec<u8>>, redb::Error> {
    let txn = db.begin_read()?;
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

/// Reads the committed location of `key` from redb.
/// A damaged index file can make redb panic; that becomes an [`Error::Index`] here.
pub fn read_index_loc(db: &Database, path: &Path, key: &[u8]) -> Result<Option<EntryLoc>> {
    let read = || -> Result<Option<EntryLoc>, redb::Error> {
        let txn = db.begin_read()?;
        let table = txn.open_table(ENTRIES)?;
        Ok(table.get(key)?.map(|g| g.value()))
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(result) => result.map_err(index_err(path)),
        Err(_) => Err(Error::Index {
            path: path.to_path_buf(),
            message: "the index is damaged (redb panicked while reading it)".into(),
        }),
    }
}
