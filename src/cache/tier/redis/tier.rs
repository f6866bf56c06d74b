//! [`RedisTier`]: the shared tier. Values are framed (see `frame`), expire through `PX`,
//! and every change is announced on the key prefix's invalidation channel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use redis::{RedisError, RedisResult, Value};

use crate::cache::tier::Blob;
use crate::cache::tier::redis::breaker::{Breaker, Transition};
use crate::cache::tier::redis::config::RedisConfig;
use crate::cache::tier::redis::conn::{Conn, Pool, is_read_only};
use crate::cache::tier::redis::frame::{FRAME_HEADER_LEN, FramedValue, decode_frame, encode_frame};
use crate::cache::tier::redis::health::RedisHealth;
use crate::cache::tier::redis::messages::{Remote, encode};
use crate::cache::tier::redis::pubsub::{RemoteHook, spawn_subscriber};
use crate::cache::tier::{Evictions, Tier, TierKind, TierValue, Usage};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// Keys deleted per command when removing by prefix.
const DELETE_BATCH: usize = 500;

/// Tag generations read per HSCAN call at open.
const TAGS_BATCH: usize = 1000;

/// Raises a tag's generation in the tags hash, never lowers it (two caches may race).
/// KEYS[1]: the hash; ARGV: tag, generation.
const RAISE_TAG: &str = "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') \
    if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0";

/// The Redis tier of a [`Cache`](crate::Cache).
pub struct RedisTier {
    pub(super) config: RedisConfig,
    pool: Pool,
    /// With Sentinel and replica reads: connections to the master's replicas.
    replicas: Option<Pool>,
    breaker: Breaker,
    clock: Arc<dyn Clock>,
    /// Random id of this cache in invalidation messages.
    instance: u64,
    stop: Arc<AtomicBool>,
    explicit: AtomicU64,
    /// Values under our prefix that were not ours or were damaged (read as misses).
    foreign: AtomicU64,
    /// The last failure that counted towards the breaker.
    last_failure: Mutex<Option<String>>,
}

impl RedisTier {
    /// Builds the tier (without connecting: Redis may be down at open) and, when
    /// invalidation is on, starts the subscriber that feeds `on_remote`.
    pub fn open(
        config: RedisConfig,
        clock: Arc<dyn Clock>,
        on_remote: Arc<OnceLock<RemoteHook>>,
    ) -> Result<Self> {
        let pool = Pool::open(&config)?;
        let replicas = Pool::replicas(&config)?;
        let instance = ahash::RandomState::new().hash_one(std::time::SystemTime::now());
        let stop = Arc::new(AtomicBool::new(false));
        if config.invalidation {
            spawn_subscriber(&config, instance, on_remote, stop.clone()).map_err(|e| {
                Error::InvalidInput(format!("could not start the Redis subscriber: {e}"))
            })?;
        }
        Ok(Self {
            breaker: Breaker::new(config.breaker),
            config,
            pool,
            replicas,
            clock,
            instance,
            stop,
            explicit: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            last_failure: Mutex::new(None),
        })
    }

    /// The breaker's state, the last failure and the foreign values seen (reached through
    /// [`Cache::redis_health`](crate::Cache::redis_health)).
    pub fn health(&self) -> RedisHealth {
        let (breaker, retry_in) = self.breaker.state();
        RedisHealth {
            breaker,
            retry_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            last_failure: self.last_failure.lock().clone(),
            foreign_values: self.foreign.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on a pooled connection through the circuit breaker. While the breaker is
    /// open, `f` is not run and the call fails with [`Error::RedisUnavailable`], so that
    /// nobody mistakes a skipped write for a done one.
    pub(super) fn call<T>(
        &self,
        op: &str,
        f: impl FnOnce(&mut Conn) -> RedisResult<T>,
    ) -> Result<T> {
        if !self.breaker.allow() {
            return Err(Error::RedisUnavailable { op: op.to_string() });
        }
        let result = self.pool.get().and_then(|mut conn| f(&mut conn));
        match result {
            Ok(value) => {
                if self.breaker.success() == Transition::Recovered {
                    log::warn!("stratacache: Redis tier is answering again; using it");
                }
                Ok(value)
            }
            Err(e) if is_outage(&e) => {
                *self.last_failure.lock() = Some(format!("{op}: {e}"));
                if let Transition::Opened(backoff) = self.breaker.failure() {
                    log::warn!(
                        "stratacache: Redis tier failed ({e}); not calling it for {backoff:?}, serving from the other tiers"
                    );
                }
                Err(redis_err(op, &e))
            }
            Err(e) => {
                self.breaker.success();
                Err(redis_err(op, &e))
            }
        }
    }

    /// Milliseconds to live for a value expiring at `expires_at_ms`, capped; `Some(0)`
    /// when it has already expired; `None` for no expiry.
    fn ttl_ms(&self, expires_at_ms: Option<u64>) -> Option<u64> {
        let cap = self.config.ttl_cap.map(|c| c.as_millis() as u64);
        let left = expires_at_ms.map(|at| at.saturating_sub(self.clock.now_ms()));
        match (left, cap) {
            (Some(l), Some(c)) => Some(l.min(c)),
            (l, c) => l.or(c),
        }
    }

    fn message(&self, change: &Remote) -> Option<Vec<u8>> {
        self.config
            .invalidation
            .then(|| encode(self.instance, change))
    }

    /// Adds a SET (or DEL for an expired value) and, for writes others must see, a PUBLISH.
    fn add_set(
        &self,
        pipe: &mut redis::Pipeline,
        key: &[u8],
        envelope: &[u8],
        expires_at_ms: Option<u64>,
        announce: bool,
    ) {
        let rkey = self.config.value_key(key);
        match self.ttl_ms(expires_at_ms) {
            Some(0) => {
                pipe.del(&rkey).ignore();
            }
            ttl => {
                // The frame carries the expiry Redis was given (capped), so a copy read
                // from Redis never outlives the Redis key.
                let capped_at = match (expires_at_ms, ttl) {
                    (Some(at), Some(ms)) => Some(at.min(self.clock.now_ms() + ms)),
                    (None, Some(ms)) => Some(self.clock.now_ms() + ms),
                    (at, None) => at,
                };
                let frame =
                    encode_frame(key, envelope, capped_at, self.config.compression_threshold);
                let cmd = pipe.cmd("SET").arg(&rkey).arg(frame);
                if let Some(ms) = ttl {
                    cmd.arg("PX").arg(ms);
                }
                cmd.ignore();
            }
        }
        if announce && let Some(msg) = self.message(&Remote::Key(key.to_vec())) {
            pipe.publish(self.config.channel(), msg).ignore();
        }
    }

    /// A read: from a replica when replica reads are on and one answers, else as
    /// [`call`](Self::call) on the master. A replica's failure does not count towards the
    /// breaker (the master may be fine); while the breaker is open nothing is tried.
    fn read<T>(&self, op: &str, f: impl Fn(&mut Conn) -> RedisResult<T>) -> Result<T> {
        if let Some(replicas) = &self.replicas {
            if !self.breaker.allow() {
                return Err(Error::RedisUnavailable { op: op.to_string() });
            }
            match replicas.get().and_then(|mut conn| f(&mut conn)) {
                Ok(value) => return Ok(value),
                Err(e) if !is_outage(&e) => return Err(redis_err(op, &e)),
                Err(e) => {
                    log::debug!("stratacache: no replica answered {op} ({e}); asking the master")
                }
            }
        }
        self.call(op, f)
    }

    fn write(&self, op: &str, pipe: &redis::Pipeline) -> Result<()> {
        self.call(op, |conn| run(conn, pipe)).map(drop)
    }

    /// Turns a GET reply into a value; damaged, foreign or expired values are misses.
    fn value_of(&self, key: &[u8], frame: Option<Vec<u8>>) -> Option<TierValue> {
        match decode_frame(key, frame?) {
            Ok(framed) => {
                if framed
                    .expires_at_ms
                    .is_some_and(|at| at <= self.clock.now_ms())
                {
                    return None;
                }
                let blob = match framed.value {
                    FramedValue::InFrame(frame) => Blob::OwnedFrom(frame, FRAME_HEADER_LEN),
                    FramedValue::Decoded(bytes) => Blob::Owned(bytes),
                };
                Some(TierValue::whole(blob, framed.expires_at_ms))
            }
            Err(reason) => {
                self.foreign.fetch_add(1, Ordering::Relaxed);
                log::warn!(
                    "stratacache: Redis value of {:?} is unusable ({reason}); treating it as a miss",
                    String::from_utf8_lossy(key)
                );
                None
            }
        }
    }

    /// Every value key under `pattern`, on every node.
    fn scan(&self, conn: &mut Conn, pattern: &[u8]) -> RedisResult<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for node in self.scan_targets(conn)? {
            let mut c = match &node {
                Some(url) => Some(
                    redis::Client::open(url.as_str())?
                        .get_connection_with_timeout(self.config.connect_timeout)?,
                ),
                None => None,
            };
            let like: &mut dyn redis::ConnectionLike = match &mut c {
                Some(c) => c,
                None => conn.like(),
            };
            let mut cursor = 0u64;
            loop {
                let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(like)?;
                keys.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(keys)
    }

    /// Where to SCAN: the pooled connection (`None`) for one server, every primary's
    /// address for a cluster.
    fn scan_targets(&self, conn: &mut Conn) -> RedisResult<Vec<Option<String>>> {
        if !self.config.cluster {
            return Ok(vec![None]);
        }
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(conn.like())?;
        Ok(nodes
            .lines()
            .filter(|line| line.split(' ').nth(2).is_some_and(|f| f.contains("master")))
            .filter_map(|line| {
                let addr = line.split(' ').nth(1)?.split('@').next()?;
                Some(Some(format!("redis://{addr}")))
            })
            .collect())
    }

    /// Deletes keys, in batches (one key per command on a cluster: keys span slots).
    fn delete(&self, conn: &mut Conn, keys: &[Vec<u8>]) -> RedisResult<u64> {
        let mut removed = 0;
        for chunk in keys.chunks(DELETE_BATCH) {
            if self.config.cluster {
                let mut pipe = redis::cluster::cluster_pipe();
                for k in chunk {
                    pipe.del(k);
                }
                if let Conn::Cluster(c) = conn {
                    let counts: Vec<u64> = pipe.query(c)?;
                    removed += counts.iter().sum::<u64>();
                }
            } else {
                removed += redis::cmd("DEL").arg(chunk).query::<u64>(conn.like())?;
            }
        }
        Ok(removed)
    }

    /// Tag generations stored by any cache under this prefix. They are one hash, read
    /// with HSCAN: the cost follows the number of invalidated tags, never the number of
    /// keys in Redis, and a big hash does not block Redis in one command. Fields that are
    /// not a tag and a generation (written by someone else) are skipped.
    pub fn tag_generations(&self) -> Result<Vec<(String, u64)>> {
        let key = self.config.tags_key();
        self.call("read tag generations", |conn| {
            let mut out = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, flat): (u64, Vec<Vec<u8>>) = redis::cmd("HSCAN")
                    .arg(&key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(TAGS_BATCH)
                    .query(conn.like())?;
                for pair in flat.chunks_exact(2) {
                    let tag = std::str::from_utf8(&pair[0]).ok();
                    let generation = std::str::from_utf8(&pair[1]).ok();
                    let generation = generation.and_then(|g| g.parse::<u64>().ok());
                    if let (Some(tag), Some(generation)) = (tag, generation) {
                        out.push((tag.to_string(), generation));
                    }
                }
                if next == 0 {
                    return Ok(out);
                }
                cursor = next;
            }
        })
    }
}

impl Drop for RedisTier {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs a pipeline of single-key commands (and PUBLISH); the replies of commands not
/// marked `ignore` come first. A cluster connection refuses `redis::pipe()` ("does not
/// support pipelining") and a cluster pipeline refuses PUBLISH, so there the commands go
/// one by one (each routed by its key) and every reply is returned.
fn run(conn: &mut Conn, pipe: &redis::Pipeline) -> RedisResult<Vec<Value>> {
    match conn {
        Conn::Single(c) => pipe.query::<Vec<Value>>(&mut **c),
        Conn::Cluster(c) => pipe
            .cmd_iter()
            .map(|cmd| cmd.query::<Value>(&mut **c))
            .collect(),
    }
}

/// Failures that mean Redis is unreachable or too slow (they trip the breaker); other
/// errors (a wrong type under one key, say) do not.
fn is_outage(e: &RedisError) -> bool {
    is_read_only(e)
        || e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
}

fn redis_err(op: &str, e: &RedisError) -> Error {
    Error::Redis {
        op: op.to_string(),
        message: e.to_string(),
    }
}

impl Tier for RedisTier {
    fn kind(&self) -> TierKind {
        TierKind::Redis
    }

    fn get(&self, key: &[u8]) -> Result<Option<TierValue>> {
        let rkey = self.config.value_key(key);
        let reply = self.read("get", |conn| {
            redis::cmd("GET")
                .arg(&rkey)
                .query::<Option<Vec<u8>>>(conn.like())
        });
        match reply {
            Ok(frame) => Ok(self.value_of(key, frame)),
            // Another client stored something that is not a string under our key.
            Err(Error::Redis { message, .. }) if message.contains("WRONGTYPE") => {
                self.foreign.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<TierValue>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rkeys: Vec<Vec<u8>> = keys.iter().map(|k| self.config.value_key(k)).collect();
        let replies = self.read("get_many", |conn| match conn {
            // One MGET (keys of other types read as nil).
            Conn::Single(c) => redis::cmd("MGET")
                .arg(&rkeys)
                .query::<Vec<Option<Vec<u8>>>>(&mut **c),
            // Keys span slots: the cluster pipeline sends each node its keys at once.
            Conn::Cluster(c) => {
                let mut pipe = redis::cluster::cluster_pipe();
                for k in &rkeys {
                    pipe.get(k);
                }
                pipe.query::<Vec<Option<Vec<u8>>>>(c)
            }
        })?;
        Ok(keys
            .iter()
            .zip(replies)
            .map(|(k, frame)| self.value_of(k, frame))
            .collect())
    }

    fn insert(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        let mut pipe = redis::pipe();
        self.add_set(&mut pipe, key, envelope, expires_at_ms, true);
        self.write("insert", &pipe)
    }

    fn promote(&self, key: &[u8], envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> Result<()> {
        let mut pipe = redis::pipe();
        self.add_set(&mut pipe, key, envelope, expires_at_ms, false);
        self.write("promote", &pipe)
    }

    fn insert_many(&self, items: &[(&[u8], &Arc<[u8]>, Option<u64>)]) -> Result<()> {
        if self.config.cluster {
            // Keys span slots; the cluster client routes one command at a time.
            return items.iter().try_for_each(|(k, v, e)| self.insert(k, v, *e));
        }
        let mut pipe = redis::pipe();
        for (key, envelope, expires_at_ms) in items {
            self.add_set(&mut pipe, key, envelope, *expires_at_ms, true);
        }
        self.write("insert_many", &pipe)
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        let rkey = self.config.value_key(key);
        let mut pipe = redis::pipe();
        pipe.del(&rkey);
        if let Some(msg) = self.message(&Remote::Key(key.to_vec())) {
            pipe.publish(self.config.channel(), msg).ignore();
        }
        let removed = self.call("remove", |conn| {
            let replies = run(conn, &pipe)?;
            redis::from_redis_value::<u64>(replies.into_iter().next().unwrap_or(Value::Nil))
                .map_err(RedisError::from)
        })? > 0;
        self.explicit
            .fetch_add(u64::from(removed), Ordering::Relaxed);
        Ok(removed)
    }

    fn remove_prefix(&self, prefix: &[u8]) -> Result<u64> {
        let pattern = self.config.value_pattern(prefix);
        let removed = self.call("remove_prefix", |conn| {
            let keys = self.scan(conn, &pattern)?;
            let removed = self.delete(conn, &keys)?;
            if let Some(msg) = self.message(&Remote::Prefix(prefix.to_vec())) {
                redis::cmd("PUBLISH")
                    .arg(self.config.channel())
                    .arg(msg)
                    .query::<()>(conn.like())?;
            }
            Ok(removed)
        })?;
        self.explicit.fetch_add(removed, Ordering::Relaxed);
        Ok(removed)
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Size and entries are unknown: Redis can only tell them for the whole server (or
    /// database), which other caches and applications share, and counting the keys under
    /// our prefix would take a SCAN of the whole keyspace.
    fn usage(&self) -> Usage {
        Usage {
            size_bytes: None,
            entries: None,
            memory_bytes: None,
            memory_budget_bytes: None,
            evictions: Evictions {
                explicit: self.explicit.load(Ordering::Relaxed),
                ..Evictions::default()
            },
        }
    }

    fn tag_invalidated(&self, tag: &str, generation: u64) -> Result<()> {
        let tags_key = self.config.tags_key();
        let message = self.message(&Remote::Tag(tag.to_string(), generation));
        self.call("invalidate_tag", |conn| {
            redis::cmd("EVAL")
                .arg(RAISE_TAG)
                .arg(1)
                .arg(&tags_key)
                .arg(tag)
                .arg(generation)
                .query::<()>(conn.like())?;
            if let Some(msg) = message {
                redis::cmd("PUBLISH")
                    .arg(self.config.channel())
                    .arg(msg)
                    .query::<()>(conn.like())?;
            }
            Ok(())
        })
    }
}
