//! What the CLI prints keeps its word: progress bars that fit 80 columns and show no rate
//! or time left before there is something to base them on, summaries in good English
//! ("1 file"), durations as people write them (`1.5h`), `--capacity` explained once
//! rather than in every command's help, and `ls -0` for keys that hold a newline.

use std::fs;
use std::process::Command as Process;
use std::time::Instant;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::cli::{bare, put, sc, setup};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const COMMANDS: [&str; 10] = [
    "put", "get", "rm", "ls", "import", "export", "stats", "verify", "compact", "sweep",
];

/// Standard error of a run, as text.
fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn progress_bars_fit_80_columns_and_show_no_early_eta() -> TestResult {
    if Process::new("script").arg("--version").output().is_err() {
        eprintln!("\n*** SKIP progress test: `script` (util-linux) is not installed ***\n");
        return Ok(());
    }
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    let text = "recognised words of a scanned page ".repeat(8_000);
    for i in 0..40 {
        fs::write(src.join(format!("page-{i:02}.txt")), &text)?;
    }
    // `script` runs the command on a pseudo-terminal of 80 columns, so the bar is drawn.
    let command = format!(
        "stty cols 80 rows 24; exec '{}' --dir '{}' import '{}'",
        env!("CARGO_BIN_EXE_stratacache"),
        store.display(),
        src.display()
    );
    let started = Instant::now();
    let out = Process::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("STRATACACHE_DIR")
        .output()?;
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    let screen = strip_escapes(&String::from_utf8_lossy(&out.stdout));
    let frames: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter(|l| l.starts_with("import ["))
        .collect();
    assert!(!frames.is_empty(), "no progress bar drawn: {screen:?}");
    for frame in &frames {
        assert!(frame.chars().count() <= 80, "wider than 80: {frame:?}");
        assert!(!frame.contains(".0000"), "a rate with decimals: {frame:?}");
    }
    if took.as_secs_f64() < 0.9 {
        // The whole import took less than the second before a rate means anything.
        assert!(
            frames
                .iter()
                .all(|f| !f.contains("eta") && !f.contains("/s")),
            "a rate or time left shown in the first second: {frames:?}"
        );
    }
    assert!(screen.contains("imported 40 files"), "{screen:?}");
    Ok(())
}

/// The text with ANSI escape sequences (cursor moves, line clears) removed.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn summaries_say_1_file_and_1_record() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    fs::write(src.join("only.txt"), "one page")?;
    sc(&store)
        .arg("import")
        .arg(&src)
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 1 file ("));
    sc(&store)
        .arg("export")
        .arg(tmp.path().join("out"))
        .assert()
        .success()
        .stderr(predicate::str::contains("exported 1 file ("));
    sc(&store)
        .arg("verify")
        .assert()
        .success()
        .stdout("checked 1 record: all good\n");
    sc(&store)
        .arg("import")
        .arg(&src)
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 1 file (").and(
            // Overwriting its own key evicts nothing.
            predicate::str::contains("evicted 0 entries"),
        ));
    Ok(())
}

#[test]
fn ttl_takes_a_fraction_and_refuses_a_repeated_or_misordered_unit() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["put", "k", "--ttl", "1.5h"])
        .write_stdin("v")
        .assert()
        .success();
    let out = sc(&store).args(["ls", "--json"]).assert().success();
    let listed: Value = serde_json::from_slice(&out.get_output().stdout)?;
    let left = listed[0]["expires_in_ms"].as_u64().expect("an expiry");
    assert!(
        (5_390_000..=5_400_000).contains(&left),
        "1.5h is 5400 s, {left} ms left"
    );
    sc(&store)
        .args(["put", "k2", "--ttl", "1h30m"])
        .write_stdin("v")
        .assert()
        .success();
    for (bad, why) in [
        ("1m1m", "given twice"),
        ("30m1h", "after a smaller unit"),
        ("1.5h30m", "only the last part"),
    ] {
        let out = sc(&store)
            .args(["put", "k3", "--ttl", bad])
            .write_stdin("v")
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = stderr_of(&out);
        assert!(err.contains(bad) && err.contains(why), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    sc(&store).args(["get", "k3"]).assert().code(1);
    Ok(())
}

#[test]
fn capacity_is_explained_once_not_in_every_command_help() -> TestResult {
    // A phrase of the long explanation of --capacity.
    let long = "segments and index together";
    bare()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(long));
    for command in COMMANDS {
        let out = bare().args([command, "--help"]).assert().success();
        let help = String::from_utf8(out.get_output().stdout.clone())?;
        assert!(!help.contains(long), "{command} --help repeats it:\n{help}");
        // Its one line of help, beside the option or (in clap's long layout) under it.
        let shown: Vec<&str> = help
            .lines()
            .skip_while(|l| !l.contains("--capacity <SIZE>"))
            .take(2)
            .collect();
        assert!(
            shown.iter().any(|l| l.contains("stratacache --help")),
            "{command}: {shown:?}"
        );
    }
    // Given after the command, it still sets the capacity.
    let (_tmp, store) = setup();
    sc(&store)
        .args(["put", "k", "--capacity", "2MiB"])
        .write_stdin("v")
        .assert()
        .success();
    sc(&store)
        .args(["stats", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"capacity_bytes\":2097152"));
    Ok(())
}

#[test]
fn ls_0_ends_keys_with_nul_so_newlines_in_keys_are_safe() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "line one\nline two", b"v1");
    put(&store, "plain", b"v2");
    let out = sc(&store).args(["ls", "-0"]).assert().success();
    assert_eq!(out.get_output().stdout, b"line one\nline two\0plain\0");
    let out = sc(&store)
        .args(["ls", "--null", "--long"])
        .assert()
        .success();
    let rows: Vec<&[u8]> = out.get_output().stdout.split(|&b| b == 0).collect();
    assert_eq!(rows.len(), 3, "two rows and the empty rest");
    assert!(rows[0].ends_with(b"  line one\nline two"), "{rows:?}");
    sc(&store).args(["ls", "-0", "--json"]).assert().code(2);
    bare()
        .args(["ls", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("-0, --null").and(predicate::str::contains("xargs -0")));
    Ok(())
}

#[test]
fn the_top_level_help_lists_every_exit_code() {
    let out = bare().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(help.contains("4 store busy"), "{help}");
    assert!(help.contains("--max-value-size"), "{help}");
}
