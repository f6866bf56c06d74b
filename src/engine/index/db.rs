//! The open redb database, and the only place its transactions begin.
//!
//! A damaged index file can make redb panic instead of returning an error. Every
//! transaction therefore runs inside [`IndexDb::read`] or [`IndexDb::write`], which turn such
//! a panic into [`Error::Index`] naming the file, and map redb's errors the same way (redb's
//! error stays the source).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use redb::{
    Database, Durability, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    WriteTransaction,
};

use super::tables::{ENTRIES, ENTRIES_REWRITE, EntryLoc};
use crate::error::{Error, IndexError, IndexResultExt, Result};

/// Whether a write transaction's changes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Commit the transaction.
    Commit,
    /// Abort it: nothing changes.
    Abort,
}

/// A read transaction kept by its caller (see [`IndexDb::snapshot`]); only [`IndexDb`] reads
/// it, inside its panic guard.
pub struct Snapshot(ReadTransaction);

/// The index database and its path. Transactions run through closures, so none can
/// escape the panic guard.
pub struct IndexDb {
    db: RwLock<Database>,
    path: PathBuf,
    /// File length after the last look at its free space (see [`Self::compact_if_grown`]).
    checked_len: AtomicU64,
    /// The longest the file was seen since open (see [`Self::peak_len`]).
    peak_len: AtomicU64,
    /// The file's length when it was opened.
    open_len: u64,
    /// The entries table as the last commit left it, kept open between lookups (see
    /// [`Self::entry`]); dropped at every commit.
    entries_reader: RwLock<Option<ReadOnlyTable<&'static [u8], EntryLoc>>>,
    /// Commits so far: a table opened before one must not be kept.
    commits: AtomicU64,
}

/// Files smaller than this are never compacted: the saving would be small.
const MIN_COMPACT_LEN: u64 = 4 << 20;

impl IndexDb {
    /// Bytes of index pages redb holds in memory now (its read cache and write buffer).
    pub fn cache_bytes(&self) -> u64 {
        self.db.read().cache_stats().used_bytes() as u64
    }

    /// Opens (or creates) the index file at `path`.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self> {
        let damaged = |source| Error::Index {
            path: path.to_path_buf(),
            source,
        };
        match catch_unwind(|| Database::builder().set_cache_size(cache_bytes).create(path)) {
            Ok(Ok(db)) => {
                let open_len = std::fs::metadata(path).map_or(0, |m| m.len());
                Ok(Self {
                    db: RwLock::new(db),
                    path: path.to_path_buf(),
                    // The session that wrote the file compacted it at close if it had to:
                    // the first look is due once this session's writes grow it by half.
                    checked_len: AtomicU64::new(open_len),
                    peak_len: AtomicU64::new(0),
                    open_len,
                    entries_reader: RwLock::new(None),
                    commits: AtomicU64::new(0),
                })
            }
            Ok(Err(e)) => Err(damaged(IndexError::Unreadable(e.into()))),
            Err(_) => Err(damaged(IndexError::Damaged("opening it"))),
        }
    }

    /// Length of the index file in bytes (0 when it cannot be read).
    pub fn file_len(&self) -> u64 {
        let len = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        self.peak_len.fetch_max(len, Ordering::Relaxed);
        len
    }

    /// The longest [`Self::file_len`] returned since open. A compacted file grows back
    /// fast: with no free pages in it, a commit that changes most leaves needs room for
    /// their copies and for the pages the commit before freed, so the file may double
    /// twice. Capacity planning counts on the file reaching this length again.
    pub fn peak_len(&self) -> u64 {
        self.peak_len.load(Ordering::Relaxed)
    }

    /// Runs `body` in a read transaction.
    pub fn read<T>(
        &self,
        body: impl FnOnce(&ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        // The lock only guards the start: a read transaction lives on its own, so a long
        // scan never holds up index compaction (which takes the lock exclusively).
        let run = || -> Result<T, redb::Error> {
            let txn = self.db.read().begin_read()?;
            body(&txn)
        };
        self.guard("reading it", run)
    }

    /// The location of `key` as of the last commit. Lookups share one read transaction of
    /// the entries table, begun by the first lookup after a commit, where beginning one per
    /// lookup would cost more than the lookup (a transaction registers itself, and opening
    /// the table reads the table directory). Every commit drops it, so it holds back no
    /// more than one commit's freed pages.
    pub fn entry(&self, key: &[u8]) -> Result<Option<EntryLoc>> {
        self.guard("reading it", || {
            if let Some(table) = &*self.entries_reader.read() {
                return Ok(table.get(key)?.map(|g| g.value()));
            }
            let seen = self.commits.load(Ordering::Acquire);
            let table = self.db.read().begin_read()?.open_table(ENTRIES)?;
            let found = table.get(key)?.map(|g| g.value());
            let mut kept = self.entries_reader.write();
            // A commit since `seen` may be newer than the table: then it is not kept.
            if kept.is_none() && self.commits.load(Ordering::Acquire) == seen {
                *kept = Some(table);
            }
            Ok(found)
        })
    }

    /// After a commit: the kept entries table is older than the index now.
    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::AcqRel);
        *self.entries_reader.write() = None;
    }

    /// Begins a read transaction the caller keeps: a snapshot of the index taken at a moment
    /// the caller chose (say, under the writer lock, so that it agrees with the staged
    /// changes), read later through [`Self::read_snapshot`], after the lock is gone.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.guard("reading it", || Ok(Snapshot(self.db.read().begin_read()?)))
    }

    /// Runs `body` in a snapshot from [`Self::snapshot`].
    pub fn read_snapshot<T>(
        &self,
        snapshot: &Snapshot,
        body: impl FnOnce(&ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        self.guard("reading it", || body(&snapshot.0))
    }

    /// Runs `body` in a write transaction and commits it (durably when `durable`).
    pub fn write<T>(
        &self,
        durable: bool,
        body: impl FnOnce(&WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        self.transact(durable, |txn| Ok((body(txn)?, Outcome::Commit)))
    }

    /// Runs `body` in a write transaction, then commits (durably when `durable`) or aborts
    /// it as `body` decides.
    pub fn transact<T>(
        &self,
        durable: bool,
        body: impl FnOnce(&WriteTransaction) -> Result<(T, Outcome), redb::Error>,
    ) -> Result<T> {
        let db = self.db.read();
        let run = || -> Result<T, redb::Error> {
            let mut txn = db.begin_write()?;
            txn.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            })?;
            txn.set_quick_repair(durable);
            let (out, outcome) = body(&txn)?;
            match outcome {
                Outcome::Commit => {
                    txn.commit()?;
                    self.committed();
                }
                Outcome::Abort => txn.abort()?,
            }
            Ok(out)
        };
        self.guard("committing", run)
    }

    /// [`Self::compact_if_sparse`], only when the file grew by half since the last look at
    /// its free space: that look walks every page of the index, so it is not taken at each
    /// call on a store whose index keeps its size.
    pub fn compact_if_grown(&self) -> Result<bool> {
        let len = self.file_len();
        if len < self.checked_len.load(Ordering::Relaxed) / 2 * 3 {
            return Ok(false);
        }
        self.compact_if_sparse()
    }

    /// Compacts the file when it is over 4 MiB and more than half of it is unused.
    /// Returns whether it did. A reader holding a transaction makes it skip this round.
    pub fn compact_if_sparse(&self) -> Result<bool> {
        let compacted = self.compact_when_sparse(false);
        self.checked_len.store(self.file_len(), Ordering::Relaxed);
        compacted
    }

    /// At close, after a session whose writes grew the file by half (to over 4 MiB): when
    /// its leaves are less than 2/3 full, rewrites the entries table in key order (keys
    /// that arrive in random order leave B-tree leaves about 60% full; copied in order,
    /// they fill them); then, when more than half of the file is unused, compacts it.
    /// Nothing else may use the index meanwhile.
    pub fn compact_at_close(&self) -> Result<bool> {
        // Rewriting costs about 1.3 µs per entry: only after a session that grew the
        // file by half (a bulk load), so a restart of a large store that gained a few
        // entries closes at once.
        if self.file_len() < self.open_len / 2 * 3 {
            return Ok(false);
        }
        self.compact_when_sparse(true)
    }

    fn compact_when_sparse(&self, rewrite_entries: bool) -> Result<bool> {
        if self.file_len() < MIN_COMPACT_LEN {
            return Ok(false);
        }
        let mut db = self.db.write();
        // Compaction needs every read transaction gone, the kept one included (no other
        // can begin while the database is held).
        *self.entries_reader.write() = None;
        let stats = self.guard("reading its statistics", || {
            let txn = db.begin_write()?;
            let stats = txn.stats()?;
            txn.abort()?;
            Ok(stats)
        })?;
        // Pages in use, whatever their fill: a compacted file cannot be smaller.
        let page = stats.page_size() as u64;
        let used = stats.allocated_pages() * page;
        let sparse = used * 2 <= self.file_len();
        // Leaves less than 2/3 full (random-order inserts leave them about 60% full).
        let loose = rewrite_entries && stats.stored_bytes() * 3 < stats.leaf_pages() * page * 2;
        if !sparse && !loose {
            return Ok(false);
        }
        if loose {
            self.guard("rewriting its entries in key order", || {
                let mut txn = db.begin_write()?;
                txn.set_durability(Durability::Immediate)?;
                rewrite_in_key_order(&txn)?;
                txn.commit()?;
                self.committed();
                Ok(())
            })?;
        }
        match catch_unwind(AssertUnwindSafe(|| db.compact())) {
            Ok(Ok(done)) => Ok(done),
            // A reader still holds a transaction: try again at a later round.
            Ok(Err(redb::CompactionError::TransactionInProgress)) => Ok(false),
            Ok(Err(e)) => Err(e).ix(&self.path),
            Err(_) => Err(Error::Index {
                path: self.path.clone(),
                source: IndexError::Damaged("compacting it"),
            }),
        }
    }

    /// Runs `run`, mapping redb's errors and panics to [`Error::Index`].
    fn guard<T>(
        &self,
        doing: &'static str,
        run: impl FnOnce() -> Result<T, redb::Error>,
    ) -> Result<T> {
        match catch_unwind(AssertUnwindSafe(run)) {
            Ok(result) => result.ix(&self.path),
            Err(_) => Err(Error::Index {
                path: self.path.clone(),
                source: IndexError::Damaged(doing),
            }),
        }
    }
}

/// Copies the entries table into a new one in key order, then puts the copy in its place
/// (within `txn`: all or nothing).
fn rewrite_in_key_order(txn: &WriteTransaction) -> Result<(), redb::Error> {
    // The copy starts empty whatever the file holds (no commit ever leaves one behind).
    txn.delete_table(ENTRIES_REWRITE)?;
    {
        let old = txn.open_table(ENTRIES)?;
        let mut copy = txn.open_table(ENTRIES_REWRITE)?;
        for row in old.iter()? {
            let (key, loc) = row?;
            copy.insert(key.value(), loc.value())?;
        }
    }
    txn.delete_table(ENTRIES)?;
    txn.rename_table(ENTRIES_REWRITE, ENTRIES)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic inside redb (a damaged file can cause one) becomes `Error::Index` naming the
    /// file, for every way the engine reads the index: listing, stats and verify go through
    /// `read` or `read_snapshot`.
    #[test]
    fn a_panic_while_reading_is_a_damaged_index_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.redb");
        let db = IndexDb::open(&path, 1 << 20).unwrap();
        let read = db.read(|_| -> Result<(), redb::Error> { panic!("damaged page") });
        let snapshot = db.snapshot().unwrap();
        let in_snapshot = db.read_snapshot(&snapshot, |_| -> Result<(), redb::Error> {
            panic!("damaged page")
        });
        for result in [read, in_snapshot] {
            match result {
                Err(Error::Index { path: p, source }) => {
                    assert_eq!(p, path);
                    assert!(matches!(source, IndexError::Damaged("reading it")));
                }
                other => panic!("expected a damaged index error, got {other:?}"),
            }
        }
        // The database goes on working after the caught panic.
        db.write(true, |_| Ok(())).unwrap();
        assert!(db.read(|_| Ok(())).is_ok());
    }
}
