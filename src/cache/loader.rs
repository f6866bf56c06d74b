//! Loading through the cache: `get_with` and `try_get_with`, with one loader run per key
//! however many callers wait (see `flight`). Refresh-ahead is in `refresh`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use quanta::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::core::{CacheInner, Origin};
use crate::cache::handle::{Cache, serialization};
use crate::cache::load::LoadError;
use crate::cache::load::{Leader, Outcome, Role};
use crate::cache::policy::InsertOptions;
use crate::cache::stats::{Op, bump};

/// Counts a loader panic when dropped during unwinding.
pub(crate) struct PanicWatch<'a>(pub &'a AtomicU64);

impl Drop for PanicWatch<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            bump(self.0);
        }
    }
}

impl Cache {
    /// The value under `key`, or the loader's value, stored with the default options.
    /// However many threads ask for a missing key at once, the loader runs once; the
    /// others wait for its value. If the loader panics, the panic reaches its caller and a
    /// waiting thread runs the loader again.
    pub fn get_with<T, F>(&self, key: impl AsRef<[u8]>, loader: F) -> crate::error::Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        self.get_with_options(key, &InsertOptions::default(), loader)
    }

    /// [`Cache::get_with`] storing a loaded value with `options` (TTL, tags, placement).
    pub fn get_with_options<T, F>(
        &self,
        key: impl AsRef<[u8]>,
        options: &InsertOptions,
        loader: F,
    ) -> crate::error::Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        match self.try_get_with_options(key, options, || Ok::<T, Infallible>(loader())) {
            Ok(value) => Ok(value),
            Err(LoadError::Cache(e)) => Err(e),
            Err(LoadError::Loader(never)) => match *never {},
        }
    }

    /// Like [`Cache::get_with`] for a fallible loader. An error is not cached; it goes to
    /// the caller that ran the loader and to every caller waiting for that run, shared as
    /// an `Arc<E>`.
    pub fn try_get_with<T, E, F>(&self, key: impl AsRef<[u8]>, loader: F) -> Result<T, LoadError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<T, E>,
    {
        self.try_get_with_options(key, &InsertOptions::default(), loader)
    }

    /// [`Cache::try_get_with`] storing a loaded value with `options`.
    pub fn try_get_with_options<T, E, F>(
        &self,
        key: impl AsRef<[u8]>,
        options: &InsertOptions,
        loader: F,
    ) -> Result<T, LoadError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<T, E>,
    {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        if let Some((_, value)) = self.inner.lookup_decoded(key) {
            self.inner.record(Op::GetWith, started);
            return Ok(value);
        }
        let result = self.load_once(key, options, loader);
        self.inner.record(Op::GetWith, started);
        result
    }

    /// The miss path: lead a flight and run the loader, or wait for the leader.
    pub(crate) fn load_once<T, E, F>(
        &self,
        key: &[u8],
        options: &InsertOptions,
        loader: F,
    ) -> Result<T, LoadError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<T, E>,
    {
        let inner = &self.inner;
        let mut loader = Some(loader);
        loop {
            match inner.flights.join(key) {
                Role::Leader(leader) => {
                    let leader = match inner.finish_if_present(key, leader) {
                        Ok(value) => return Ok(value),
                        Err(leader) => leader,
                    };
                    // Another process may be loading it: wait for its value, or lease it.
                    #[cfg(feature = "redis")]
                    let (leader, lease) = match inner.lead_across(key, leader) {
                        Ok(value) => return Ok(value),
                        Err(handed_back) => handed_back,
                    };
                    let loader = loader.take().expect("a caller leads at most one load");
                    bump(&inner.counters.loader_calls);
                    let run = || {
                        let _watch = PanicWatch(&inner.counters.loader_panics);
                        loader()
                    };
                    #[cfg(feature = "redis")]
                    let loaded = match &lease {
                        Some(lease) => lease.hold_while(run),
                        None => run(),
                    };
                    #[cfg(not(feature = "redis"))]
                    let loaded = run();
                    // The lease (if any) goes after the value is stored, when it drops.
                    return inner.finish_load(key, options, loaded, leader);
                }
                Role::Waiter(waiter) => {
                    if let Some(result) = from_outcome(key, waiter.wait()) {
                        return result;
                    }
                }
            }
        }
    }
}

/// What a waiter makes of the leader's outcome: the value, the loader's error, or `None`
/// to try again (the leader went away, or failed with an error of another type).
pub(crate) fn from_outcome<T, E>(key: &[u8], outcome: Outcome) -> Option<Result<T, LoadError<E>>>
where
    T: DeserializeOwned,
    E: Send + Sync + 'static,
{
    match outcome {
        Outcome::Loaded(envelope, start, kind) => Some(
            crate::cache::value_codec::decode::<T>(kind, &envelope[start..])
                .map_err(|e| LoadError::Cache(serialization(key, e))),
        ),
        Outcome::Failed(error) => error
            .downcast::<E>()
            .ok()
            .map(|e| Err(LoadError::Loader(e))),
        Outcome::Abandoned => None,
    }
}

impl CacheInner {
    /// A new leader's second look: a value may have landed between the caller's miss and
    /// the flight. Then the flight ends with it and the value is returned; otherwise the
    /// leader is handed back to run the loader.
    pub(crate) fn finish_if_present<T: DeserializeOwned>(
        &self,
        key: &[u8],
        leader: Leader,
    ) -> Result<T, Leader> {
        if let Some(found) = self.lookup(key, false)
            && let Some(value) = self.decode(key, found.kind, found.payload())
        {
            let (start, kind) = (found.payload_start, found.kind);
            leader.finish(Outcome::Loaded(found.blob.into_shared(), start, kind));
            return Ok(value);
        }
        Err(leader)
    }

    /// Ends a flight with what its loader returned: a value is stored and handed to the
    /// waiters, an error handed to them (not cached).
    pub(crate) fn finish_load<T: Serialize, E: Send + Sync + 'static>(
        &self,
        key: &[u8],
        options: &InsertOptions,
        loaded: Result<T, E>,
        leader: Leader,
    ) -> Result<T, LoadError<E>> {
        match loaded {
            Ok(value) => {
                self.store_loaded(key, options, &value, leader)?;
                Ok(value)
            }
            Err(e) => {
                bump(&self.counters.loader_errors);
                let e = Arc::new(e);
                leader.finish(Outcome::Failed(e.clone()));
                Err(LoadError::Loader(e))
            }
        }
    }

    /// Stores a loaded value and hands it to the flight's waiters. A failure to store is
    /// counted and logged; the waiters still get the value.
    pub(crate) fn store_loaded<T: Serialize>(
        &self,
        key: &[u8],
        options: &InsertOptions,
        value: &T,
        leader: Leader,
    ) -> crate::error::Result<()> {
        let prepared = self.prepare_typed(key, options, value)?;
        if let Err(e) = self.store(key, &prepared, options.placement, Origin::Loader) {
            bump(&self.counters.errors);
            log::warn!(
                "stratacache: loaded value of {:?} could not be cached: {e}",
                String::from_utf8_lossy(key)
            );
        } else {
            bump(&self.counters.inserts);
        }
        leader.finish(Outcome::Loaded(
            prepared.envelope,
            prepared.payload_start,
            prepared.kind,
        ));
        Ok(())
    }
}
