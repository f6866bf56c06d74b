//! The public handle of the disk engine.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::background::Checkpointer;
use super::list::{EntryInfo, EntryRef, ListPage};
use super::maintenance::CompactReport;
use super::read::ValueRef;
use super::state::Engine;
use super::stats::Stats;
use super::verify::VerifyReport;
use super::write::BatchItem;
use crate::error::Result;

/// A persistent key-value cache on local disk: a redb index plus mmapped, append-only
/// segment files. `Send + Sync`: share it with an `Arc`; readers run in parallel with the
/// writer.
///
/// Dropping a store flushes it, like [`DiskStore::close`], and saves its counters; but
/// drop cannot return an error, so it only logs one. Call `close()` to see it.
///
/// ```
/// # fn main() -> stratacache::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = stratacache::DiskStore::builder(dir.path()).capacity_bytes(64 << 20).open()?;
/// store.insert("page-1", b"hello")?;
/// assert_eq!(&*store.get("page-1")?.unwrap(), b"hello");
/// store.flush()?; // durable from here on, even after a crash
/// # Ok(()) }
/// ```
pub struct DiskStore {
    inner: Arc<Engine>,
    checkpointer: Option<Checkpointer>,
    /// Shut down already (by `close` or a simulated crash): dropping does nothing more.
    closed: bool,
}

impl std::fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl DiskStore {
    /// Starts an opened engine: evicts down to its capacity, then starts the background
    /// thread.
    pub(super) fn start(engine: Engine) -> Result<Self> {
        let interval = engine.settings.checkpoint_interval;
        let inner = Arc::new(engine);
        // A capacity smaller than what is stored takes effect at once.
        inner.enforce_capacity()?;
        let checkpointer = interval
            .map(|i| Checkpointer::start(Arc::downgrade(&inner), inner.background.clone(), i));
        Ok(Self {
            inner,
            checkpointer,
            closed: false,
        })
    }

    /// One page of the live entries whose keys start with `prefix`, after the key `after`
    /// (from the start when `None`), looking at up to `budget` index rows: a cursor over the
    /// index that holds one page in memory, however many keys match. Continue with
    /// `page.next_after` until it is `None`.
    pub fn list_page(
        &self,
        prefix: impl AsRef<[u8]>,
        after: Option<&[u8]>,
        budget: usize,
    ) -> Result<ListPage> {
        self.inner.list_page(prefix.as_ref(), after, budget)
    }

    /// Like [`DiskStore::list_page`], handing each live entry (its key borrowed from the
    /// index, no allocation per entry) to `visit` instead of collecting them; `visit`
    /// returns false to stop. Returns where the next page starts, `None` at the end (or
    /// when `visit` stopped). `visit` runs inside a read transaction of the index: it
    /// should not block for long.
    pub fn visit_page(
        &self,
        prefix: impl AsRef<[u8]>,
        after: Option<&[u8]>,
        budget: usize,
        visit: impl FnMut(EntryRef<'_>) -> bool,
    ) -> Result<Option<Vec<u8>>> {
        self.inner.visit_page(prefix.as_ref(), after, budget, visit)
    }

    /// The largest value this store accepts, in bytes.
    pub fn max_value_size(&self) -> usize {
        self.inner.settings.max_value_size
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Stores `value` under `key` with no expiry, replacing any previous value.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<()> {
        self.insert_at(key.as_ref(), value, 0)
    }

    /// Stores `value` under `key`, expiring `ttl` from now.
    pub fn insert_with_ttl(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<()> {
        let expires_at = self
            .inner
            .now_ms()
            .saturating_add(ttl.as_millis() as u64)
            .max(1);
        self.insert_at(key.as_ref(), value, expires_at)
    }

    /// Stores `value` under `key` with an absolute expiry in ms since the Unix epoch
    /// (0 = never).
    pub fn insert_expiring_at(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        expires_at_ms: u64,
    ) -> Result<()> {
        self.insert_at(key.as_ref(), value, expires_at_ms)
    }

    /// Stores several values with no expiry, replacing previous values. Cheaper than one
    /// `insert` each: one positional write per segment the batch lands in, and one lock.
    /// A bad key or value (empty, too long, too large) fails the whole batch before
    /// anything is written. Durable after the next checkpoint, like `insert`.
    pub fn insert_many<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, items: &[(K, V)]) -> Result<()> {
        let items: Vec<BatchItem<'_>> = items
            .iter()
            .map(|(k, v)| (k.as_ref(), &[][..], v.as_ref(), 0))
            .collect();
        self.inner.insert_batch(&items)
    }

    /// [`DiskStore::insert_many`] with an absolute expiry per value, in ms since the Unix
    /// epoch (0 = never): `(key, value, expires_at_ms)`.
    pub fn insert_many_expiring_at(&self, items: &[(&[u8], &[u8], u64)]) -> Result<()> {
        let items: Vec<BatchItem<'_>> = items
            .iter()
            .map(|&(k, v, at)| (k, &[][..], v, at))
            .collect();
        self.inner.insert_batch(&items)
    }

    /// Stores `value` with `meta` kept beside it (the tiered cache's TTL and tags); a plain
    /// [`DiskStore::get`] returns `value` alone.
    pub(crate) fn insert_with_meta(
        &self,
        key: &[u8],
        meta: &[u8],
        value: &[u8],
        expires_at: u64,
    ) -> Result<()> {
        let rec = self.inner.encode(key, meta, value, expires_at)?;
        self.inner.insert_encoded(key, &rec)
    }

    /// Several [`DiskStore::insert_with_meta`] at once: `(key, meta, value, expires_at)`.
    pub(crate) fn insert_many_with_meta(&self, items: &[BatchItem<'_>]) -> Result<()> {
        self.inner.insert_batch(items)
    }

    fn insert_at(&self, key: &[u8], value: &[u8], expires_at: u64) -> Result<()> {
        self.insert_with_meta(key, &[], value, expires_at)
    }

    /// Sets when `key` expires, as an absolute time in ms since the Unix epoch on the
    /// store's clock (0 = never), without rewriting the value: one index change. A time
    /// already past removes the key, as an expiry would. Returns the previous expiry
    /// (`Some(0)` for none), or `None` when `key` is absent or expired (nothing changes).
    pub fn set_expires_at(&self, key: impl AsRef<[u8]>, expires_at_ms: u64) -> Result<Option<u64>> {
        self.inner.set_expiry(key.as_ref(), expires_at_ms)
    }

    /// Makes `key` expire `ttl` from now (an index change, not a rewrite). False when
    /// `key` is absent or expired.
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Duration) -> Result<bool> {
        let at = self
            .inner
            .now_ms()
            .saturating_add(ttl.as_millis() as u64)
            .max(1);
        Ok(self.set_expires_at(key, at)?.is_some())
    }

    /// Removes the expiry of `key`. True when `key` had one (as Redis's `PERSIST`).
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self
            .set_expires_at(key, 0)?
            .is_some_and(|before| before != 0))
    }

    /// Remaining time to live of `key`: `Some(None)` when it never expires, `None` when
    /// absent or expired.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Option<Duration>>> {
        let now = self.inner.now_ms();
        Ok(self
            .expires_at(key)?
            .map(|at| (at != 0).then(|| Duration::from_millis(at.saturating_sub(now)))))
    }

    /// The value under `key`, or `None` when absent, expired or found corrupt.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<ValueRef>> {
        self.inner.get(key.as_ref())
    }

    /// Absolute expiry of `key` in ms since the Unix epoch: `Some(0)` for no expiry,
    /// `None` when absent or expired.
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
        let now = self.inner.now_ms();
        Ok(self
            .inner
            .lookup(key.as_ref())?
            .filter(|l| !l.is_expired(now))
            .map(|l| l.expires_at))
    }

    /// The clock this store reads time from (TTLs are absolute times on it).
    pub fn clock(&self) -> std::sync::Arc<dyn crate::clock::Clock> {
        self.inner.settings.clock.clone()
    }

    /// Removes every entry whose key starts with `prefix` (an index range scan, so the
    /// cost follows the number of matching keys). Returns how many live entries went.
    pub fn remove_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<usize> {
        let prefix = prefix.as_ref();
        let mut removed = 0;
        let mut after: Option<Vec<u8>> = None;
        // A page at a time: memory stays bounded whatever the prefix covers.
        loop {
            let page = self.inner.list_page(prefix, after.as_deref(), LIST_PAGE)?;
            for entry in &page.entries {
                removed += usize::from(self.inner.remove(&entry.key)?);
            }
            match page.next_after {
                Some(key) => after = Some(key),
                None => return Ok(removed),
            }
        }
    }

    /// The live entries whose keys start with `prefix`, in key order, read from the index a
    /// page at a time: memory stays bounded however many match (unlike [`DiskStore::list`],
    /// which collects them all).
    pub fn scan(&self, prefix: impl AsRef<[u8]>) -> Scan<'_> {
        Scan {
            store: self,
            prefix: prefix.as_ref().to_vec(),
            after: None,
            page: Vec::new().into_iter(),
            done: false,
        }
    }

    /// Named numbers kept with the index for the layers above (for example the tiered
    /// cache's tag generations), in name order. They are never evicted.
    pub fn user_meta(&self) -> Result<Vec<(String, u64)>> {
        self.inner.user_meta()
    }

    /// Sets a named number kept with the index; durable when this returns.
    pub fn set_user_meta(&self, name: &str, value: u64) -> Result<()> {
        self.inner.set_user_meta(name, value)
    }

    /// One named number kept with the index (a point lookup: its cost does not grow with
    /// the number of names).
    pub fn user_meta_get(&self, name: &str) -> Result<Option<u64>> {
        self.inner.user_meta_get(name)
    }

    /// Hands the named numbers whose names start with `prefix` to `visit`, in name order,
    /// until it returns false (one read transaction; `visit` should not block).
    pub fn visit_user_meta(
        &self,
        prefix: &str,
        visit: impl FnMut(&str, u64) -> bool,
    ) -> Result<()> {
        self.inner.visit_user_meta(prefix, visit)
    }

    /// Sets the named numbers of `set` and removes those named in `remove`, in one durable
    /// commit.
    pub fn update_user_meta(&self, set: &[(&str, u64)], remove: &[&str]) -> Result<()> {
        self.inner.update_user_meta(set, remove)
    }

    /// A named blob kept with the index, if one was saved.
    pub fn user_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.inner.user_blob(name)
    }

    /// Saves a named blob with the index, replacing the previous one; durable when this
    /// returns. Blobs are never evicted; their bytes count towards the capacity (they are
    /// part of the index file).
    pub fn set_user_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.inner.set_user_blob(name, bytes)
    }

    /// Removes `key`; true when a live value was removed.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.inner.remove(key.as_ref())
    }

    /// True when `key` holds a value that has not expired.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.inner.contains_key(key.as_ref())
    }

    /// Makes every write and remove acknowledged so far durable: segments are synced, then
    /// the index is committed durably.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// A snapshot of sizes and lifetime counters.
    pub fn stats(&self) -> Result<Stats> {
        self.inner.stats()
    }

    /// Checks the CRC of every record the index references. Each bad record adds one to the
    /// `corruptions` counter; the entries stay until read (or [`Self::verify_and_repair`]).
    pub fn verify(&self) -> Result<VerifyReport> {
        self.inner.verify(false, &mut |_, _| {})
    }

    /// Like [`Self::verify`], and removes every bad entry (durably).
    pub fn verify_and_repair(&self) -> Result<VerifyReport> {
        self.inner.verify(true, &mut |_, _| {})
    }

    /// [`Self::verify`] with a progress callback `(checked, total)`.
    pub fn verify_with_progress(
        &self,
        repair: bool,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport> {
        self.inner.verify(repair, progress)
    }

    /// Every live entry whose key starts with `prefix` (empty: all), in key order, with its
    /// sizes and expiry. Keys and metadata only; values stay on disk.
    pub fn list(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<EntryInfo>> {
        self.inner.list(prefix.as_ref())
    }

    /// Now, by the store's clock, in ms since the Unix epoch (for remaining-TTL displays).
    pub fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }

    /// Deletes every expired entry now (the background sweeper does this every
    /// `sweep_interval`); returns how many were removed. Cost grows with the number expired.
    pub fn sweep_expired(&self) -> Result<usize> {
        self.inner.sweep_expired()
    }

    /// Rewrites segments whose live ratio is below the compaction threshold, deletes their
    /// files, and compacts the index file when it is mostly free space.
    pub fn compact(&self) -> Result<CompactReport> {
        self.inner.compact(false)
    }

    /// Rewrites every segment, active one included, so disk usage matches live data.
    pub fn compact_all(&self) -> Result<CompactReport> {
        self.inner.compact(true)
    }

    /// Changes the capacity (recorded in the store); a smaller one evicts down to it now.
    pub fn set_capacity(&self, capacity_bytes: u64) -> Result<()> {
        crate::limits::check_capacity(capacity_bytes)?;
        self.inner.set_capacity(capacity_bytes)
    }

    /// Drops the store without its final commit, as a crash would (staged changes and
    /// everything after the last durable commit may be lost). For fuzzing and tests.
    #[doc(hidden)]
    pub fn crash_for_testing(mut self) {
        if let Some(mut c) = self.checkpointer.take() {
            c.stop();
        }
        self.inner.writer.lock().poison_with("simulated crash");
        self.closed = true;
    }

    /// Flushes, saves the counters and closes the store, reporting any error. After a
    /// session whose writes grew the index file by half (a bulk load), the index is made
    /// compact: its entries are rewritten in key order when random-order inserts left its
    /// leaves loose, and the file is compacted when most of it is free pages. That takes
    /// about 1.1-1.4 µs per entry (11-14 s for 10M entries) and brings the index from about
    /// 97 to 57 bytes per entry of a 20-byte key. Other sessions close at once. Dropping
    /// the store does the same.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(mut c) = self.checkpointer.take() {
            c.stop();
        }
        let inner = &self.inner;
        {
            let mut w = inner.writer.lock();
            // Writes since the failure that poisoned the store were refused; say so.
            w.check_writable()?;
            w.set_closing();
        }
        // Skipped when there is nothing to save: a read-nothing session writes nothing.
        inner.flush()?;
        // Everything is saved: a compaction that fails costs disk space, not data, so it
        // is reported in the log rather than as a failed close.
        if let Err(e) = inner.index.compact_at_close() {
            log::warn!(
                "stratacache at {}: compacting the index at close failed: {e}",
                inner.dir.display()
            );
        }
        Ok(())
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Err(e) = self.shutdown() {
            log::error!(
                "stratacache: closing {} failed: {e}",
                self.inner.dir.display()
            );
        }
    }
}

/// Index rows one page of [`DiskStore::scan`] and `remove_prefix` read.
const LIST_PAGE: usize = 4096;

/// The iterator of [`DiskStore::scan`].
pub struct Scan<'a> {
    store: &'a DiskStore,
    prefix: Vec<u8>,
    after: Option<Vec<u8>>,
    page: std::vec::IntoIter<EntryInfo>,
    done: bool,
}

impl Iterator for Scan<'_> {
    type Item = Result<EntryInfo>;

    fn next(&mut self) -> Option<Result<EntryInfo>> {
        loop {
            if let Some(entry) = self.page.next() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            let page =
                match self
                    .store
                    .inner
                    .list_page(&self.prefix, self.after.as_deref(), LIST_PAGE)
                {
                    Ok(page) => page,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                };
            self.done = page.next_after.is_none();
            self.after = page.next_after;
            self.page = page.entries.into_iter();
        }
    }
}
