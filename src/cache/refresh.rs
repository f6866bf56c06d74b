//! Refresh-ahead: `get_with_refresh` serves a hit at once and, when little of its TTL is
//! left, reloads it on one of the cache's refresh threads (`load::Refresher`) with the
//! options the value was loaded with, so the new value keeps its tags and placement.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use quanta::Instant;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::core::Found;
use crate::cache::handle::Cache;
use crate::cache::load::{Job, LoadError, Refresher};
use crate::cache::loader::PanicWatch;
use crate::cache::policy::InsertOptions;
use crate::cache::stats::{Op, bump};

impl Cache {
    /// [`Cache::get_with`] with refresh-ahead: when a hit has less than the configured
    /// fraction of its TTL left ([`CacheBuilder::refresh_ahead`](crate::CacheBuilder::refresh_ahead)),
    /// the current value is returned and `loader` runs in the background to replace it
    /// (one refresh per key at a time). The loader must therefore be `Send + 'static`.
    ///
    /// A refresh keeps the TTL the value was written with and its tags (so
    /// [`Cache::invalidate_tag`] still retires it); use
    /// [`Cache::get_with_refresh_options`] to give TTL, tags and placement yourself.
    pub fn get_with_refresh<T, F>(
        &self,
        key: impl AsRef<[u8]>,
        loader: F,
    ) -> crate::error::Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.get_with_refresh_options(key, &InsertOptions::default(), loader)
    }

    /// [`Cache::get_with_refresh`] storing both the first load and every refresh with
    /// `options` (TTL, tags, placement). A refresh also keeps the tags the stored value
    /// carries, and its TTL when `options` sets none.
    ///
    /// Refreshes run on two threads per cache, started by the first refresh, with up to 64
    /// more waiting; a refresh that finds the queue full is dropped (counted in
    /// `refreshes_dropped`): the hit is served as usual and a later hit asks again. The
    /// threads end when the last handle of the cache is gone.
    pub fn get_with_refresh_options<T, F>(
        &self,
        key: impl AsRef<[u8]>,
        options: &InsertOptions,
        loader: F,
    ) -> crate::error::Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        if let Some((found, value)) = self.inner.lookup_decoded::<T>(key) {
            if self.inner.wants_refresh(&found) {
                self.refresh_in_background(key, refresh_options(options, &found), loader);
            }
            self.inner.record(Op::GetWith, started);
            return Ok(value);
        }
        let result = match self.load_once(key, options, || Ok::<T, Infallible>(loader())) {
            Ok(value) => Ok(value),
            Err(LoadError::Cache(e)) => Err(e),
            Err(LoadError::Loader(never)) => match *never {},
        };
        self.inner.record(Op::GetWith, started);
        result
    }

    /// Queues a reload of `key` unless one is already running; drops it (counted) when
    /// the refresh queue is full.
    fn refresh_in_background<T, F>(&self, key: &[u8], options: InsertOptions, loader: F)
    where
        T: Serialize + Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let Some(leader) = self.inner.flights.try_lead(key) else {
            return;
        };
        // Weak: a queued refresh does not keep a dropped cache open; it then ends with
        // its leader dropped (the flight abandoned).
        let cache = Arc::downgrade(&self.inner);
        let key = key.to_vec();
        let job: Job = Box::new(move || {
            let Some(inner) = cache.upgrade() else {
                return;
            };
            bump(&inner.counters.loader_calls);
            let value = {
                let _watch = PanicWatch(&inner.counters.loader_panics);
                loader()
            };
            if let Err(e) = inner.store_loaded(&key, &options, &value, leader) {
                bump(&inner.counters.errors);
                log::warn!(
                    "stratacache: refresh of {:?} could not store its value: {e}",
                    String::from_utf8_lossy(&key)
                );
            }
        });
        let counters = &self.inner.counters;
        match self
            .inner
            .refresher
            .get_or_init(Refresher::start)
            .submit(job)
        {
            Ok(()) => bump(&counters.refreshes),
            // Dropping the job drops the leader: the flight ends as abandoned.
            Err(_dropped) => bump(&counters.refreshes_dropped),
        }
    }
}

/// The options of a refresh: the caller's, with the stored value's tags added and its TTL
/// when the caller gave none.
fn refresh_options(options: &InsertOptions, found: &Found) -> InsertOptions {
    let mut merged = options.clone();
    if merged.ttl.is_none() {
        merged.ttl = found.ttl_ms.map(Duration::from_millis);
    }
    for tag in found.tag_names() {
        if !merged.tags.contains(&tag) {
            merged.tags.push(tag);
        }
    }
    merged
}
