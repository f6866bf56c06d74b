//! `import DIR [--prefix P] [--ttl D] [--skip-existing] [--key-by-hash]`.
//!
//! Every regular file under DIR is read (one at a time, size checked before reading) and
//! stored under prefix + relative path, or prefix + hex BLAKE3 of the content with
//! `--key-by-hash`. Problems with one file are reported and the import goes on; a summary
//! goes to stderr, and the exit code is 2 if any file failed or was over the value limit.
//! Symbolic links are skipped, not failures. An error of the store itself (a full disk)
//! stops the import: what was stored before it is made durable and counted. The summary
//! counts the entries the import evicted, and a warning says how many imported files were
//! evicted again when the data did not fit the capacity.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use stratacache::Error;

use crate::store::Store;

use crate::cli::ImportArgs;
use crate::commands::keys;
use crate::commands::walk::{self, Found};
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::progress;
use crate::units::{count, counted, grouped, human_size};

/// Most files read and stored at once (one per worker thread).
const MAX_WORKERS: usize = 4;

/// Counts for the summary line.
#[derive(Debug, Default)]
struct Tally {
    imported: u64,
    bytes: u64,
    /// Already in the store (`--skip-existing`, or the same content with `--key-by-hash`).
    present: u64,
    /// Too large, symbolic links, special files.
    skipped: u64,
    /// Of `skipped`: over the value limit (these make the exit code 2).
    too_large: u64,
    failed: u64,
}

/// What happened to one file.
enum Fate {
    /// Stored: its length and key.
    Imported(u64, Vec<u8>),
    Present,
    TooLarge(String),
    Failed(String),
}

/// Checks the source before any store is opened (so a typo creates no store).
pub fn check_source(dir: &Path) -> Result<(), Fatal> {
    let meta = std::fs::metadata(dir).map_err(|e| Fatal::io("import source", dir, e))?;
    if !meta.is_dir() {
        return Err(Fatal::msg(format!("{} is not a directory", dir.display())));
    }
    Ok(())
}

/// Imports a directory tree; files over `limit` bytes are skipped.
pub fn run(store: &Store, args: ImportArgs, limit: u64) -> CmdResult {
    let started = Instant::now();
    let evictions_before = store.stats()?.evictions;
    let walked = walk::walk(&args.source, store.dir());
    let total = walked.files.iter().map(|f| f.len).sum();
    let pb = progress::bytes(total, "import");
    let mut tally = Tally::default();
    for p in &walked.problems {
        let verb = if p.failed { "failed" } else { "skipped" };
        progress::note(&pb, &format!("{verb}: {}: {}", p.path.display(), p.reason));
        if p.failed {
            tally.failed += 1;
        } else {
            tally.skipped += 1;
        }
    }
    let mut mapping = BufWriter::new(std::io::stdout().lock());
    let mut fatal = None;
    let mut imported_keys = Vec::new();
    import_all(
        store,
        (&args, limit),
        &walked.files,
        |file, result| {
            match result {
                Ok(Fate::Imported(bytes, key)) => {
                    tally.imported += 1;
                    tally.bytes += bytes;
                    imported_keys.push(key);
                }
                Ok(Fate::Present) => tally.present += 1,
                Ok(Fate::TooLarge(why)) => {
                    tally.skipped += 1;
                    tally.too_large += 1;
                    progress::note(&pb, &format!("skipped: {}: {why}", file.path.display()));
                }
                Ok(Fate::Failed(why)) => {
                    tally.failed += 1;
                    progress::note(&pb, &format!("failed: {}: {why}", file.path.display()));
                }
                Err(e) => {
                    fatal.get_or_insert(e);
                    return false;
                }
            }
            pb.inc(file.len);
            true
        },
        &mut mapping,
    );
    pb.finish_and_clear();
    // After a store error too: what was stored before it is kept.
    let flushed = store.flush();
    let mapped = mapping.flush().map_err(Fatal::stdout);
    // Unknown (not worth a second error) if the store cannot say after a failure.
    let evicted = store
        .stats()
        .ok()
        .map(|s| (s.evictions - evictions_before, Budget::of(&s)));
    let elapsed = started.elapsed();
    eprintln!(
        "stratacache: {}",
        summary(&tally, elapsed, evicted.map(|e| e.0), fatal.is_some())
    );
    if let Some((_, budget)) = evicted.filter(|e| e.0 > 0) {
        match evicted_again(store, &imported_keys) {
            Ok(0) => {}
            Ok(lost) => eprintln!(
                "stratacache: warning: {}",
                lost_warning(&tally, lost, budget)
            ),
            // The error that stopped the import is the one to report.
            Err(e) if fatal.is_none() => return Err(e),
            Err(_) => {}
        }
    }
    if let Some(e) = fatal {
        return Err(stopped(e, tally.imported, flushed.err()));
    }
    flushed?;
    mapped?;
    Ok(if tally.failed > 0 || tally.too_large > 0 {
        Outcome::PartlyFailed
    } else {
        Outcome::Done
    })
}

/// How many of the keys this import stored are gone again (evicted to make room for the
/// ones after them).
fn evicted_again(store: &Store, keys: &[Vec<u8>]) -> Result<u64, Fatal> {
    let mut lost = 0;
    for key in keys {
        if !store.contains_key(key)? {
            lost += 1;
        }
    }
    Ok(lost)
}

/// What the store keeps to: its capacity, or less when its file system holds less.
#[derive(Clone, Copy)]
struct Budget {
    capacity: u64,
    /// Set when the file system holds less than the capacity.
    on_disk: Option<u64>,
}

impl Budget {
    fn of(stats: &stratacache::Stats) -> Self {
        let effective = stats.effective_capacity_bytes;
        Self {
            capacity: stats.capacity_bytes,
            on_disk: (effective > 0 && effective < stats.capacity_bytes).then_some(effective),
        }
    }
}

/// `40.0 MiB imported into a 24.0 MiB store: 3,132 of 4,105 files were evicted again ...`.
fn lost_warning(t: &Tally, lost: u64, budget: Budget) -> String {
    if let Some(on_disk) = budget.on_disk {
        return format!(
            "{} of {} imported were evicted again: the file system holding the store has room \
             for only {} of its {} capacity (more free space there keeps them)",
            grouped(lost),
            count(t.imported, "file"),
            human_size(on_disk),
            human_size(budget.capacity),
        );
    }
    let (hint, capacity) = ("a larger --capacity keeps them", budget.capacity);
    if t.bytes > capacity {
        format!(
            "{} imported into a {} store: {} of {} were evicted again ({hint})",
            human_size(t.bytes),
            human_size(capacity),
            grouped(lost),
            count(t.imported, "file"),
        )
    } else {
        format!(
            "{} of {} imported were evicted again to stay within the capacity of {} ({hint})",
            grouped(lost),
            count(t.imported, "file"),
            human_size(capacity),
        )
    }
}

/// The error that stopped an import, with what happened to the files stored before it.
fn stopped(err: Fatal, imported: u64, flush_failed: Option<stratacache::Error>) -> Fatal {
    let before = count(imported, "file");
    let are = if imported == 1 { "is" } else { "are" };
    match flush_failed {
        None => Fatal::msg(format!(
            "import stopped: {err}; the {before} imported before it {are} kept"
        )),
        Some(e) => Fatal::msg(format!(
            "import stopped: {err}; making the {before} imported before it durable failed \
             too: {e}"
        )),
    }
}

/// Imports `files` on a few worker threads (compression runs outside the store's writer
/// lock, so workers overlap) and hands each result, in file order, to `done` on this
/// thread, which returns false to stop. Each worker holds one file in memory at a time.
fn import_all(
    store: &Store,
    args: (&ImportArgs, u64),
    files: &[Found],
    mut done: impl FnMut(&Found, Result<Fate, Fatal>) -> bool,
    mapping: &mut impl Write,
) {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let claimed = Mutex::new(HashSet::new());
    let (tx, rx) = mpsc::sync_channel(workers * 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, claimed) = (&next, &stop, &claimed);
            scope.spawn(move || {
                let mut buf = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = import_one(store, args, file, &mut buf, claimed);
                    // A store error ends the import: the other workers stop at once, not
                    // when the error's turn to be reported comes.
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Results arrive out of order; they are reported in walk order.
        let mut waiting = BTreeMap::new();
        let mut next_out = 0;
        let mut stopped = false;
        for (i, result) in rx {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&next_out) {
                let file = &files[next_out];
                next_out += 1;
                let result = result.and_then(|(fate, hash_key)| {
                    if let Some(key) = hash_key {
                        write_mapping(mapping, &key, &file.rel)?;
                    }
                    Ok(fate)
                });
                // After a stop, the files the workers were busy with are not reported.
                if !stopped && !done(file, result) {
                    stop.store(true, Ordering::Relaxed);
                    stopped = true;
                }
            }
        }
    });
}

/// Reads and stores one file; also returns the key when it is a content hash. Errors of
/// the store itself (I/O, a poisoned store) end the import; problems of this one file do
/// not.
fn import_one(
    store: &Store,
    (args, limit): (&ImportArgs, u64),
    file: &Found,
    buf: &mut Vec<u8>,
    claimed: &Mutex<HashSet<Vec<u8>>>,
) -> Result<(Fate, Option<Vec<u8>>), Fatal> {
    let mut key = keys::from_arg(&args.prefix).to_vec();
    if !args.key_by_hash {
        key.extend_from_slice(&file.rel);
        if args.skip_existing && store.contains_key(&key)? {
            return Ok((Fate::Present, None));
        }
    }
    if file.len > limit {
        return Ok((Fate::TooLarge(too_large(file.len, limit)), None));
    }
    if let Err(e) = read_into(&file.path, buf, limit) {
        return Ok((Fate::Failed(e.to_string()), None));
    }
    if buf.len() as u64 > limit {
        return Ok((Fate::TooLarge(too_large(buf.len() as u64, limit)), None));
    }
    if args.key_by_hash {
        key.extend_from_slice(blake3::hash(buf).to_hex().as_bytes());
        // The same content seen by another worker in this run, or stored before.
        let first = claimed.lock().map_or(true, |mut c| c.insert(key.clone()));
        if !first || store.contains_key(&key)? {
            return Ok((Fate::Present, Some(key)));
        }
    }
    let stored = match args.ttl {
        Some(ttl) => store.insert_with_ttl(&key, buf, ttl),
        None => store.insert(&key, buf),
    };
    let hash_key = args.key_by_hash.then(|| key.clone());
    let fate = match stored {
        Ok(()) => Fate::Imported(buf.len() as u64, key),
        Err(e @ (Error::EmptyKey | Error::KeyTooLong { .. } | Error::ValueTooLarge { .. })) => {
            Fate::Failed(format!("key {:?}: {e}", keys::show(&key)))
        }
        Err(e) => return Err(e.into()),
    };
    Ok((fate, hash_key))
}

/// One `KEY<TAB>PATH` line of the `--key-by-hash` mapping.
fn write_mapping(out: &mut impl Write, key: &[u8], rel: &[u8]) -> Result<(), Fatal> {
    out.write_all(key)
        .and_then(|()| out.write_all(b"\t"))
        .and_then(|()| out.write_all(rel))
        .and_then(|()| out.write_all(b"\n"))
        .map_err(Fatal::stdout)
}

/// Reads a whole file into `buf`, at most one byte past the value limit.
fn read_into(path: &Path, buf: &mut Vec<u8>, limit: u64) -> std::io::Result<()> {
    buf.clear();
    File::open(path)?
        .take(limit + 1)
        .read_to_end(buf)
        .map(|_| ())
}

fn too_large(len: u64, limit: u64) -> String {
    format!(
        "{} is over the value limit of {} (--max-value-size); not loaded",
        human_size(len),
        human_size(limit)
    )
}

/// `imported 2,000 files (512.3 MiB) in 3.1s (165.3 MiB/s); already stored 0; skipped 0;
/// failed 0; evicted 0 entries`, with `before stopping` after the count when a store
/// error ended the import.
fn summary(t: &Tally, elapsed: Duration, evicted: Option<u64>, stopped: bool) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let stopped = if stopped { " before stopping" } else { "" };
    let too_large = match t.too_large {
        0 => String::new(),
        n => format!(" ({} over the value limit)", grouped(n)),
    };
    let evicted = evicted
        .map(|n| format!("; evicted {}", counted(n, "entry", "entries")))
        .unwrap_or_default();
    format!(
        "imported {}{stopped} ({}) in {secs:.1}s ({}/s); already stored {}; skipped {}{too_large}; \
         failed {}{evicted}",
        count(t.imported, "file"),
        human_size(t.bytes),
        human_size((t.bytes as f64 / secs) as u64),
        grouped(t.present),
        grouped(t.skipped),
        grouped(t.failed)
    )
}
