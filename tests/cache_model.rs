//! The tiered cache against a model: random sequences of insert / insert_with_ttl / get /
//! remove / remove_prefix / clock advance / reopen, checked against a `HashMap` of
//! key -> (value, expiry), under each promotion policy.
//!
//! Besides the values `get` returns, the model tracks which keys the memory tier must hold,
//! so every `get` also checks which tier answered it (`stats().tiers[i].hits`):
//! - `Promotion::Always`: a disk hit copies the value up, the next get is a memory hit;
//! - `Promotion::Never`: values found on disk stay there (every get after a reopen is a
//!   disk hit);
//! - `Promotion::AfterHits(n)`: the n-th disk hit copies it up, and so does every disk
//!   hit after it (the counts are saved at close and loaded at open; with six keys the
//!   sketch counts them exactly, and no case reaches its first halving).
//!
//! After every step, every key is on disk exactly when the model says it is live
//! (write-through), and the memory tier holds exactly the keys the model says it does
//! (an expired memory copy is dropped when a read finds it).
//!
//! TTLs are 10 s and more on the manual clock, far from any value a case reaches.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use stratacache::{Cache, ManualClock, Promotion, TierKind};

mod common;
use common::store::{DISK_CAPACITY, quiet, tiered};

const KEYS: [&str; 6] = ["a/0", "a/1", "a/2", "b/0", "b/1", "c"];
const PREFIXES: [&str; 4] = ["a/", "b", "c", "zz"];
const START_MS: u64 = 1_000_000;

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, u64),
    InsertTtl(usize, u64, u64),
    Get(usize),
    Remove(usize),
    RemovePrefix(usize),
    Advance(u64),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..KEYS.len(), any::<u64>()).prop_map(|(k, v)| Op::Insert(k, v)),
        3 => (0..KEYS.len(), any::<u64>(), 10_000..60_000u64).prop_map(|(k, v, t)| Op::InsertTtl(k, v, t)),
        8 => (0..KEYS.len()).prop_map(Op::Get),
        1 => (0..KEYS.len()).prop_map(Op::Remove),
        1 => (0..PREFIXES.len()).prop_map(Op::RemovePrefix),
        2 => (0..30_000u64).prop_map(Op::Advance),
        2 => Just(Op::Reopen),
    ]
}

/// The cache under test: a 4 MiB memory tier over a quiet disk tier, promoting by
/// `promotion`, its time from `clock`.
fn open(dir: &Path, clock: &Arc<ManualClock>, promotion: Promotion) -> Cache {
    tiered(4 << 20, quiet(dir).capacity_bytes(DISK_CAPACITY))
        .promotion(promotion)
        .clock(clock.clone())
        .open()
        .expect("open cache")
}

/// Index of a tier in `stats().tiers`.
fn tier_index(cache: &Cache, kind: TierKind) -> usize {
    cache
        .stats()
        .tiers
        .iter()
        .position(|t| t.tier == kind)
        .expect("tier configured")
}

struct Model {
    /// key -> (value, absolute expiry in ms)
    values: HashMap<&'static str, (u64, Option<u64>)>,
    /// Keys the memory tier holds (an expired copy stays until something touches the key:
    /// a get, remove, insert or reopen).
    in_memory: HashSet<&'static str>,
    /// Disk hits per key, across reopens (for `AfterHits`).
    lower_hits: HashMap<&'static str, u32>,
    /// The memory tier's sweep of expired copies: it runs on a memory insert once a value
    /// with a TTL went in since the last sweep and 60 s of cache time passed since it.
    sweep_last: u64,
    sweep_expiring: u64,
}

impl Model {
    fn live(&self, key: &str, now: u64) -> Option<u64> {
        self.values
            .get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
            .map(|(v, _)| *v)
    }

    fn drop_expired(&mut self, now: u64) {
        let expired: Vec<_> = self
            .values
            .iter()
            .filter(|(_, (_, exp))| exp.is_some_and(|e| e <= now))
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.values.remove(k);
        }
    }

    /// A value goes into the memory tier (insert or promotion), maybe sweeping.
    fn memory_insert(&mut self, key: &'static str, now: u64) {
        if self.values.get(key).is_some_and(|(_, exp)| exp.is_some()) {
            self.sweep_expiring += 1;
        }
        self.in_memory.insert(key);
        if self.sweep_expiring > 0 && now - self.sweep_last >= 60_000 {
            self.sweep_last = now;
            self.sweep_expiring = 0;
            let values = &self.values;
            self.in_memory.retain(|k| values.contains_key(k));
        }
    }

    fn forget(&mut self, key: &str) {
        self.values.remove(key);
        self.in_memory.remove(key);
    }
}

fn run(promotion: Promotion, ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let mut now = START_MS;
    let mut cache = open(dir.path(), &clock, promotion);
    let (mem, disk) = (
        tier_index(&cache, TierKind::Memory),
        tier_index(&cache, TierKind::Disk),
    );
    prop_assert_eq!((mem, disk), (0, 1), "default read order is memory, disk");
    let mut model = Model {
        values: HashMap::new(),
        in_memory: HashSet::new(),
        lower_hits: HashMap::new(),
        sweep_last: START_MS,
        sweep_expiring: 0,
    };

    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Insert(k, v) => {
                cache.insert(KEYS[k], &v).unwrap();
                model.values.insert(KEYS[k], (v, None));
                model.memory_insert(KEYS[k], now);
            }
            Op::InsertTtl(k, v, ttl) => {
                cache
                    .insert_with_ttl(KEYS[k], &v, Duration::from_millis(ttl))
                    .unwrap();
                model.values.insert(KEYS[k], (v, Some(now + ttl)));
                model.memory_insert(KEYS[k], now);
            }
            Op::Get(k) => {
                let key = KEYS[k];
                let before = cache.stats();
                let got: Option<u64> = cache.get(key).unwrap();
                let after = cache.stats();
                let expected = model.live(key, now);
                prop_assert_eq!(got, expected, "step {}: get {}", step, key);
                let mem_hits = after.tiers[mem].hits - before.tiers[mem].hits;
                let disk_hits = after.tiers[disk].hits - before.tiers[disk].hits;
                prop_assert_eq!(after.hits - before.hits, u64::from(expected.is_some()));
                prop_assert_eq!(after.misses - before.misses, u64::from(expected.is_none()));
                if expected.is_none() {
                    prop_assert_eq!((mem_hits, disk_hits), (0, 0), "step {}: miss", step);
                    // A get that finds the memory copy expired drops it.
                    model.in_memory.remove(key);
                } else if model.in_memory.contains(key) {
                    prop_assert_eq!(
                        (mem_hits, disk_hits),
                        (1, 0),
                        "step {}: {} should be a memory hit",
                        step,
                        key
                    );
                } else {
                    prop_assert_eq!(
                        (mem_hits, disk_hits),
                        (0, 1),
                        "step {}: {} should be a disk hit",
                        step,
                        key
                    );
                    let promote = match promotion {
                        Promotion::Always => true,
                        Promotion::Never => false,
                        Promotion::AfterHits(n) => {
                            let hits = model.lower_hits.entry(key).or_insert(0);
                            *hits += 1;
                            *hits >= n
                        }
                    };
                    if promote {
                        model.memory_insert(key, now);
                    }
                    prop_assert_eq!(
                        after.tiers[mem].promotions - before.tiers[mem].promotions,
                        u64::from(promote)
                    );
                }
            }
            Op::Remove(k) => {
                let key = KEYS[k];
                let had = model.live(key, now).is_some();
                let removed = cache.remove(key).unwrap();
                prop_assert_eq!(removed, had, "step {}: remove {}", step, key);
                model.forget(key);
            }
            Op::RemovePrefix(p) => {
                let prefix = PREFIXES[p];
                cache.remove_prefix(prefix).unwrap();
                let gone: Vec<_> = KEYS.iter().filter(|k| k.starts_with(prefix)).collect();
                for k in gone {
                    model.forget(k);
                }
            }
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                now += ms;
                model.drop_expired(now);
            }
            Op::Reopen => {
                cache.close().unwrap();
                cache = open(dir.path(), &clock, promotion);
                // The hit counts were saved at close: they carry on.
                model.in_memory.clear();
                model.sweep_last = now;
                model.sweep_expiring = 0;
                let stats = cache.stats();
                prop_assert_eq!(
                    stats.tiers[mem].entries,
                    Some(0),
                    "memory is empty after reopen"
                );
            }
        }

        // Every tier agrees with the model.
        let store = cache.disk_store().expect("disk tier");
        for key in KEYS {
            let live = model.live(key, now).is_some();
            prop_assert_eq!(
                store.contains_key(key).unwrap(),
                live,
                "step {} ({:?}): disk copy of {}",
                step,
                op,
                key
            );
        }
        let stats = cache.stats();
        prop_assert_eq!(
            stats.tiers[mem].entries,
            Some(model.in_memory.len() as u64),
            "step {} ({:?}): memory tier entries (model: {:?})",
            step,
            op,
            model.in_memory
        );
    }
    cache.close().unwrap();
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn promotion_always_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Promotion::Always, &ops)?;
    }

    #[test]
    fn promotion_never_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Promotion::Never, &ops)?;
    }

    #[test]
    fn promotion_after_hits_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(Promotion::AfterHits(3), &ops)?;
    }
}

/// The per-policy behaviour spelled out once, deterministically: after a reopen the value is
/// only on disk; which get is the first memory hit depends on the policy.
#[test]
fn first_memory_hit_after_reopen_depends_on_policy() {
    for (promotion, first_memory_hit) in [
        (Promotion::Always, Some(2)),
        (Promotion::AfterHits(1), Some(2)),
        (Promotion::AfterHits(3), Some(4)),
        (Promotion::Never, None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(START_MS);
        let cache = open(dir.path(), &clock, promotion);
        cache.insert("k", &7u32).unwrap();
        cache.close().unwrap();
        let cache = open(dir.path(), &clock, promotion);
        let mut memory_hit_at = None;
        for n in 1..=6 {
            let before = cache.stats().tiers[0].hits;
            assert_eq!(cache.get::<u32>("k").unwrap(), Some(7));
            if cache.stats().tiers[0].hits > before {
                memory_hit_at = Some(n);
                break;
            }
        }
        assert_eq!(memory_hit_at, first_memory_hit, "{promotion:?}");
        cache.close().unwrap();
    }
}

/// Remove and expiry take a value out of every tier, including the memory copy.
#[test]
fn remove_and_expiry_leave_no_tier_holding_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let cache = open(dir.path(), &clock, Promotion::Always);
    cache.insert("gone", &1u8).unwrap();
    cache
        .insert_with_ttl("short", &2u8, Duration::from_secs(10))
        .unwrap();
    cache.insert("stays", &3u8).unwrap();
    let store = cache.disk_store().unwrap();
    assert!(store.contains_key("gone").unwrap());
    assert_eq!(cache.stats().tiers[0].entries, Some(3));

    assert!(cache.remove("gone").unwrap());
    assert!(!store.contains_key("gone").unwrap());
    assert_eq!(cache.stats().tiers[0].entries, Some(2));
    assert_eq!(cache.get::<u8>("gone").unwrap(), None);
    assert!(
        !cache.remove("gone").unwrap(),
        "second remove finds nothing"
    );

    clock.advance(Duration::from_secs(10));
    assert_eq!(cache.get::<u8>("short").unwrap(), None);
    assert_eq!(cache.ttl("short").unwrap(), None);
    assert!(!store.contains_key("short").unwrap());
    assert!(
        !cache.remove("short").unwrap(),
        "an expired value is not removed"
    );
    let stats = cache.stats();
    assert_eq!(
        stats.tiers[0].entries,
        Some(1),
        "only `stays` is left in memory"
    );
    assert_eq!(stats.tiers[0].hits, 0);
    let evictions = stats.tiers[0].evictions;
    assert_eq!(
        (evictions.explicit, evictions.expired),
        (1, 1),
        "{evictions:?}"
    );
    assert_eq!(cache.get::<u8>("stays").unwrap(), Some(3));
    cache.close().unwrap();
}
