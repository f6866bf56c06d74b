//! Loading through the cache from async code: `get_with_async` and `try_get_with_async`.
//!
//! The loader is a future. One flight per key is shared with the blocking `get_with` family
//! (threads and tasks wait for the same run); a waiting task does not block its thread, and
//! a hit is answered at once. No runtime is assumed: the futures only need to be polled.
//! A leader task that is dropped before its loader finishes abandons the flight, and one of
//! the waiters leads the next attempt.

use std::convert::Infallible;
use std::future::Future;

use quanta::Instant;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::handle::Cache;
use crate::cache::load::{LoadError, Role};
use crate::cache::loader::from_outcome;
use crate::cache::policy::InsertOptions;
use crate::cache::stats::{Op, bump};

impl Cache {
    /// [`Cache::get_with`] for async code: the loader is a future, awaited once per key
    /// however many tasks (and threads) ask at once; the others wait without blocking.
    pub async fn get_with_async<T, F, Fut>(
        &self,
        key: impl AsRef<[u8]>,
        loader: F,
    ) -> crate::error::Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let loaded = self
            .try_get_with_async(key, || async { Ok::<T, Infallible>(loader().await) })
            .await;
        match loaded {
            Ok(value) => Ok(value),
            Err(LoadError::Cache(e)) => Err(e),
            Err(LoadError::Loader(never)) => match *never {},
        }
    }

    /// [`Cache::try_get_with`] for async code: an error of the loader reaches every waiter.
    pub async fn try_get_with_async<T, E, F, Fut>(
        &self,
        key: impl AsRef<[u8]>,
        loader: F,
    ) -> Result<T, LoadError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        if let Some((_, value)) = self.inner.lookup_decoded(key) {
            self.inner.record(Op::GetWith, started);
            return Ok(value);
        }
        let result = self
            .load_once_async(key, &InsertOptions::default(), loader)
            .await;
        self.inner.record(Op::GetWith, started);
        result
    }

    /// The miss path: lead a flight and await the loader, or await the leader's outcome.
    async fn load_once_async<T, E, F, Fut>(
        &self,
        key: &[u8],
        options: &InsertOptions,
        loader: F,
    ) -> Result<T, LoadError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let inner = &self.inner;
        let mut loader = Some(loader);
        loop {
            // Bound to a local: the `Role` (and the lock inside `join`) is gone before the
            // first await.
            let role = inner.flights.join(key);
            match role {
                Role::Leader(leader) => {
                    let leader = match inner.finish_if_present(key, leader) {
                        Ok(value) => return Ok(value),
                        Err(leader) => leader,
                    };
                    let loader = loader.take().expect("a caller leads at most one load");
                    bump(&inner.counters.loader_calls);
                    // Dropping this future here drops `leader` unfinished: the flight is
                    // abandoned and a waiter takes over.
                    let loaded = loader().await;
                    return inner.finish_load(key, options, loaded, leader);
                }
                Role::Waiter(waiter) => {
                    if let Some(result) = from_outcome(key, waiter.wait_async().await) {
                        return result;
                    }
                }
            }
        }
    }
}
