//! Lookups that reach the index (no location cache in front of it) share one read
//! transaction between commits. Each commit must retire it: a lookup after a checkpoint sees
//! what the checkpoint committed, and a reader never goes back to an older value.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::store::quiet;

const KEYS: u32 = 20;
const ROUNDS: u32 = 60;

fn key(k: u32) -> String {
    format!("key-{k}")
}

fn round_of(value: &[u8]) -> u32 {
    u32::from_le_bytes(value.try_into().expect("4-byte value"))
}

#[test]
fn lookups_through_the_index_see_every_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = quiet(dir.path())
        .location_cache_entries(0)
        .open()
        .expect("open");
    let writing = AtomicBool::new(true);
    std::thread::scope(|s| {
        // A reader that never sees a key's round go backwards.
        s.spawn(|| {
            let mut seen = [0u32; KEYS as usize];
            while writing.load(Ordering::Relaxed) {
                for k in 0..KEYS {
                    if let Some(v) = store.get(key(k)).expect("get") {
                        let round = round_of(&v);
                        assert!(
                            round >= seen[k as usize],
                            "{} went back from round {} to {round}",
                            key(k),
                            seen[k as usize]
                        );
                        seen[k as usize] = round;
                    }
                }
            }
        });
        for round in 1..=ROUNDS {
            for k in 0..KEYS {
                store.insert(key(k), &round.to_le_bytes()).expect("insert");
            }
            if round % 7 == 0 {
                store.remove(key(3)).expect("remove");
            }
            store.flush().expect("flush");
            // The reads after the last round's checkpoint began the shared transaction;
            // this round's checkpoint must have retired it.
            for k in 0..KEYS {
                let got = store.get(key(k)).expect("get").map(|v| round_of(&v));
                let expected = (k != 3 || round % 7 != 0).then_some(round);
                assert_eq!(got, expected, "{} after round {round}", key(k));
            }
        }
        writing.store(false, Ordering::Relaxed);
    });
    store.close().expect("close");
}
