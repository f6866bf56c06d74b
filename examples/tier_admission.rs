//! Replays request traces through a `Cache` with a memory tier over a disk tier, every
//! request a `get_with` whose loader stands for an OCR run, under the memory admissions
//! `OnInsert` (a loaded value goes to memory at once) and `LoadsOnRead` (the default: it
//! goes to memory once read again). Prints where requests were answered: the memory tier,
//! the disk tier, or neither (a load).
//!
//! ```text
//! cargo run --release --example tier_admission             # 100k keys, 1.2M requests per trace
//! cargo run --release --example tier_admission -- --quick  # 40k keys, 240k requests
//! ```

use stratacache::sim::{policy_traces, value_for};
use stratacache::{Cache, DiskStore, MemoryAdmission, TierKind};

const VALUE: usize = 4096;

/// Requests answered by (memory, disk, neither) after the first quarter (the warm-up).
fn replay(keys: &[u64], memory: u64, disk: u64, admission: MemoryAdmission) -> [u64; 3] {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = Cache::builder()
        .memory(memory)
        .disk(DiskStore::builder(dir.path()).capacity_bytes(disk))
        .memory_admission(admission)
        .open()
        .expect("open cache");
    let warm = keys.len() / 4;
    let hits = |tier| -> u64 {
        let stats = cache.stats();
        stats
            .tiers
            .iter()
            .filter(|t| t.tier == tier)
            .map(|t| t.hits)
            .sum()
    };
    let mut before = [0; 3];
    let mut loads = 0;
    for (i, key) in keys.iter().enumerate() {
        if i == warm {
            before = [hits(TierKind::Memory), hits(TierKind::Disk), loads];
        }
        let value: Vec<u8> = cache
            .get_with(format!("k{key}"), || {
                loads += 1;
                value_for(*key, VALUE)
            })
            .expect("get_with");
        assert_eq!(value.len(), VALUE);
    }
    let after = [hits(TierKind::Memory), hits(TierKind::Disk), loads];
    std::array::from_fn(|i| after[i] - before[i])
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (keys, len) = if quick {
        (40_000, 240_000)
    } else {
        (100_000, 1_200_000)
    };
    println!("{VALUE}-byte values; memory 2.5% and disk 10% of the distinct keys' bytes");
    println!("| trace | admission | memory hits | disk hits | loads | loads vs OnInsert |");
    println!("|---|---|---|---|---|---|");
    for trace in policy_traces(keys, len) {
        let bytes = (trace.unique() * VALUE) as f64;
        let (memory, disk) = (
            (bytes * 0.025) as u64,
            (bytes * 0.10 / 0.94) as u64 + (4 << 20),
        );
        let measured = (trace.keys.len() - trace.keys.len() / 4) as f64;
        let mut base = None;
        for admission in [MemoryAdmission::OnInsert, MemoryAdmission::LoadsOnRead] {
            let [mem, disk_hits, loads] = replay(&trace.keys, memory, disk, admission);
            let base_loads = *base.get_or_insert(loads);
            println!(
                "| {} | {admission:?} | {:.3} | {:.3} | {:.3} | {:.3}x |",
                trace.name,
                mem as f64 / measured,
                disk_hits as f64 / measured,
                loads as f64 / measured,
                loads as f64 / base_loads as f64,
            );
        }
    }
}
