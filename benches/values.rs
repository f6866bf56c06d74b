//! `DiskStore` insert and get across value sizes and compressibility: the lz4 path
//! (OCR-like text, compressed on write, decoded on read) against the raw path (random
//! bytes, stored as they are, read back from the mapping). Throughput is in value bytes.
//!
//! Groups `insert_by_value` and `get_by_value`, ids `<size>/<kind>` with sizes 1 KiB,
//! 16 KiB and 256 KiB and kinds `text` and `random`. Each get copies the value out (as an
//! application would) so the raw and lz4 paths do comparable work.
//!
//! The stores are capped at 512 MiB, so a long insert run reaches capacity and evicts (the
//! at-capacity cost is measured on its own in `benches/space.rs`).
//!
//! Smoke mode (`cargo test --benches` or `STRATACACHE_BENCH_QUICK=1`) uses 64 values.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use stratacache::DiskStore;

fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
        || std::env::var("STRATACACHE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// OCR-like text: words from a small vocabulary with numbers, about 3x compressible.
fn text_value(size: usize, rng: &mut StdRng) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "Rechnung", "invoice", "total", "Betrag", "date", "customer", "net", "payment", "the",
        "of", "and", "terms", "due", "Summe", "page",
    ];
    let mut out = Vec::with_capacity(size + 16);
    while out.len() < size {
        out.extend_from_slice(WORDS[rng.random_range(0..WORDS.len())].as_bytes());
        out.push(if rng.random_range(0..12) == 0 {
            b'\n'
        } else {
            b' '
        });
        if rng.random_range(0..8) == 0 {
            out.extend_from_slice(rng.random_range(0..100_000u32).to_string().as_bytes());
            out.push(b' ');
        }
    }
    out.truncate(size);
    out
}

fn values(count: usize, size: usize, text: bool, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            if text {
                text_value(size, &mut rng)
            } else {
                let mut v = vec![0u8; size];
                rng.fill_bytes(&mut v);
                v
            }
        })
        .collect()
}

/// A store capped at 512 MiB: long insert runs evict instead of filling the disk.
fn open(dir: &std::path::Path) -> DiskStore {
    DiskStore::builder(dir)
        .capacity_bytes(512 << 20)
        .open()
        .expect("open bench store")
}

fn bench_values(c: &mut Criterion) {
    let cases: [(usize, &str); 3] = [
        (1 << 10, "1KiB"),
        (16 << 10, "16KiB"),
        (256 << 10, "256KiB"),
    ];
    for (size, size_name) in cases {
        // About 64 MiB of values per case (at least 64 values), 64 in smoke mode.
        let count = if quick() {
            64
        } else {
            ((64 << 20) / size).max(64)
        };
        for (kind, text) in [("text", true), ("random", false)] {
            let pool = values(count, size, text, size as u64);
            let id = BenchmarkId::new(size_name, kind);

            let mut group = c.benchmark_group("insert_by_value");
            group.throughput(Throughput::Bytes(size as u64));
            group.sample_size(20);
            group.measurement_time(std::time::Duration::from_secs(3));
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path());
            let mut next = 0u64;
            group.bench_function(id.clone(), |b| {
                b.iter(|| {
                    let i = next;
                    next += 1;
                    store
                        .insert(i.to_be_bytes(), &pool[i as usize % pool.len()])
                        .unwrap();
                })
            });
            group.finish();
            drop(store);

            let mut group = c.benchmark_group("get_by_value");
            group.throughput(Throughput::Bytes(size as u64));
            group.sample_size(20);
            group.measurement_time(std::time::Duration::from_secs(3));
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path());
            for (i, v) in pool.iter().enumerate() {
                store.insert((i as u64).to_be_bytes(), v).unwrap();
            }
            store.flush().unwrap();
            let mut i = 0usize;
            group.bench_function(id, |b| {
                b.iter(|| {
                    i = (i + 7919) % pool.len();
                    let value = store.get((i as u64).to_be_bytes()).unwrap().unwrap();
                    black_box(value.to_vec());
                })
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench_values);
criterion_main!(benches);
