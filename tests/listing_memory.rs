//! Listing two million keys holds one page of the index in memory, not all of them: the
//! `ls` process grows by less than 64 MiB, and `DiskStore::scan` visits every key once.

mod common;

use std::process::{Command, Stdio};

use common::store::quiet;

const KEYS: usize = 2_000_000;

/// Runs `cmd`, returning its standard output and its own peak resident memory in bytes
/// (from `wait4`, for this child alone; `wait4` reaps it).
#[allow(clippy::zombie_processes)]
fn run_with_peak(mut cmd: Command) -> (Vec<u8>, u64) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).expect("read");
        out
    });
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child by pid, with valid pointers to status and usage.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
    (
        reader.join().expect("reader"),
        usage.ru_maxrss as u64 * 1024,
    )
}

fn ls(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratacache"));
    cmd.arg("--dir").arg(dir).arg("ls").args(args);
    cmd
}

#[test]
fn two_million_keys_list_in_bounded_memory() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    {
        let store = quiet(&dir).capacity_bytes(1 << 30).open()?;
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..KEYS {
            batch.push((format!("scan/{i:010}"), b"v".to_vec()));
            if batch.len() == 10_000 {
                store.insert_many(&batch)?;
                batch.clear();
            }
        }
        store.close()?;
    }
    // The first open after the bulk load does one-time work; the baseline is the second.
    run_with_peak(ls(&dir, &["--prefix", "nothing/"]));
    let (_, baseline) = run_with_peak(ls(&dir, &["--prefix", "nothing/"]));
    let (out, peak) = run_with_peak(ls(&dir, &[]));
    let lines = out.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(lines, KEYS);
    let grown = peak.saturating_sub(baseline);
    println!("ls of {KEYS} keys: peak RSS {peak} bytes, {grown} more than listing nothing");
    assert!(
        grown < 64 << 20,
        "ls grew by {grown} bytes listing {KEYS} keys"
    );

    let store = quiet(&dir).open()?;
    let mut seen = 0usize;
    let mut last: Option<Vec<u8>> = None;
    for entry in store.scan("scan/") {
        let entry = entry?;
        assert!(
            last.as_deref() < Some(entry.key.as_slice()),
            "in key order, once each"
        );
        last = Some(entry.key);
        seen += 1;
    }
    assert_eq!(seen, KEYS);
    assert_eq!(store.remove_prefix("scan/00000")?, 100_000);
    store.close()?;
    Ok(())
}
