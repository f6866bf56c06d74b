//! The public face of the tiered cache: [`Cache`].

use std::sync::Arc;
use std::time::Duration;

use quanta::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::core::{CacheInner, Found, Origin};
use crate::cache::policy::InsertOptions;
use crate::cache::stats::{CacheStats, Op, bump};
use crate::cache::tier::CachedBytes;
use crate::cache::value_codec::PayloadKind;
pub(crate) use crate::cache::value_codec::serialization;
use crate::error::Result;

/// A tiered cache: memory, then (optionally) Redis, then disk, behind one typed API.
///
/// Cloning is cheap and gives another handle to the same cache.
///
/// ```
/// # fn main() -> stratacache::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let cache = stratacache::Cache::builder()
///     .memory(16 << 20)
///     .disk(stratacache::DiskStore::builder(dir.path()).capacity_bytes(64 << 20))
///     .open()?;
/// cache.insert("page/1", &vec!["Hello".to_string(), "world".to_string()])?;
/// let words: Option<Vec<String>> = cache.get("page/1")?;
/// assert_eq!(words.unwrap().len(), 2);
/// let n: u32 = cache.get_with("answer", || 42)?; // loads once, then cached
/// assert_eq!(n, 42);
/// cache.close()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cache {
    pub(crate) inner: Arc<CacheInner>,
}

impl Cache {
    /// The typed value under `key`. A value that does not decode as `T` (written by another
    /// version of the program, say) counts as an error and a miss, and is removed.
    pub fn get<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>> {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        let value = self.inner.lookup_decoded(key).map(|(_, value)| value);
        self.inner.record(Op::Get, started);
        Ok(value)
    }

    /// The raw bytes under `key` (as written by [`Cache::insert_bytes`]), without a copy
    /// when they come from memory or an uncompressed disk record.
    pub fn get_bytes(&self, key: impl AsRef<[u8]>) -> Result<Option<CachedBytes>> {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        let value = self.inner.lookup(key, true).map(Found::into_bytes);
        self.inner.record(Op::Get, started);
        Ok(value)
    }

    /// The raw bytes under `key` when the memory tier holds them (a hit, counted), else
    /// `None` without counting anything or touching a slower tier. For callers that hold
    /// a lock others wait on (the Python package holds the GIL here): try this first, and
    /// [`Cache::get_bytes`] with the lock released on `None`.
    pub fn get_bytes_in_memory(&self, key: impl AsRef<[u8]>) -> Option<CachedBytes> {
        let key = key.as_ref();
        let started = Instant::now();
        let value = self.inner.lookup_memory(key).map(Found::into_bytes)?;
        self.inner.record(Op::Get, started);
        Some(value)
    }

    /// True when some tier holds a current value for `key` (not counted as a hit or miss).
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        self.inner.check_key(key)?;
        Ok(self.inner.lookup(key, false).is_some())
    }

    /// The cache's clock now, in ms since the Unix epoch (expiry times are on this clock).
    pub fn now_ms(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// Remaining time to live of `key`: `Some(None)` when it never expires, `None` when
    /// absent.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Option<Duration>>> {
        let key = key.as_ref();
        self.inner.check_key(key)?;
        let now = self.inner.clock.now_ms();
        Ok(self.inner.lookup(key, false).map(|found| {
            found
                .expires_at_ms
                .map(|at| Duration::from_millis(at.saturating_sub(now)))
        }))
    }

    /// Stores `value` under `key` with the default TTL (if one is configured).
    pub fn insert<T: Serialize + ?Sized>(&self, key: impl AsRef<[u8]>, value: &T) -> Result<()> {
        self.insert_with(key, value, &InsertOptions::default())
    }

    /// Stores `value` under `key`, expiring `ttl` from now.
    pub fn insert_with_ttl<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        self.insert_with(key, value, &InsertOptions::new().ttl(ttl))
    }

    /// Stores `value` under `key` with tags; [`Cache::invalidate_tag`] retires it.
    pub fn insert_with_tags<T: Serialize + ?Sized, S: AsRef<str>>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
        tags: &[S],
    ) -> Result<()> {
        let tags = tags.iter().map(|t| t.as_ref().to_string());
        self.insert_with(key, value, &InsertOptions::new().tags(tags))
    }

    /// Stores `value` under `key` with per-call options (TTL, tags, placement).
    pub fn insert_with<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
        options: &InsertOptions,
    ) -> Result<()> {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        let prepared = self.inner.prepare_typed(key, options, value)?;
        let result = self
            .inner
            .store(key, &prepared, options.placement, Origin::Caller);
        bump(&self.inner.counters.inserts);
        self.inner.record(Op::Insert, started);
        result
    }

    /// Stores raw bytes under `key` (read them back with [`Cache::get_bytes`]).
    pub fn insert_bytes(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<()> {
        self.insert_bytes_with(key, value, &InsertOptions::default())
    }

    /// Stores raw bytes under `key` with per-call options.
    pub fn insert_bytes_with(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        options: &InsertOptions,
    ) -> Result<()> {
        self.insert_payload(key, PayloadKind::Bytes, value, options)
    }

    /// Stores a payload already encoded by the caller, recording it as `kind` so that every
    /// interface reads it back as what it is (the Python package stores `str` as
    /// [`PayloadKind::Text`] and other objects as JSON this way). [`Cache::get_bytes`]
    /// returns the payload with its kind.
    pub fn insert_payload(
        &self,
        key: impl AsRef<[u8]>,
        kind: PayloadKind,
        payload: &[u8],
        options: &InsertOptions,
    ) -> Result<()> {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        let prepared = self.inner.prepare_payload(options, kind, payload)?;
        let result = self
            .inner
            .store(key, &prepared, options.placement, Origin::Caller);
        bump(&self.inner.counters.inserts);
        self.inner.record(Op::Insert, started);
        result
    }

    /// Removes `key` from every tier; true when any tier had it.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        let started = Instant::now();
        self.inner.check_key(key)?;
        let removed = self.inner.remove_everywhere(key)?;
        if removed {
            bump(&self.inner.counters.removes);
        }
        self.inner.record(Op::Remove, started);
        Ok(removed)
    }

    /// Removes every key starting with `prefix` from every tier (the disk tier scans its
    /// index range; the memory tier scans its entries). Returns the most keys any one tier
    /// removed.
    pub fn remove_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<u64> {
        let prefix = prefix.as_ref();
        if self.inner.write_back() {
            self.inner
                .dirty
                .lock()
                .retain(|k, _| !k.starts_with(prefix));
        }
        let mut most = 0;
        for slot in &self.inner.slots {
            let removed = slot.tier.remove_prefix(prefix);
            most = most.max(
                self.inner
                    .absorb_or(slot, "remove_prefix", prefix, removed)?
                    .unwrap_or(0),
            );
        }
        Ok(most)
    }

    /// Retires every value tagged `tag`, in every tier, now and after restarts: one
    /// durable write, however many values carry the tag. The values become misses at once
    /// and are dropped when next read (or evicted in time).
    pub fn invalidate_tag(&self, tag: &str) -> Result<()> {
        let generation = self.inner.tags.invalidate(tag)?;
        for slot in &self.inner.slots {
            let told = slot.tier.tag_invalidated(tag, generation);
            self.inner
                .absorb_or(slot, "invalidate_tag", tag.as_bytes(), told)?;
        }
        Ok(())
    }

    /// Moves write-back values down, then makes every tier durable where it can be.
    /// Everything inserted before this returns survives a crash.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_dirty()?;
        for slot in &self.inner.slots {
            let flushed = slot.tier.flush();
            self.inner.absorb_or(slot, "flush", b"", flushed)?;
        }
        Ok(())
    }

    /// Flushes and closes this handle, saving the hit counts of `Promotion::AfterHits`
    /// with the disk store. The disk store closes when the last handle (and any background
    /// refresh) is gone.
    pub fn close(self) -> Result<()> {
        self.flush()?;
        self.inner.save_hit_counts()
    }

    /// Counters, per tier and overall, with operation latencies.
    pub fn stats(&self) -> CacheStats {
        let tiers = self
            .inner
            .slots
            .iter()
            .map(|s| s.counters.snapshot(s.tier.kind(), s.tier.usage()))
            .collect();
        let mut stats = self.inner.counters.snapshot(tiers);
        stats.tag_lookups = self.inner.tags.lookups();
        stats.tag_rows_pruned = self.inner.tags.pruned();
        stats
    }

    /// [`Cache::stats`] in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        self.stats().to_prometheus()
    }

    /// The disk store under this cache, if it has one.
    pub fn disk_store(&self) -> Option<&crate::engine::DiskStore> {
        self.inner.disk.as_deref()
    }

    /// How the Redis tier is doing (feature `redis`): whether its circuit breaker lets
    /// calls through, the last failure, foreign values seen. `None` without a Redis tier.
    /// Costs no call to Redis. What the cache did with the tier (including the calls it
    /// skipped) is in [`Cache::stats`].
    #[cfg(feature = "redis")]
    pub fn redis_health(&self) -> Option<crate::cache::tier::redis::RedisHealth> {
        self.inner.redis.as_ref().map(|redis| redis.health())
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tiers: Vec<_> = self.inner.slots.iter().map(|s| s.tier.kind()).collect();
        f.debug_struct("Cache").field("tiers", &tiers).finish()
    }
}

impl CacheInner {
    /// A counted lookup of a typed value. A value that does not decode as `T` counts as a
    /// miss (and an error) and is dropped.
    pub fn lookup_decoded<T: DeserializeOwned>(&self, key: &[u8]) -> Option<(Found, T)> {
        let found = self.lookup(key, true)?;
        match self.decode(key, found.kind, found.payload()) {
            Some(value) => Some((found, value)),
            None => {
                self.recount_as_miss(&found);
                None
            }
        }
    }

    /// Decodes a payload recorded as `kind` as a `T`. A value that does not decode (written
    /// as another type, or by another version of the program) is a miss counted in
    /// `decode_errors`, apart from damage; it stays stored for readers that know its type.
    pub fn decode<T: DeserializeOwned>(
        &self,
        key: &[u8],
        kind: PayloadKind,
        payload: &[u8],
    ) -> Option<T> {
        match crate::cache::value_codec::decode::<T>(kind, payload) {
            Ok(value) => Some(value),
            Err(e) => {
                bump(&self.counters.decode_errors);
                log::debug!(
                    "stratacache: value of {:?} does not decode as {} ({e}); a miss",
                    String::from_utf8_lossy(key),
                    std::any::type_name::<T>()
                );
                None
            }
        }
    }

    /// Records the duration of one operation.
    pub fn record(&self, op: Op, started: Instant) {
        self.counters.times.of(op).record(started.elapsed());
    }
}
