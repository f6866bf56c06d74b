//! Configuring and opening a [`Cache`].

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::cache::core::{CacheInner, Policies, Slot};
use crate::cache::handle::Cache;
use crate::cache::load::Flights;
use crate::cache::policy::{MemoryAdmission, Promotion, WritePolicy};
use crate::cache::promote::{HitSketch, MAX_COUNT};
use crate::cache::stats::CacheCounters;
use crate::cache::tags::TagRegistry;
use crate::cache::tier::disk::DiskTier;
use crate::cache::tier::memory::{DropHook, MemoryTier};
use crate::cache::tier::{Tier, TierKind};
use crate::clock::{Clock, SystemClock};
use crate::engine::DiskStoreBuilder;
use crate::error::{Error, Result};
use crate::limits::DEFAULT_MAX_KEY_LEN;

/// Default read order: memory, then Redis, then disk.
const DEFAULT_ORDER: [TierKind; 3] = [TierKind::Memory, TierKind::Redis, TierKind::Disk];
impl Cache {
    /// Starts configuring a cache.
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }
}

/// Builds a [`Cache`]; see [`Cache::builder`].
#[derive(Default)]
pub struct CacheBuilder {
    memory_bytes: Option<u64>,
    disk: Option<DiskStoreBuilder>,
    #[cfg(feature = "redis")]
    redis: Option<crate::cache::tier::redis::RedisConfig>,
    order: Option<Vec<TierKind>>,
    promotion: Promotion,
    write: WritePolicy,
    memory_admission: MemoryAdmission,
    default_ttl: Option<Duration>,
    refresh_ahead: Option<f64>,
    clock: Option<Arc<dyn Clock>>,
    codec: crate::cache::value_codec::ValueCodec,
}

impl CacheBuilder {
    /// Adds a memory tier holding at most `budget_bytes` (keys, values and about 100 bytes
    /// per entry).
    pub fn memory(mut self, budget_bytes: u64) -> Self {
        self.memory_bytes = Some(budget_bytes);
        self
    }

    /// Adds a Redis tier at `url` (`redis://127.0.0.1:6379`) with default settings
    /// (feature `redis`). The cache opens even while Redis is down.
    #[cfg(feature = "redis")]
    pub fn redis(self, url: impl Into<String>) -> Self {
        self.redis_config(crate::cache::tier::redis::RedisConfig::new(url))
    }

    /// Adds a Redis tier (standalone or cluster) with the given settings (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn redis_config(mut self, config: crate::cache::tier::redis::RedisConfig) -> Self {
        self.redis = Some(config);
        self
    }

    /// Adds a disk tier, opened from `store` when the cache opens.
    pub fn disk(mut self, store: DiskStoreBuilder) -> Self {
        self.disk = Some(store);
        self
    }

    /// Sets the read order (writes go lowest first). Every configured tier must appear
    /// once. Default: memory, Redis, disk; `[Memory, Disk, Redis]` puts disk above Redis.
    pub fn tier_order(mut self, order: impl IntoIterator<Item = TierKind>) -> Self {
        self.order = Some(order.into_iter().collect());
        self
    }

    /// When lower-tier hits are copied up. Default: [`Promotion::Always`].
    pub fn promotion(mut self, promotion: Promotion) -> Self {
        self.promotion = promotion;
        self
    }

    /// When a write-through insert also goes to the memory tier. Default:
    /// [`MemoryAdmission::OnRead`] (once the key is read).
    pub fn memory_admission(mut self, admission: MemoryAdmission) -> Self {
        self.memory_admission = admission;
        self
    }

    /// Where writes go. Default: [`WritePolicy::WriteThrough`].
    pub fn write_policy(mut self, policy: WritePolicy) -> Self {
        self.write = policy;
        self
    }

    /// TTL for values inserted without one. Default: none (values live until evicted).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The encoding of typed values this cache writes: bincode (the default, fastest),
    /// JSON or MessagePack (self-describing: readable by other programs, and a type that
    /// gained optional fields still decodes). The codec is recorded with each value, so
    /// values written with another codec still read back.
    pub fn value_codec(mut self, codec: crate::cache::value_codec::ValueCodec) -> Self {
        self.codec = codec;
        self
    }

    /// Refresh-ahead for [`Cache::get_with_refresh`]: a hit with less than `fraction_left`
    /// of its TTL remaining reloads in the background. `0.2` reloads once 80% of the TTL
    /// has passed.
    pub fn refresh_ahead(mut self, fraction_left: f64) -> Self {
        self.refresh_ahead = Some(fraction_left);
        self
    }

    /// The time source for TTLs (also given to the disk store). Default: the system clock,
    /// or the disk store builder's clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Opens the tiers and the cache.
    pub fn open(self) -> Result<Cache> {
        if let Some(f) = self.refresh_ahead
            && !(f > 0.0 && f < 1.0)
        {
            return Err(Error::Config(format!(
                "refresh_ahead fraction {f} must be between 0 and 1 (exclusive)"
            )));
        }
        if let Promotion::AfterHits(n) = self.promotion
            && n > MAX_COUNT
        {
            return Err(Error::Config(format!(
                "Promotion::AfterHits({n}): hits are counted up to {MAX_COUNT}"
            )));
        }
        if self.memory_bytes == Some(0) {
            return Err(Error::Config(
                "memory tier budget must be above 0 bytes".into(),
            ));
        }
        if self.write == WritePolicy::WriteBack && self.memory_bytes.is_none() {
            return Err(Error::Config(
                "WritePolicy::WriteBack needs a memory tier".into(),
            ));
        }
        let configured: Vec<TierKind> = DEFAULT_ORDER
            .into_iter()
            .filter(|k| match k {
                TierKind::Memory => self.memory_bytes.is_some(),
                TierKind::Disk => self.disk.is_some(),
                #[cfg(feature = "redis")]
                TierKind::Redis => self.redis.is_some(),
                #[cfg(not(feature = "redis"))]
                TierKind::Redis => false,
            })
            .collect();
        if configured.is_empty() {
            return Err(Error::Config(
                "a cache needs at least one tier (.memory(..) or .disk(..))".into(),
            ));
        }
        let order = match &self.order {
            None => configured.clone(),
            Some(order) => check_order(order, &configured)?,
        };

        let disk_builder = match (&self.clock, self.disk) {
            (Some(clock), Some(builder)) => Some(builder.clock(clock.clone())),
            (_, builder) => builder,
        };
        let max_key_len = disk_builder
            .as_ref()
            .map_or(DEFAULT_MAX_KEY_LEN, |b| b.key_limit());
        let disk = disk_builder.map(|b| b.open().map(Arc::new)).transpose()?;
        let clock: Arc<dyn Clock> = match (&self.clock, &disk) {
            (Some(clock), _) => clock.clone(),
            (None, Some(store)) => store.clock(),
            (None, None) => Arc::new(SystemClock),
        };
        let on_drop: Arc<OnceLock<DropHook>> = Arc::new(OnceLock::new());
        let memory = self
            .memory_bytes
            .map(|bytes| Arc::new(MemoryTier::new(bytes, clock.clone(), on_drop.clone())));
        #[cfg(feature = "redis")]
        let on_remote: Arc<OnceLock<crate::cache::tier::redis::pubsub::RemoteHook>> =
            Arc::new(OnceLock::new());
        #[cfg(feature = "redis")]
        let redis = match self.redis {
            Some(config) => Some(Arc::new(crate::cache::tier::redis::RedisTier::open(
                config,
                clock.clone(),
                on_remote.clone(),
            )?)),
            None => None,
        };
        let slots = order
            .iter()
            .map(|kind| {
                let tier: Arc<dyn Tier> = match kind {
                    TierKind::Memory => memory.clone().expect("configured") as Arc<dyn Tier>,
                    TierKind::Disk => {
                        Arc::new(DiskTier::new(disk.clone().expect("configured"))) as Arc<dyn Tier>
                    }
                    #[cfg(feature = "redis")]
                    TierKind::Redis => redis.clone().expect("configured") as Arc<dyn Tier>,
                    #[cfg(not(feature = "redis"))]
                    TierKind::Redis => unreachable!("the redis feature is off"),
                };
                Slot {
                    tier,
                    counters: Default::default(),
                }
            })
            .collect();
        let promote_hits = match self.promotion {
            Promotion::AfterHits(_) => Some(HitSketch::load(disk.as_deref())?),
            Promotion::Always | Promotion::Never => None,
        };
        let inner = Arc::new(CacheInner {
            slots,
            #[cfg(feature = "redis")]
            redis: redis.clone(),
            #[cfg(feature = "redis")]
            remote_waits: Default::default(),
            memory,
            tags: TagRegistry::load(disk.clone(), clock.clone())?,
            disk,
            clock,
            policies: Policies {
                promotion: self.promotion,
                write: self.write,
                memory_admission: self.memory_admission,
                default_ttl: self.default_ttl,
                refresh_ahead: self.refresh_ahead,
                max_key_len,
                codec: self.codec,
            },
            flights: Arc::new(Flights::default()),
            counters: CacheCounters::default(),
            dirty: Mutex::new(Default::default()),
            seq: AtomicU64::new(0),
            promote_hits,
            refresher: OnceLock::new(),
        });
        let weak = Arc::downgrade(&inner);
        let hook: DropHook = Box::new(move |key, entry, why| {
            if let Some(inner) = weak.upgrade() {
                inner.on_memory_drop(key, entry, why);
            }
        });
        let _ = on_drop.set(hook);
        #[cfg(feature = "redis")]
        if let Some(redis) = &redis {
            let weak = Arc::downgrade(&inner);
            let hook: crate::cache::tier::redis::pubsub::RemoteHook = Box::new(move |change| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_remote(change);
                }
            });
            let _ = on_remote.set(hook);
            // Tags invalidated by other caches while this one was away.
            match redis.tag_generations() {
                Ok(generations) => {
                    for (tag, generation) in generations {
                        inner.tags.adopt(&tag, generation)?;
                    }
                }
                Err(e) => log::warn!(
                    "stratacache: could not read tag generations from Redis ({e}); using the local ones"
                ),
            }
        }
        Ok(Cache { inner })
    }
}

fn check_order(order: &[TierKind], configured: &[TierKind]) -> Result<Vec<TierKind>> {
    for kind in order {
        if !configured.contains(kind) {
            return Err(Error::Config(format!(
                "tier_order names the {kind} tier, which is not configured"
            )));
        }
        if order.iter().filter(|k| *k == kind).count() > 1 {
            return Err(Error::Config(format!(
                "tier_order names the {kind} tier twice"
            )));
        }
    }
    if let Some(missing) = configured.iter().find(|k| !order.contains(k)) {
        return Err(Error::Config(format!(
            "tier_order leaves out the configured {missing} tier"
        )));
    }
    Ok(order.to_vec())
}
