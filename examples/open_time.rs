//! Open time against entry count, after a clean close and after SIGKILL.
//!
//! For each size N, a child process (this program, re-run) inserts N entries of 100 bytes,
//! flushes, keeps writing unflushed entries, and is killed with SIGKILL; the parent then
//! times `open()` of the crashed store, closes it cleanly, and times `open()` again.
//!
//! ```text
//! cargo run --release --example open_time                  # N = 10k and 1M
//! cargo run --release --example open_time -- 10000 100000  # other sizes
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stratacache::DiskStore;

fn child(dir: &str, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let store = DiskStore::builder(dir).open()?;
    let value = [0x5au8; 100];
    for i in 0..n {
        store.insert(format!("entry/{i:010}"), &value)?;
    }
    store.flush()?;
    println!("FLUSHED");
    // Unflushed writes in flight when the kill comes.
    for i in n.. {
        store.insert(format!("entry/{i:010}"), &value)?;
    }
    Ok(())
}

fn time_open(dir: &std::path::Path) -> Result<(Duration, DiskStore), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let store = DiskStore::builder(dir).open()?;
    Ok((started.elapsed(), store))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], args[3].parse()?);
    }
    let sizes: Vec<u64> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![10_000, 1_000_000]
    };
    println!("| entries | open after SIGKILL | open after clean close | entries found |");
    println!("|---:|---:|---:|---:|");
    for n in sizes {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(&args[0])
            .args([
                "--child",
                dir.path().to_str().ok_or("path")?,
                &n.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next().transpose()? {
            if line == "FLUSHED" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        child.kill()?; // SIGKILL
        child.wait()?;
        let (after_kill, store) = time_open(dir.path())?;
        let found = store.stats()?.entries;
        store.close()?;
        let (after_close, store) = time_open(dir.path())?;
        drop(store);
        println!(
            "| {n} | {:.2} ms | {:.2} ms | {found} |",
            after_kill.as_secs_f64() * 1e3,
            after_close.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
