//! `stats()` is exact and cheap: it counts the changes staged since the last checkpoint
//! without making them durable (no sync, no commit), and agrees with the stats a checkpoint
//! would give at every point of a random run of inserts, overwrites, removes and expiry
//! changes.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratacache::fuzzing::Faults;
use stratacache::{Clock, DiskStore, ManualClock, Stats};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The size fields, which staged changes move (the counters do not depend on a checkpoint).
fn sizes(s: &Stats) -> (u64, u64) {
    (s.entries, s.live_bytes)
}

/// Stats before and after a flush, asserting that the first already counted what the
/// flush committed; `label` names the moment in a failure.
fn stats_around_a_flush(
    store: &DiskStore,
    label: &str,
) -> Result<(Stats, Stats), Box<dyn std::error::Error>> {
    let staged = store.stats()?;
    store.flush()?;
    let committed = store.stats()?;
    assert_eq!(
        sizes(&staged),
        sizes(&committed),
        "{label}: {staged:?} vs {committed:?}"
    );
    Ok((staged, committed))
}

#[test]
fn stats_count_staged_changes_without_syncing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let faults = Arc::new(Faults::default());
    let store = DiskStore::builder(dir.path())
        .checkpoint_interval(None)
        .background_maintenance(false)
        .faults(faults.clone())
        .open()?;
    for i in 0..1000u32 {
        store.insert(format!("k{i}"), &vec![i as u8; 100 + (i % 50) as usize])?;
    }
    store.flush()?;
    for i in 0..300u32 {
        store.insert(format!("k{i}"), &[1u8; 10])?; // overwrites, smaller
    }
    for i in 900..1000u32 {
        store.remove(format!("k{i}"))?;
    }
    for i in 1000..1200u32 {
        store.insert(format!("k{i}"), b"new")?;
    }
    // A checkpoint now would sync a segment: the armed failure would fire and poison the store.
    faults.fail_sync(1, libc::EIO);
    let staged = store.stats()?;
    assert_eq!(staged.entries, 1100, "{staged:?}");
    store.insert("still-writable", b"yes")?; // not poisoned: stats synced nothing
    faults.disarm();
    store.remove("still-writable")?;
    let (staged, committed) = stats_around_a_flush(&store, "after a removal")?;
    assert_eq!(staged.disk_bytes, committed.disk_bytes);
    Ok(())
}

#[test]
fn stats_agree_with_a_checkpoint_at_every_point_of_a_random_run() -> TestResult {
    let seed = 0x0005_7A75_u64;
    println!("seed {seed:#x}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(1_000_000);
    let store = DiskStore::builder(dir.path())
        .checkpoint_interval(None)
        .background_maintenance(false)
        .clock(clock.clone())
        .commit_batch(64)
        .open()?;
    for round in 0..200 {
        for _ in 0..rng.random_range(1..40) {
            let key = format!("k{}", rng.random_range(0..300));
            match rng.random_range(0..10) {
                0..=5 => {
                    let len = rng.random_range(0..3000);
                    store.insert(&key, &vec![b'x'; len])?;
                }
                6 => {
                    let at = clock.now_ms() + rng.random_range(1..100_000);
                    store.insert_expiring_at(&key, b"ttl", at)?;
                }
                7 => {
                    store.remove(&key)?;
                }
                8 => {
                    store.expire(&key, std::time::Duration::from_secs(50))?;
                }
                _ => {
                    store.persist(&key)?;
                }
            }
        }
        stats_around_a_flush(&store, &format!("round {round}"))?;
    }
    Ok(())
}
