//! `import` and the value limit tell the truth: a file over the limit (`--max-value-size`)
//! is reported and makes the exit code 2; the summary counts what the import evicted and
//! warns when imported files were evicted again; a full disk stops the import, keeps what
//! was stored before it and says how much, printing the error once.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

mod common;
use common::cli::{bare, sc, setup};
use common::mount::Tmpfs;
use common::rng::incompressible;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Standard output of a successful run, as text.
fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8 output")
}

/// `count` files of `len` incompressible bytes under `dir`: `f00`, `f01`...
fn incompressible_files(dir: &Path, count: u64, len: usize) -> TestResult {
    fs::create_dir_all(dir)?;
    for i in 0..count {
        fs::write(dir.join(format!("f{i:02}")), incompressible(i, len))?;
    }
    Ok(())
}

/// The number in `text` right after `before`, e.g. `evicted 30` -> 30.
fn number_after(text: &str, before: &str) -> Option<u64> {
    let rest = &text[text.find(before)? + before.len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn max_value_size_limits_put_and_import() -> TestResult {
    let (tmp, store) = setup();
    let limit = ["--max-value-size", "1KiB"];
    sc(&store)
        .args(limit)
        .args(["put", "small"])
        .write_stdin(vec![7u8; 1024])
        .assert()
        .success();
    sc(&store)
        .args(limit)
        .args(["put", "large"])
        .write_stdin(vec![7u8; 1025])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("over the value limit of 1.0 KiB"));
    let file = tmp.path().join("large.bin");
    fs::write(&file, vec![1u8; 2000])?;
    sc(&store)
        .args(limit)
        .args(["put", "large"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "large.bin is 2.0 KiB (2000 bytes)",
        ));
    sc(&store).args(["get", "large"]).assert().code(1);
    // Without the option the library's default (64 MiB) applies.
    sc(&store)
        .args(["put", "large"])
        .arg(&file)
        .assert()
        .success();

    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    fs::write(src.join("fits.txt"), "fits")?;
    fs::write(src.join("too-big.bin"), vec![1u8; 2000])?;
    sc(&store)
        .args(limit)
        .arg("import")
        .arg(&src)
        .args(["--prefix", "in/"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("too-big.bin: 2.0 KiB is over the value limit of 1.0 KiB")
                .and(predicate::str::contains("imported 1 file ("))
                .and(predicate::str::contains(
                    "skipped 1 (1 over the value limit)",
                )),
        );
    assert_eq!(
        stdout_of(sc(&store).args(["ls", "--prefix", "in/"])),
        "in/fits.txt\n"
    );
    for bad in ["0", "4GiB", "lots"] {
        sc(&store)
            .args(["--max-value-size", bad, "ls"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(bad));
    }
    bare()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--max-value-size <SIZE>"));
    Ok(())
}

#[test]
fn an_import_larger_than_the_capacity_reports_evictions_and_warns() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    incompressible_files(&src, 40, 100_000)?;
    let out = sc(&store)
        .args(["--capacity", "1MiB", "import"])
        .arg(&src)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("imported 40 files"), "{err}");
    let evicted = number_after(&err, "evicted ").expect("evictions in the summary");
    assert!(evicted > 0, "{err}");
    assert!(
        err.contains("warning: 3.8 MiB imported into a 1.0 MiB store: "),
        "{err}"
    );
    let lost = number_after(&err, "store: ").expect("how many were evicted again");
    assert!(
        err.contains(&format!("{lost} of 40 files were evicted again")),
        "{err}"
    );
    let kept = stdout_of(sc(&store).arg("ls")).lines().count() as u64;
    assert_eq!(kept, 40 - lost, "{err}");
    assert_eq!(err.lines().count(), 2, "a summary and a warning: {err}");

    // An import that fits says it evicted nothing and warns about nothing.
    let (_tmp2, roomy) = setup();
    sc(&roomy)
        .args(["--capacity", "64MiB", "import"])
        .arg(&src)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("evicted 0 entries")
                .and(predicate::str::contains("warning").not()),
        );
    Ok(())
}

#[test]
fn a_full_disk_evicts_and_the_import_goes_on() -> TestResult {
    let Some(fs_root) = Tmpfs::mount("a_full_disk_evicts_and_the_import_goes_on", 24) else {
        return Ok(());
    };
    let (tmp, _) = setup();
    let src = tmp.path().join("src");
    incompressible_files(&src, 40, 1 << 20)?;
    let store = fs_root.path().join("store");
    // A capacity above what the file system holds: the store keeps to what it holds.
    let out = sc(&store)
        .args(["--capacity", "64MiB", "import"])
        .arg(&src)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr)?;
    assert!(err.contains("imported 40 files"), "{err}");
    assert!(
        err.contains("the file system holding the store has room for only"),
        "the warning must blame the disk, not --capacity: {err}"
    );
    let keys = stdout_of(sc(&store).arg("ls"));
    assert!(keys.lines().count() >= 8, "{keys}");
    assert!(
        keys.lines().any(|k| k == "f39"),
        "the newest file stays: {keys}"
    );
    for key in keys.lines() {
        let i: u64 = key[1..].parse()?;
        let out = sc(&store).args(["get", key]).assert().success();
        assert_eq!(out.get_output().stdout, incompressible(i, 1 << 20), "{key}");
    }
    sc(&store).arg("verify").assert().success();
    let stats = stdout_of(sc(&store).arg("stats"));
    assert!(stats.contains("the file system holds only"), "{stats}");
    Ok(())
}

#[test]
fn a_file_the_disk_cannot_hold_stops_the_import_and_keeps_what_was_stored() -> TestResult {
    let test = "a_file_the_disk_cannot_hold_stops_the_import_and_keeps_what_was_stored";
    let Some(fs_root) = Tmpfs::mount(test, 24) else {
        return Ok(());
    };
    let (tmp, _) = setup();
    let src = tmp.path().join("src");
    incompressible_files(&src, 4, 1 << 20)?;
    // Sorted after f00..f03, and larger than the whole file system.
    fs::write(src.join("z-huge"), incompressible(9, 30 << 20))?;
    let store = fs_root.path().join("store");
    let out = sc(&store)
        .args(["--capacity", "64MiB", "import"])
        .arg(&src)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr)?;
    assert_eq!(err.matches("import stopped: ").count(), 1, "{err}");
    assert!(err.contains("bytes free"), "{err}");
    assert!(
        err.contains("the 4 files imported before it are kept"),
        "{err}"
    );
    let keys = stdout_of(sc(&store).arg("ls"));
    assert_eq!(
        keys.lines().collect::<Vec<_>>(),
        ["f00", "f01", "f02", "f03"],
        "{err}"
    );
    sc(&store).arg("verify").assert().success();
    let out = sc(&store).args(["get", "f03"]).assert().success();
    assert_eq!(out.get_output().stdout, incompressible(3, 1 << 20));
    Ok(())
}
