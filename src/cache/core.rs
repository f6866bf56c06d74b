//! The shared state behind a [`Cache`](crate::Cache) and its read and write paths.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::cache::envelope;

use crate::cache::load::{Flights, Refresher};
use crate::cache::policy::{InsertOptions, MemoryAdmission, Placement, Promotion, WritePolicy};
use crate::cache::promote::HitSketch;
use crate::cache::stats::{CacheCounters, TierCounters, bump};
use crate::cache::tags::TagRegistry;
use crate::cache::tier::memory::{MemEntry, MemoryTier};
use crate::cache::tier::{Blob, CachedBytes};
use crate::cache::tier::{Tier, TierKind, TierValue};
use crate::cache::value_codec::{PayloadKind, ValueCodec, serialization};
use crate::clock::Clock;
use crate::engine::DiskStore;
use crate::error::{Error, Result};
use serde::Serialize;

/// One tier in read order, with the cache's counters for it.
pub(crate) struct Slot {
    pub tier: Arc<dyn Tier>,
    pub counters: TierCounters,
}

/// The policies chosen at build time.
pub(crate) struct Policies {
    pub promotion: Promotion,
    pub write: WritePolicy,
    pub memory_admission: MemoryAdmission,
    pub default_ttl: Option<Duration>,
    pub refresh_ahead: Option<f64>,
    pub max_key_len: usize,
    /// The codec of typed values written by this cache.
    pub codec: ValueCodec,
}

/// Who produced a value being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The caller (`insert` and friends).
    Caller,
    /// A loader (`get_with` and friends, refresh-ahead).
    Loader,
}

/// Everything a cache handle shares.
pub(crate) struct CacheInner {
    /// Tiers in read order.
    pub slots: Vec<Slot>,
    /// The memory tier, also in `slots`, when configured.
    pub memory: Option<Arc<MemoryTier>>,
    /// The disk store, also in `slots` (as a tier), when configured.
    pub disk: Option<Arc<DiskStore>>,
    /// The Redis tier, also in `slots`, when configured (for its health).
    #[cfg(feature = "redis")]
    pub redis: Option<Arc<crate::cache::tier::redis::RedisTier>>,
    /// Keys whose value another process is loading, waited for by this one.
    #[cfg(feature = "redis")]
    pub remote_waits: crate::cache::load::RemoteWaits,
    pub clock: Arc<dyn Clock>,
    pub policies: Policies,
    pub flights: Arc<Flights>,
    pub tags: TagRegistry,
    pub counters: CacheCounters,
    /// Write-back: keys whose newest value is in memory only, with that value's sequence.
    pub dirty: Mutex<std::collections::HashMap<Vec<u8>, u64>>,
    pub seq: AtomicU64,
    /// Lower-tier hit counts, with `Promotion::AfterHits` only.
    pub promote_hits: Option<HitSketch>,
    /// The refresh-ahead workers, started by the first refresh.
    pub refresher: OnceLock<Refresher>,
}

/// A value found by a lookup.
pub(crate) struct Found {
    /// Index (in read order) of the tier that answered.
    pub tier: usize,
    /// The kind of the tier that answered.
    pub source: TierKind,
    pub blob: Blob,
    pub payload_start: usize,
    pub ttl_ms: Option<u64>,
    pub expires_at_ms: Option<u64>,
    /// What the payload is (bytes, or a typed value in a codec).
    pub kind: PayloadKind,
    /// The envelope header when the tier keeps it beside the payload (see [`TierValue`]).
    pub header: Option<Box<[u8]>>,
}

impl Found {
    pub fn payload(&self) -> &[u8] {
        &self.blob[self.payload_start..]
    }

    /// The names of the tags the value carries (decoded again: lookups do not keep them).
    pub fn tag_names(&self) -> Vec<String> {
        let view = match &self.header {
            Some(header) => envelope::decode_header(header),
            None => envelope::decode(&self.blob),
        };
        view.map(|v| v.tags().map(|t| t.name.to_string()).collect())
            .unwrap_or_default()
    }

    pub fn into_bytes(self) -> CachedBytes {
        CachedBytes::new(self.blob, self.payload_start, self.source, self.kind)
    }
}

/// What one tier's answer amounts to.
enum Accepted {
    Found(Found),
    Miss,
    Stale,
}

/// An envelope ready to be written.
pub(crate) struct Prepared {
    pub envelope: Arc<[u8]>,
    pub payload_start: usize,
    pub expires_at_ms: Option<u64>,
    pub kind: PayloadKind,
}

impl CacheInner {
    /// Rejects keys no tier would accept.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        crate::limits::check_key(key, self.policies.max_key_len)
    }

    /// Finds `key` in the first tier that has a current value, promoting it upwards.
    /// `count` says whether the lookup is a read that counts in the hit/miss stats and
    /// promotes, or a peek that does neither.
    pub fn lookup(&self, key: &[u8], count: bool) -> Option<Found> {
        for (i, slot) in self.slots.iter().enumerate() {
            let value = match slot.tier.get(key) {
                Ok(value) => value,
                Err(e) => {
                    self.tier_failed(slot, "get", key, &e);
                    continue;
                }
            };
            match self.accept(i, key, value, count) {
                Accepted::Found(found) => return Some(found),
                Accepted::Miss => continue,
                Accepted::Stale => break,
            }
        }
        if count {
            bump(&self.counters.misses);
        }
        None
    }

    /// Finds `key` in the memory tier only (counted as a hit there); `None`, counting
    /// nothing, when the cache has no memory tier in front or it lacks the key.
    pub fn lookup_memory(&self, key: &[u8]) -> Option<Found> {
        let slot = self.slots.first()?;
        if slot.tier.kind() != TierKind::Memory {
            return None;
        }
        let value = slot.tier.get(key).ok()??;
        match self.accept(0, key, Some(value), true) {
            Accepted::Found(found) => Some(found),
            Accepted::Miss | Accepted::Stale => None,
        }
    }

    /// Looks up several keys, asking each tier for all keys still missing at once (one
    /// round trip to a remote tier). Always counted, like `lookup(key, true)`.
    pub fn lookup_many(&self, keys: &[&[u8]]) -> Vec<Option<Found>> {
        let mut found: Vec<Option<Found>> = keys.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..keys.len()).collect();
        for (i, slot) in self.slots.iter().enumerate() {
            if pending.is_empty() {
                break;
            }
            let asked: Vec<&[u8]> = pending.iter().map(|&p| keys[p]).collect();
            let values = match slot.tier.get_many(&asked) {
                Ok(values) => values,
                Err(e) => {
                    self.tier_failed(slot, "get_many", asked[0], &e);
                    continue;
                }
            };
            let mut still = Vec::new();
            for (&p, value) in pending.iter().zip(values) {
                match self.accept(i, keys[p], value, true) {
                    Accepted::Found(f) => found[p] = Some(f),
                    Accepted::Miss => still.push(p),
                    Accepted::Stale => {}
                }
            }
            pending = still;
        }
        for _ in 0..keys.iter().zip(&found).filter(|(_, f)| f.is_none()).count() {
            bump(&self.counters.misses);
        }
        found
    }

    /// Judges what tier `i` returned for `key`: a usable value (counted, promoted), a
    /// miss in this tier, or a value retired by a tag (removed everywhere: stop looking).
    fn accept(&self, i: usize, key: &[u8], value: Option<TierValue>, count: bool) -> Accepted {
        let slot = &self.slots[i];
        let Some(value) = value else {
            if count {
                bump(&slot.counters.misses);
            }
            return Accepted::Miss;
        };
        let decoded = match &value.header {
            Some(header) => envelope::decode_header(header),
            None => envelope::decode(&value.blob),
        };
        let view = match decoded {
            Ok(view) => view,
            Err(reason) => {
                bump(&self.counters.errors);
                log::warn!(
                    "stratacache: {} tier holds a value for {:?} that the cache did not write ({reason}); treating it as a miss",
                    slot.tier.kind(),
                    String::from_utf8_lossy(key)
                );
                if count {
                    bump(&slot.counters.misses);
                }
                return Accepted::Miss;
            }
        };
        match self.tags.is_current(&view) {
            Ok(true) => {}
            Ok(false) => {
                bump(&self.counters.stale_tags);
                let _ = self.remove_everywhere(key);
                return Accepted::Stale;
            }
            Err(e) => {
                // Whether the value is current cannot be told: a miss, kept for later.
                bump(&self.counters.errors);
                log::warn!(
                    "stratacache: could not read the tag generations of {:?} ({e}); treating it as a miss",
                    String::from_utf8_lossy(key)
                );
                if count {
                    bump(&slot.counters.misses);
                }
                return Accepted::Miss;
            }
        }
        let (payload_start, ttl_ms, kind) = (view.payload_start, view.ttl_ms, view.kind);
        if count {
            bump(&slot.counters.hits);
            bump(&self.counters.hits);
        }
        // Peeks (`contains_key`, `ttl`, the loader's second look) do not promote.
        if i > 0 && count {
            self.promote(key, i, &value);
        }
        Accepted::Found(Found {
            tier: i,
            source: slot.tier.kind(),
            blob: value.blob,
            payload_start,
            ttl_ms,
            expires_at_ms: value.expires_at_ms,
            kind,
            header: value.header,
        })
    }

    /// Recounts a counted hit as a miss: the value was found but could not be used (it
    /// does not decode as the type asked for).
    pub fn recount_as_miss(&self, found: &Found) {
        let slot = &self.slots[found.tier];
        slot.counters.hits.fetch_sub(1, Ordering::Relaxed);
        bump(&slot.counters.misses);
        self.counters.hits.fetch_sub(1, Ordering::Relaxed);
        bump(&self.counters.misses);
    }

    /// Copies a value found in tier `found_in` into the tiers above it, per the policy,
    /// keeping its expiry.
    fn promote(&self, key: &[u8], found_in: usize, value: &TierValue) {
        let due = match self.policies.promotion {
            Promotion::Never => false,
            Promotion::Always => true,
            Promotion::AfterHits(n) => self.promote_hits.as_ref().is_none_or(|s| s.hit(key, n)),
        };
        if !due {
            return;
        }
        let shared = value.to_envelope();
        let expires_at_ms = value.expires_at_ms;
        for slot in &self.slots[..found_in] {
            let result = match (&self.memory, slot.tier.kind()) {
                (Some(memory), TierKind::Memory) => {
                    memory.insert_entry(key, self.mem_entry(&shared, expires_at_ms));
                    Ok(())
                }
                _ => slot.tier.promote(key, &shared, expires_at_ms),
            };
            match result {
                Ok(()) => bump(&slot.counters.promotions),
                Err(e) => self.tier_failed(slot, "promote", key, &e),
            }
        }
    }

    /// Saves the `AfterHits` counts with the disk store (when they changed), so that a
    /// reopened cache goes on counting from them.
    pub fn save_hit_counts(&self) -> Result<()> {
        match (&self.promote_hits, &self.disk) {
            (Some(sketch), Some(store)) => sketch.save(store),
            _ => Ok(()),
        }
    }

    /// A memory entry with a fresh sequence number.
    pub fn mem_entry(&self, envelope: &Arc<[u8]>, expires_at_ms: Option<u64>) -> MemEntry {
        MemEntry {
            bytes: envelope.clone(),
            expires_at_ms,
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// Counts and logs a failed tier call the cache carries on from. A call the tier did
    /// not make (its circuit breaker is open) is counted as skipped, not as an error, and
    /// is not logged (the breaker logged opening).
    pub fn tier_failed(&self, slot: &Slot, op: &str, key: &[u8], error: &Error) {
        if matches!(error, Error::RedisUnavailable { .. }) {
            bump(&slot.counters.skipped);
            return;
        }
        bump(&slot.counters.errors);
        bump(&self.counters.errors);
        log::warn!(
            "stratacache: {} tier failed to {op} {:?}: {error}; carrying on without it",
            slot.tier.kind(),
            String::from_utf8_lossy(key)
        );
    }

    /// The envelope of a typed value, in this cache's codec.
    pub fn prepare_typed<T: Serialize + ?Sized>(
        &self,
        key: &[u8],
        options: &InsertOptions,
        value: &T,
    ) -> Result<Prepared> {
        let codec = self.policies.codec;
        self.prepare(options, 64, PayloadKind::Typed(codec), |buf| {
            codec.encode(value, buf).map_err(|e| serialization(key, e))
        })
    }

    /// The envelope of a payload the caller encoded (raw bytes, text, ...).
    pub fn prepare_payload(
        &self,
        options: &InsertOptions,
        kind: PayloadKind,
        value: &[u8],
    ) -> Result<Prepared> {
        self.prepare(options, value.len(), kind, |buf| {
            buf.extend_from_slice(value);
            Ok(())
        })
    }

    /// Builds the envelope for a value: header from the options and `kind`, then
    /// `write_payload`.
    pub fn prepare(
        &self,
        options: &InsertOptions,
        size_hint: usize,
        kind: PayloadKind,
        write_payload: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Prepared> {
        let ttl = options.ttl.or(self.policies.default_ttl);
        let ttl_ms = ttl.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let expires_at_ms = ttl_ms.map(|ms| self.clock.now_ms().saturating_add(ms).max(1));
        let stamps = self.tags.stamp(&options.tags)?;
        let header = envelope::header_len(ttl_ms, &stamps);
        let mut buf = Vec::with_capacity(header + size_hint);
        envelope::write_header(&mut buf, ttl_ms, &stamps, kind);
        write_payload(&mut buf)?;
        Ok(Prepared {
            envelope: Arc::from(buf),
            payload_start: header,
            expires_at_ms,
            kind,
        })
    }

    /// Writes a prepared value to the tiers its placement, the write policy and the memory
    /// admission choose.
    pub fn store(
        &self,
        key: &[u8],
        value: &Prepared,
        placement: Placement,
        origin: Origin,
    ) -> Result<()> {
        let memory_only = match placement {
            Placement::MemoryOnly => true,
            Placement::Default => self.write_back(),
            Placement::SkipMemory => false,
        };
        if memory_only {
            let Some(memory) = &self.memory else {
                return Err(Error::InvalidInput(
                    "Placement::MemoryOnly needs a memory tier; this cache has none".into(),
                ));
            };
            let entry = self.mem_entry(&value.envelope, value.expires_at_ms);
            if placement == Placement::Default {
                // Mark before inserting: an eviction right after the insert must find the mark.
                self.dirty.lock().insert(key.to_vec(), entry.seq);
            } else {
                self.clear_dirty(key);
                // Older copies below must not resurface when this short-lived one goes.
                for slot in self.slots.iter().filter(|s| !is_memory(s)) {
                    self.absorb_or(slot, "remove", key, slot.tier.remove(key))?;
                }
            }
            memory.insert_entry(key, entry);
            bump(&self.slot_of(TierKind::Memory).counters.inserts);
            return Ok(());
        }
        self.clear_dirty(key);
        // Lowest tier first, so a value is never in memory without being below it.
        for slot in self.slots.iter().rev() {
            let bypassed = is_memory(slot)
                && (placement == Placement::SkipMemory || !self.admits_now(key, origin));
            let written = if is_memory(slot) {
                if bypassed {
                    slot.tier.remove(key).map(|_| ())
                } else {
                    let entry = self.mem_entry(&value.envelope, value.expires_at_ms);
                    if let Some(memory) = &self.memory {
                        memory.insert_entry(key, entry);
                    }
                    Ok(())
                }
            } else {
                slot.tier.insert(key, &value.envelope, value.expires_at_ms)
            };
            match self.absorb_or(slot, "insert", key, written) {
                // Counted only when the tier took the value (not when Redis failed or
                // was skipped: that is counted as what it was).
                Ok(Some(())) if !bypassed => bump(&slot.counters.inserts),
                Ok(_) => {}
                Err(e) => {
                    // Do not leave an older value above the tier that failed.
                    if let Some(memory) = &self.memory {
                        let _ = memory.remove(key);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Whether a write-through write of `key` goes to the memory tier now (see
    /// [`MemoryAdmission`]).
    fn admits_now(&self, key: &[u8], origin: Origin) -> bool {
        let waits = match self.policies.memory_admission {
            MemoryAdmission::OnInsert => false,
            MemoryAdmission::OnRead => true,
            MemoryAdmission::LoadsOnRead => origin == Origin::Loader,
        };
        !waits
            || self.policies.promotion == Promotion::Never
            || self.slots.len() == 1
            || self.memory.as_ref().is_some_and(|m| m.holds(key))
    }

    /// Removes `key` from every tier; true when any tier had it.
    pub fn remove_everywhere(&self, key: &[u8]) -> Result<bool> {
        self.clear_dirty(key);
        let mut removed = false;
        for slot in &self.slots {
            removed |= self
                .absorb_or(slot, "remove", key, slot.tier.remove(key))?
                .unwrap_or(false);
        }
        Ok(removed)
    }

    /// Errors of the shared (Redis) tier are counted (as errors, or as skipped calls) and
    /// absorbed; others are returned. Returns `Ok(None)` for an absorbed error: the call
    /// did not do its work, and must not be counted as done.
    pub fn absorb_or<T>(
        &self,
        slot: &Slot,
        op: &str,
        key: &[u8],
        r: Result<T>,
    ) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if slot.tier.kind() == TierKind::Redis => {
                self.tier_failed(slot, op, key, &e);
                Ok(None)
            }
            Err(e) => {
                bump(&slot.counters.errors);
                Err(e)
            }
        }
    }

    /// The slot of a tier kind that is known to be configured.
    pub fn slot_of(&self, kind: TierKind) -> &Slot {
        self.slots
            .iter()
            .find(|s| s.tier.kind() == kind)
            .expect("tier kind is configured")
    }

    /// True when writes go to memory first.
    pub fn write_back(&self) -> bool {
        self.policies.write == WritePolicy::WriteBack && self.memory.is_some()
    }

    /// Forgets a write-back mark (the key was written everywhere or removed).
    pub fn clear_dirty(&self, key: &[u8]) {
        if self.write_back() {
            self.dirty.lock().remove(key);
        }
    }

    /// The remaining-TTL test of refresh-ahead.
    pub fn wants_refresh(&self, found: &Found) -> bool {
        let (Some(fraction), Some(ttl), Some(at)) = (
            self.policies.refresh_ahead,
            found.ttl_ms,
            found.expires_at_ms,
        ) else {
            return false;
        };
        let left = at.saturating_sub(self.clock.now_ms());
        (left as f64) < fraction * ttl as f64
    }
}

fn is_memory(slot: &Slot) -> bool {
    slot.tier.kind() == TierKind::Memory
}
