//! `compare scale`: many small entries (20-byte keys, 100-byte values) through stratacache's
//! disk store, redb (values inline, one transaction per batch: durable, or, as
//! "redb-batched", durable only at the end) and fjall, each in a
//! fresh directory: insert rate (batches of 1000, then durable), disk bytes per payload byte
//! (payload = key + value), open time, and random gets per second after a reopen.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use stratacache::sim::Rng;

use crate::dir_bytes;
use crate::engines::{self, Params, Res};

const USAGE: &str = "\
compare scale [FLAGS]: small entries through stratacache, redb and fjall

redb commits each batch durably; redb-batched commits batches without a sync and makes
them durable at the end, as stratacache and fjall do.

  --entries N         entries per engine (default 1000000)
  --gets N            random gets after the reopen (default 500000)
  --engines A,B,..    subset of: stratacache-disk,redb,redb-batched,fjall (default all)
  --out FILE          JSON results (default compare-scale.json)
  --workdir DIR       scratch directory (default: a new one under $TMPDIR)
";

const BATCH: usize = 1000;
const VALUE_LEN: usize = 100;

struct Args {
    entries: u64,
    gets: usize,
    engines: Vec<String>,
    out: String,
    workdir: Option<String>,
}

/// One engine's row.
#[derive(Debug, Serialize)]
struct ScaleResult {
    engine: String,
    entries: u64,
    inserts_per_second: f64,
    disk_bytes_allocated: u64,
    disk_per_payload: f64,
    close_ms: f64,
    open_ms: f64,
    gets_per_second: f64,
}

fn parse(mut it: impl Iterator<Item = String>) -> Res<Args> {
    let mut a = Args {
        entries: 1_000_000,
        gets: 500_000,
        engines: ["stratacache-disk", "redb", "redb-batched", "fjall"]
            .map(String::from)
            .to_vec(),
        out: "compare-scale.json".into(),
        workdir: None,
    };
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--entries" => a.entries = value.parse()?,
            "--gets" => a.gets = value.parse()?,
            "--engines" => a.engines = value.split(',').map(|s| s.trim().to_string()).collect(),
            "--out" => a.out = value,
            "--workdir" => a.workdir = Some(value),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}").into()),
        }
    }
    for e in &a.engines {
        if !["stratacache-disk", "redb", "redb-batched", "fjall"].contains(&e.as_str()) {
            return Err(format!("unknown engine {e:?} for scale").into());
        }
    }
    Ok(a)
}

/// The 20-byte key of entry `i` (scattered, as hashed ids are).
fn key(i: u64) -> Vec<u8> {
    format!("key:{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes()
}

/// An incompressible 100-byte value for entry `i`.
fn value(i: u64) -> Vec<u8> {
    let mut rng = Rng::new(i ^ 0x5ca1e);
    (0..VALUE_LEN / 4)
        .flat_map(|_| (rng.next_u64() as u32).to_le_bytes())
        .collect()
}

fn run_engine(name: &str, dir: &Path, a: &Args) -> Res<ScaleResult> {
    let params = Params {
        memory_bytes: 64 << 20,
        disk_bytes: 1 << 40,
        redis_port: 0,
    };
    let mut engine = engines::open(name, dir, &params)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut spent = 0.0;
    let mut i = 0;
    while i < a.entries {
        let end = (i + BATCH as u64).min(a.entries);
        batch.clear();
        batch.extend((i..end).map(|j| (key(j), value(j))));
        let start = Instant::now();
        engine.insert_batch(&batch)?;
        spent += start.elapsed().as_secs_f64();
        i = end;
    }
    let start = Instant::now();
    engine.persist()?;
    spent += start.elapsed().as_secs_f64();
    // Apart from the insert rate: stratacache rewrites a bulk-loaded index here.
    let start = Instant::now();
    engine.close()?;
    let close_ms = start.elapsed().as_secs_f64() * 1e3;
    let (_, allocated) = dir_bytes(dir);

    let start = Instant::now();
    let mut engine = engines::open(name, dir, &params)?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut rng = Rng::new(0x2545_f491);
    let ids: Vec<u64> = (0..a.gets).map(|_| rng.next_u64() % a.entries).collect();
    let keys: Vec<Vec<u8>> = ids.iter().map(|&id| key(id)).collect();
    let start = Instant::now();
    let mut found = 0usize;
    for k in &keys {
        found += usize::from(engine.get(k, &mut |v| assert_eq!(v.len(), VALUE_LEN))?);
    }
    let get_seconds = start.elapsed().as_secs_f64();
    engine.close()?;
    if found != keys.len() {
        return Err(format!("{name}: {found} of {} keys found", keys.len()).into());
    }
    let payload = a.entries * (20 + VALUE_LEN as u64);
    Ok(ScaleResult {
        engine: name.to_string(),
        entries: a.entries,
        inserts_per_second: a.entries as f64 / spent,
        disk_bytes_allocated: allocated,
        disk_per_payload: allocated as f64 / payload as f64,
        close_ms,
        open_ms,
        gets_per_second: a.gets as f64 / get_seconds,
    })
}

/// Runs `compare scale` with the flags in `it`.
pub fn main(it: impl Iterator<Item = String>) -> Res<()> {
    let a = parse(it)?;
    let root = match &a.workdir {
        Some(d) => d.into(),
        None => std::env::temp_dir().join(format!("stratacache-scale-{}", std::process::id())),
    };
    std::fs::create_dir_all(&root)?;
    println!(
        "| engine | entries | insert/s | disk bytes / payload | close after the fill | open | random get/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut results = Vec::new();
    for name in &a.engines {
        let dir = root.join(name);
        let r = run_engine(name, &dir, &a);
        std::fs::remove_dir_all(&dir).ok();
        let r = r?;
        println!(
            "| {} | {} | {:.0}k | {:.2}x | {:.0} ms | {:.1} ms | {:.0}k |",
            r.engine,
            r.entries,
            r.inserts_per_second / 1e3,
            r.disk_per_payload,
            r.close_ms,
            r.open_ms,
            r.gets_per_second / 1e3
        );
        results.push(r);
    }
    std::fs::remove_dir_all(&root).ok();
    std::fs::write(&a.out, serde_json::to_string_pretty(&results)?)?;
    Ok(())
}
