//! Seeded randomness. A randomised test draws a fresh seed on every run and prints it; to
//! replay a failure, run it again with `STRATACACHE_SEED=<the printed seed>`.
//!
//! Tests that use a fixed seed (their data must be the same on every run) seed their
//! generator themselves and need nothing from here but perhaps [`incompressible`].

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The seed of a randomised test: `STRATACACHE_SEED` when it is set (to replay a run), a
/// fresh random one otherwise. Printed as `TEST: STRATACACHE_SEED=SEED`, so a failing run
/// says how to replay it.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("STRATACACHE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    println!("{test}: STRATACACHE_SEED={seed}");
    seed
}

/// A generator seeded with `seed(test)`, and that seed (for failure messages, and for
/// tests that derive more generators from it).
pub fn seeded_rng(test: &str) -> (StdRng, u64) {
    let seed = seed(test);
    (StdRng::seed_from_u64(seed), seed)
}

/// `len` bytes that lz4 cannot shrink, a pure function of (`seed`, `len`): different for
/// every seed, so a value can be rebuilt to check it instead of being kept.
pub fn incompressible(seed: u64, len: usize) -> Vec<u8> {
    // splitmix64 of (seed, index): every byte depends on all bits of both.
    (0..len as u64)
        .map(|i| {
            let mut z = (seed << 32 | i).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}
