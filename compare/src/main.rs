//! `compare`: stratacache side by side with foyer, redb, fjall and Redis, in one run.
//!
//! For each value size (4 KiB and 256 KiB, incompressible bytes) and each engine:
//! 1. insert N values in batches (about 4 MiB a batch), then make them durable; timed;
//! 2. disk bytes allocated in the engine's directory;
//! 3. Zipf(0.9) reads (per-read latency into a histogram);
//! 4. clean close, reopen (timed), read every key back and count the byte-identical ones;
//! 5. SIGKILL: a child process (this binary, `kill-child`) inserts into a fresh directory and
//!    reports each batch it has made durable; it is killed with SIGKILL halfway (for Redis the
//!    server is killed); the parent reopens and counts acknowledged entries that survived.
//!
//! `compare --help` lists the flags; results go to one JSON file that
//! `render_table.py` turns into the README table.

mod engines;
mod redis_server;
mod scale;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engines::{Engine, Params, Res};
use redis_server::RedisServer;
use serde::Serialize;
use stratacache::sim::{Rng, Zipf};

const USAGE: &str = "\
compare [FLAGS]: benchmark stratacache against foyer, redb, fjall and Redis
compare scale --help: many small entries through stratacache, redb and fjall

  --out FILE          JSON results (default compare-results.json)
  --n4k N             number of 4 KiB values (default 200000)
  --n256k N           number of 256 KiB values (default 4000)
  --reads4k N         Zipf(0.9) reads at 4 KiB (default 200000)
  --reads256k N       Zipf(0.9) reads at 256 KiB (default 20000)
  --mem-fraction F    memory tier budget as a fraction of the data (default 0.05)
  --engines A,B,..    subset of: stratacache,stratacache-disk,foyer,foyer-defaults,redb,fjall,redis
  --workdir DIR       scratch directory (default: a new one under $TMPDIR)
";

#[derive(Debug, Clone, Serialize)]
struct Args {
    out: PathBuf,
    n4k: usize,
    n256k: usize,
    reads4k: usize,
    reads256k: usize,
    mem_fraction: f64,
    engines: Vec<String>,
    workdir: Option<PathBuf>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Res<Args> {
    let mut a = Args {
        out: "compare-results.json".into(),
        n4k: 200_000,
        n256k: 4_000,
        reads4k: 200_000,
        reads256k: 20_000,
        mem_fraction: 0.05,
        engines: engines::ALL.iter().map(|s| s.to_string()).collect(),
        workdir: None,
    };
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => a.out = value.into(),
            "--n4k" => a.n4k = value.parse()?,
            "--n256k" => a.n256k = value.parse()?,
            "--reads4k" => a.reads4k = value.parse()?,
            "--reads256k" => a.reads256k = value.parse()?,
            "--mem-fraction" => a.mem_fraction = value.parse()?,
            "--engines" => {
                a.engines = value.split(',').map(|s| s.trim().to_string()).collect();
                for e in &a.engines {
                    if !engines::ALL.contains(&e.as_str()) {
                        return Err(format!("unknown engine {e:?}").into());
                    }
                }
            }
            "--workdir" => a.workdir = Some(value.into()),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}").into()),
        }
    }
    Ok(a)
}

// ---------------------------------------------------------------- data

fn key(id: u64) -> Vec<u8> {
    format!("key-{id:010}").into_bytes()
}

fn value_seed(id: u64, size: usize) -> u64 {
    id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ size as u64
}

/// The value for `id`: incompressible pseudo-random bytes (lz4 cannot shrink them).
fn fill_value(id: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    let mut rng = Rng::new(value_seed(id, size));
    while buf.len() < size {
        let word = rng.next_u64().to_le_bytes();
        let take = (size - buf.len()).min(8);
        buf.extend_from_slice(&word[..take]);
    }
}

/// Cheap check for the timed read loop: length and the first 8 bytes.
fn looks_right(id: u64, size: usize, v: &[u8]) -> bool {
    let first = Rng::new(value_seed(id, size)).next_u64().to_le_bytes();
    v.len() == size && v[..8.min(size)] == first[..8.min(size)]
}

fn batch_len(size: usize) -> usize {
    ((4 << 20) / size).max(1)
}

fn make_batch(ids: std::ops::Range<u64>, size: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    ids.map(|id| {
        let mut v = Vec::with_capacity(size);
        fill_value(id, size, &mut v);
        (key(id), v)
    })
    .collect()
}

/// (apparent bytes, allocated bytes) of every file under `dir`.
fn dir_bytes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                apparent += meta.len();
                allocated += meta.blocks() * 512;
            }
        }
    }
    (apparent, allocated)
}

// ---------------------------------------------------------------- results

#[derive(Debug, Default, Serialize)]
struct EngineResult {
    engine: String,
    value_size: usize,
    entries: usize,
    /// Seconds to insert everything and make it durable (value generation not counted).
    insert_seconds: f64,
    insert_ops_per_sec: f64,
    insert_mib_per_sec: f64,
    /// Sum of file lengths after the inserts (sparse files count in full).
    disk_bytes_apparent: u64,
    /// Allocated bytes (st_blocks) after the inserts: what the data really takes.
    disk_bytes: u64,
    /// `disk_bytes` / bytes of values stored.
    disk_bytes_per_value_byte: f64,
    reads: usize,
    read_ops_per_sec: f64,
    read_p50_us: f64,
    read_p99_us: f64,
    read_max_us: f64,
    /// Fraction of reads that found their key.
    hit_rate: f64,
    /// Tiered engines: reads answered by the memory tier, by the disk tier.
    memory_tier_hits: Option<u64>,
    disk_tier_hits: Option<u64>,
    /// Disk-tier hits / reads that reached the disk tier (missed memory).
    disk_tier_hit_rate: Option<f64>,
    /// Tiered engines: disk-tier hits per second spent serving them (the rate at which the
    /// disk tier serves hits: disk-tier hits / total latency of those reads).
    disk_tier_hits_per_sec: Option<f64>,
    /// Latency of the reads the disk tier answered, p50 / p99.
    disk_tier_p50_us: Option<f64>,
    disk_tier_p99_us: Option<f64>,
    /// Reads that returned bytes that were not the value (should be 0).
    wrong_values: u64,
    /// Clean close then open, seconds.
    restart_open_seconds: f64,
    /// Entries that read back byte-identical after the clean restart, of `entries`.
    restart_survived: usize,
    restart_read_all_seconds: f64,
    /// SIGKILL test: entries the child acknowledged as persisted before the kill.
    kill_acknowledged: usize,
    /// Of those, entries that read back byte-identical after reopening.
    kill_survived: usize,
    kill_open_seconds: f64,
    error: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    unix_time: u64,
    args: &'a Args,
    value_kind: &'static str,
    redis_server_version: String,
    results: Vec<EngineResult>,
}

// ---------------------------------------------------------------- workloads

/// One engine's view of where its data lives: an embedded engine opens a directory; Redis is
/// a server the harness runs with its AOF in the directory.
struct Subject {
    name: String,
    dir: PathBuf,
    params: Params,
    server: Option<RedisServer>,
}

impl Subject {
    fn new(name: &str, dir: PathBuf, params: Params) -> Res<Self> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut params = params;
        let server = if name == "redis" {
            let s = RedisServer::start(&dir)?;
            params.redis_port = s.port;
            Some(s)
        } else {
            None
        };
        Ok(Self {
            name: name.to_string(),
            dir,
            params,
            server,
        })
    }

    fn open(&self) -> Res<Box<dyn Engine>> {
        engines::open(&self.name, &self.dir, &self.params)
    }

    /// Closes cleanly and reopens; returns the engine and the open time.
    fn restart(&mut self, engine: Box<dyn Engine>) -> Res<(Box<dyn Engine>, Duration)> {
        engine.close()?;
        if let Some(server) = self.server.as_mut() {
            server.shutdown()?;
            let took = server.spawn()?;
            return Ok((self.open()?, took));
        }
        let started = Instant::now();
        let engine = self.open()?;
        Ok((engine, started.elapsed()))
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        self.server.take(); // kills the server before its directory goes
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads ids `0..n` and counts byte-identical values.
fn count_survivors(engine: &mut dyn Engine, n: usize, size: usize) -> Res<usize> {
    let mut expected = Vec::with_capacity(size);
    let mut ok = 0;
    for id in 0..n as u64 {
        fill_value(id, size, &mut expected);
        let mut same = false;
        engine.get(&key(id), &mut |v| same = v == expected.as_slice())?;
        ok += same as usize;
    }
    Ok(ok)
}

fn run_engine(
    args: &Args,
    name: &str,
    size: usize,
    n: usize,
    reads: usize,
    root: &Path,
) -> Res<EngineResult> {
    let data_bytes = (n * size) as u64;
    let params = Params {
        memory_bytes: ((data_bytes as f64 * args.mem_fraction) as u64).max(1 << 20),
        disk_bytes: (data_bytes * 2).max(256 << 20),
        redis_port: 0,
    };
    let mut r = EngineResult {
        engine: name.to_string(),
        value_size: size,
        entries: n,
        reads,
        ..Default::default()
    };

    // 1. Inserts, then durable.
    let mut subject = Subject::new(name, root.join(format!("{name}-{size}")), params.clone())?;
    let mut engine = subject.open()?;
    let mut spent = Duration::ZERO;
    let step = batch_len(size) as u64;
    let mut next = 0u64;
    while next < n as u64 {
        let end = (next + step).min(n as u64);
        let batch = make_batch(next..end, size);
        let started = Instant::now();
        engine.insert_batch(&batch)?;
        spent += started.elapsed();
        next = end;
    }
    let started = Instant::now();
    engine.persist()?;
    spent += started.elapsed();
    r.insert_seconds = spent.as_secs_f64();
    r.insert_ops_per_sec = n as f64 / r.insert_seconds;
    r.insert_mib_per_sec = data_bytes as f64 / r.insert_seconds / (1 << 20) as f64;

    // 2. Disk bytes.
    let (apparent, allocated) = dir_bytes(&subject.dir);
    r.disk_bytes_apparent = apparent;
    r.disk_bytes = allocated;
    r.disk_bytes_per_value_byte = allocated as f64 / data_bytes as f64;

    // 3. Zipf(0.9) reads.
    let zipf = Zipf::new(n, 0.9);
    let mut rng = Rng::new(42);
    let mut hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let mut disk_hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3)?;
    let mut disk_nanos = 0u128;
    // Tiered engines: reads answered by the memory tier, by the disk tier.
    let mut tier_hits: Option<(u64, u64)> = None;
    let (mut found, mut wrong) = (0u64, 0u64);
    let read_start = Instant::now();
    for _ in 0..reads {
        let rank = zipf.sample(&mut rng) as u64;
        // Scatter popularity over ids, so hot keys are not the first (or last) inserted.
        let id = ((rank as u128 * 2_654_435_761) % n as u128) as u64;
        let k = key(id);
        let t = Instant::now();
        let mut good = true;
        let hit = engine.get(&k, &mut |v| good = looks_right(id, size, v))?;
        let nanos = t.elapsed().as_nanos();
        hist.saturating_record(nanos as u64);
        match engine.last_hit_tier().filter(|_| hit) {
            Some(engines::HitTier::Memory) => tier_hits.get_or_insert_default().0 += 1,
            Some(engines::HitTier::Disk) => {
                tier_hits.get_or_insert_default().1 += 1;
                disk_hist.saturating_record(nanos as u64);
                disk_nanos += nanos;
            }
            None => {}
        }
        found += hit as u64;
        wrong += (hit && !good) as u64;
    }
    let read_secs = read_start.elapsed().as_secs_f64();
    r.read_ops_per_sec = reads as f64 / read_secs;
    r.read_p50_us = hist.value_at_quantile(0.50) as f64 / 1e3;
    r.read_p99_us = hist.value_at_quantile(0.99) as f64 / 1e3;
    r.read_max_us = hist.max() as f64 / 1e3;
    r.hit_rate = found as f64 / reads as f64;
    r.wrong_values = wrong;
    if !disk_hist.is_empty() {
        r.disk_tier_hits_per_sec = Some(disk_hist.len() as f64 / (disk_nanos as f64 / 1e9));
        r.disk_tier_p50_us = Some(disk_hist.value_at_quantile(0.50) as f64 / 1e3);
        r.disk_tier_p99_us = Some(disk_hist.value_at_quantile(0.99) as f64 / 1e3);
    }
    if let Some((mem, disk)) = tier_hits {
        r.memory_tier_hits = Some(mem);
        r.disk_tier_hits = Some(disk);
        let reached_disk = reads as u64 - mem;
        r.disk_tier_hit_rate = Some(if reached_disk == 0 {
            1.0
        } else {
            disk as f64 / reached_disk as f64
        });
    }

    // 4. Clean restart.
    let (mut engine, open) = subject.restart(engine)?;
    r.restart_open_seconds = open.as_secs_f64();
    let started = Instant::now();
    r.restart_survived = count_survivors(engine.as_mut(), n, size)?;
    r.restart_read_all_seconds = started.elapsed().as_secs_f64();
    engine.close()?;
    drop(subject);

    // 5. SIGKILL.
    let (acked, survived, open) = kill_test(name, size, n, root, &params)?;
    r.kill_acknowledged = acked;
    r.kill_survived = survived;
    r.kill_open_seconds = open.as_secs_f64();
    Ok(r)
}

fn last_ack(report: &Path) -> usize {
    std::fs::read_to_string(report)
        .ok()
        .and_then(|s| {
            s.lines()
                .rev()
                .find_map(|l| l.strip_prefix("acked ")?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the insert phase in a child, kills it (and for Redis the server) with SIGKILL once it
/// acknowledged half the values, reopens and counts acknowledged values that read back intact.
fn kill_test(
    name: &str,
    size: usize,
    n: usize,
    root: &Path,
    params: &Params,
) -> Res<(usize, usize, Duration)> {
    let mut subject = Subject::new(
        name,
        root.join(format!("{name}-{size}-kill")),
        params.clone(),
    )?;
    let report = root.join(format!("{name}-{size}-kill.acks"));
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(std::env::current_exe()?)
        .arg("kill-child")
        .args(["--engine", name])
        .arg("--dir")
        .arg(&subject.dir)
        .args(["--size", &size.to_string()])
        .args(["--n", &n.to_string()])
        .arg("--report")
        .arg(&report)
        .args(["--memory", &params.memory_bytes.to_string()])
        .args(["--disk", &params.disk_bytes.to_string()])
        .args(["--port", &subject.params.redis_port.to_string()])
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(report.with_extension("stderr"))?)
        .spawn()?;
    let target = (n / 2).max(1);
    let deadline = Instant::now() + Duration::from_secs(600);
    while last_ack(&report) < target && Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            let stderr =
                std::fs::read_to_string(report.with_extension("stderr")).unwrap_or_default();
            return Err(format!("kill-child exited early: {status}: {}", stderr.trim()).into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if let Some(server) = subject.server.as_mut() {
        server.kill9()?;
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let acked = last_ack(&report);
    let _ = std::fs::remove_file(&report);
    // (A Redis child usually dies of "connection reset" first: its server was killed.)
    let _ = std::fs::remove_file(report.with_extension("stderr"));

    let (mut engine, open) = if let Some(server) = subject.server.as_mut() {
        let took = server.spawn()?;
        (subject.open()?, took)
    } else {
        let started = Instant::now();
        let engine = subject.open()?;
        (engine, started.elapsed())
    };
    let survived = count_survivors(engine.as_mut(), acked, size)?;
    engine.close()?;
    Ok((acked, survived, open))
}

/// The child of the SIGKILL test: inserts batches, makes each durable, and appends
/// "acked N" to the report file once the first N values are durable. Never exits by itself.
fn kill_child(mut it: impl Iterator<Item = String>) -> Res<()> {
    let (mut name, mut dir, mut size, mut n, mut report) = (
        String::new(),
        PathBuf::new(),
        0usize,
        0usize,
        PathBuf::new(),
    );
    let mut params = Params {
        memory_bytes: 0,
        disk_bytes: 0,
        redis_port: 0,
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or("missing value")?;
        match flag.as_str() {
            "--engine" => name = v,
            "--dir" => dir = v.into(),
            "--size" => size = v.parse()?,
            "--n" => n = v.parse()?,
            "--report" => report = v.into(),
            "--memory" => params.memory_bytes = v.parse()?,
            "--disk" => params.disk_bytes = v.parse()?,
            "--port" => params.redis_port = v.parse()?,
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    let mut engine = engines::open(&name, &dir, &params)?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&report)?;
    let step = batch_len(size) as u64;
    let mut next = 0u64;
    // Redis: a reply means the write is in the AOF buffer; with `appendfsync everysec` it is
    // on disk at most ~1 s later, so a batch counts 1.1 s after its reply.
    let mut pending: std::collections::VecDeque<(u64, Instant)> = Default::default();
    let is_redis = name == "redis";
    loop {
        if next < n as u64 {
            let end = (next + step).min(n as u64);
            let batch = make_batch(next..end, size);
            engine.insert_batch(&batch)?;
            next = end;
            if is_redis {
                pending.push_back((end, Instant::now()));
            } else {
                engine.persist()?;
                writeln!(out, "acked {end}")?;
            }
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
        if is_redis {
            let mut acked = None;
            while let Some(&(count, at)) = pending.front() {
                if at.elapsed() < engines::REDIS_FSYNC_WAIT {
                    break;
                }
                acked = Some(count);
                pending.pop_front();
            }
            if let Some(count) = acked {
                writeln!(out, "acked {count}")?;
            }
        }
    }
}

fn main() {
    let mut it = std::env::args().skip(1).peekable();
    if it.peek().map(String::as_str) == Some("scale") {
        it.next();
        if let Err(e) = scale::main(it) {
            eprintln!("compare scale: {e}");
            std::process::exit(2);
        }
        return;
    }
    if it.peek().map(String::as_str) == Some("kill-child") {
        it.next();
        if let Err(e) = kill_child(it) {
            eprintln!("kill-child: {e}");
            std::process::exit(2);
        }
        return;
    }
    let args = match parse_args(it) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("compare: {e}");
        std::process::exit(2);
    }
}

fn run(args: &Args) -> Res<()> {
    let root = match &args.workdir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("stratacache-compare-{}", std::process::id())),
    };
    std::fs::create_dir_all(&root)?;
    let mut results = Vec::new();
    let mut failed = 0;
    for (size, n, reads) in [
        (4096, args.n4k, args.reads4k),
        (256 << 10, args.n256k, args.reads256k),
    ] {
        if n == 0 {
            continue;
        }
        for name in &args.engines {
            let started = Instant::now();
            eprint!("{name:>16} {:>4} KiB x {n}: ", size >> 10);
            let r = run_engine(args, name, size, n, reads, &root).unwrap_or_else(|e| {
                failed += 1;
                EngineResult {
                    engine: name.clone(),
                    value_size: size,
                    entries: n,
                    error: Some(e.to_string()),
                    ..Default::default()
                }
            });
            match &r.error {
                Some(e) => eprintln!("ERROR {e}"),
                None => eprintln!(
                    "insert {:.0}/s, read {:.0}/s p99 {:.1} us, hit {:.3} (disk tier {}), {:.3} disk B/B, \
                     restart {}/{} open {:.1} ms, kill {}/{} ({:.1} s)",
                    r.insert_ops_per_sec,
                    r.read_ops_per_sec,
                    r.read_p99_us,
                    r.hit_rate,
                    r.disk_tier_hit_rate
                        .map_or("-".to_string(), |h| format!("{h:.3}")),
                    r.disk_bytes_per_value_byte,
                    r.restart_survived,
                    r.entries,
                    r.restart_open_seconds * 1e3,
                    r.kill_survived,
                    r.kill_acknowledged,
                    started.elapsed().as_secs_f64()
                ),
            }
            // stratacache's own guarantees are checked, not only measured: a lost flushed
            // entry, a lost entry on restart or a wrong value fails the run.
            if r.engine.starts_with("stratacache")
                && r.error.is_none()
                && (r.kill_survived != r.kill_acknowledged
                    || r.restart_survived != r.entries
                    || r.wrong_values != 0)
            {
                eprintln!("{name}: lost or wrong entries (see the JSON)");
                failed += 1;
            }
            results.push(r);
        }
    }
    let report = Report {
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
        args,
        value_kind: "incompressible pseudo-random bytes",
        redis_server_version: Command::new("redis-server")
            .arg("--version")
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout);
                text.split_whitespace()
                    .find_map(|w| w.strip_prefix("v="))
                    .map_or("redis-server ?".to_string(), |v| {
                        format!("redis-server {v}")
                    })
            })
            .unwrap_or_default(),
        results,
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)? + "\n")?;
    if args.workdir.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
    eprintln!("wrote {}", args.out.display());
    if failed > 0 {
        return Err(format!("{failed} engine runs failed (see the JSON)").into());
    }
    Ok(())
}
