//! The `stratacache` command line, run as a real process: every command, the exit codes
//! scripts rely on (0 ok, 1 not found, 2 error, 3 corruption), one-line errors, the JSON
//! formats, and import/export round trips.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

mod common;
use common::cli::{bare, put, sc, setup};

/// Standard output of a successful run, as text.
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8 output")
}

/// Every file under `root` (relative path -> content).
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}

/// A nested tree of OCR-like files, an empty file and an empty-named subdirectory level.
fn ocr_tree(root: &Path) -> TestResult {
    fs::create_dir_all(root.join("book-1/pages"))?;
    fs::create_dir_all(root.join("book-2"))?;
    fs::write(
        root.join("book-1/pages/0001.txt"),
        "Chapter One\nIt was a dark night.\n",
    )?;
    fs::write(root.join("book-1/pages/0002.txt"), "line\n".repeat(5000))?;
    fs::write(
        root.join("book-1/pages/0003.hocr"),
        "<div class='ocr_page'/>",
    )?;
    fs::write(
        root.join("book-1/words.tsv"),
        "level\tpage\tword\n5\t1\tIt\n",
    )?;
    fs::write(root.join("book-2/empty.txt"), "")?;
    fs::write(root.join("index.txt"), (0..=255u8).collect::<Vec<u8>>())?;
    Ok(())
}

#[test]
fn put_and_get_from_file_and_stdin() -> TestResult {
    let (tmp, store) = setup();
    let file = tmp.path().join("page.txt");
    fs::write(&file, "recognised text\n")?;
    sc(&store)
        .args(["put", "doc/page.txt"])
        .arg(&file)
        .assert()
        .success();
    sc(&store)
        .args(["put", "doc/stdin.txt"])
        .write_stdin("from stdin")
        .assert()
        .success();
    sc(&store)
        .args(["put", "doc/dash.txt", "-"])
        .write_stdin("dash")
        .assert()
        .success();
    sc(&store)
        .args(["get", "doc/page.txt"])
        .assert()
        .success()
        .stdout("recognised text\n");
    sc(&store)
        .args(["get", "doc/stdin.txt"])
        .assert()
        .success()
        .stdout("from stdin");
    sc(&store)
        .args(["get", "doc/dash.txt"])
        .assert()
        .success()
        .stdout("dash");
    let out = tmp.path().join("out.txt");
    sc(&store)
        .args(["get", "doc/page.txt", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    assert_eq!(fs::read(&out)?, b"recognised text\n");
    Ok(())
}

#[test]
fn get_of_a_missing_key_exits_1() {
    let (_tmp, store) = setup();
    put(&store, "present", b"x");
    sc(&store)
        .args(["get", "absent"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("not found"));
}

#[test]
fn rm_removes_and_reports_missing_keys() {
    let (_tmp, store) = setup();
    put(&store, "a", b"1");
    put(&store, "b", b"2");
    put(&store, "c", b"3");
    sc(&store).args(["rm", "a"]).assert().success();
    sc(&store)
        .args(["rm", "b", "nope", "c"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope"));
    sc(&store).args(["get", "b"]).assert().code(1);
    sc(&store).args(["get", "c"]).assert().code(1);
    sc(&store).arg("ls").assert().success().stdout("");
}

#[test]
fn commands_on_a_missing_store_exit_2_and_create_nothing() {
    let (tmp, store) = setup();
    let export_dir = tmp.path().join("export");
    let commands: Vec<Vec<&str>> = vec![
        vec!["get", "k"],
        vec!["rm", "k"],
        vec!["ls"],
        vec!["stats"],
        vec!["verify"],
        vec!["compact"],
        vec!["sweep"],
        vec!["export", export_dir.to_str().unwrap()],
    ];
    for args in commands {
        let out = sc(&store).args(&args).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("no store at"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
    assert!(!store.exists());
    // An empty directory is not a store either, but put may create one in it.
    fs::create_dir(&store).unwrap();
    sc(&store)
        .arg("ls")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no store at"));
    put(&store, "k", b"v");
    sc(&store).arg("ls").assert().success().stdout("k\n");
}

#[test]
fn a_directory_that_is_not_a_store_is_never_touched() -> TestResult {
    let (tmp, _) = setup();
    let dir = tmp.path().join("photos");
    fs::create_dir(&dir)?;
    fs::write(dir.join("holiday.jpg"), "jpeg")?;
    let before = tree(&dir);
    for args in [vec!["put", "k"], vec!["ls"], vec!["stats"]] {
        sc(&dir)
            .args(&args)
            .write_stdin("v")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a stratacache directory"));
    }
    let src = tmp.path().join("src");
    ocr_tree(&src)?;
    sc(&dir).arg("import").arg(&src).assert().code(2);
    assert_eq!(tree(&dir), before);
    assert_eq!(fs::read_dir(&dir)?.count(), 1);
    Ok(())
}

#[test]
fn bad_ttl_and_bad_size_exit_2_naming_the_value() {
    let (_tmp, store) = setup();
    for bad in ["5y", "90", "0s", "1m1m"] {
        let out = sc(&store)
            .args(["put", "k", "--ttl", bad])
            .write_stdin("v")
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(bad), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    for bad in ["64XB", "lots", "-1"] {
        sc(&store)
            .args(["--capacity", bad, "put", "k"])
            .write_stdin("v")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(bad));
    }
    assert!(!store.exists(), "no store is created by a bad command line");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let (_tmp, store) = setup();
    for args in [vec!["frobnicate"], vec!["get"], vec!["ls", "--bogus"]] {
        let out = sc(&store).args(&args).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("stratacache: "), "{err}");
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    let commands = [
        "put", "get", "rm", "ls", "import", "export", "stats", "verify", "compact", "sweep",
    ];
    for command in commands {
        bare()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
    bare()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--capacity"));
}

#[test]
fn ls_lists_keys_long_and_json() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "scans/b.txt", &b"b".repeat(3000));
    put(&store, "scans/a.txt", b"short");
    put(&store, "other", b"x");
    sc(&store)
        .args(["put", "scans/c.txt", "--ttl", "7d"])
        .write_stdin("expiring")
        .assert()
        .success();
    assert_eq!(
        stdout_of(sc(&store).arg("ls")),
        "other\nscans/a.txt\nscans/b.txt\nscans/c.txt\n"
    );
    assert_eq!(
        stdout_of(sc(&store).args(["ls", "--prefix", "scans/"])),
        "scans/a.txt\nscans/b.txt\nscans/c.txt\n"
    );
    let long = stdout_of(sc(&store).args(["ls", "--long", "--prefix", "scans/"]));
    let rows: Vec<Vec<&str>> = long
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    // SIZE  STORED  TTL  KEY, sizes as "<number> <unit>".
    assert_eq!(rows.len(), 3, "{long}");
    assert_eq!(rows[0], ["5", "B", "5", "B", "-", "scans/a.txt"], "{long}");
    assert_eq!(rows[1][..2], ["2.9", "KiB"], "{long}");
    assert_eq!(rows[1][4..], ["-", "scans/b.txt"], "{long}");
    assert_eq!(rows[2][4..], ["6d", "23h", "scans/c.txt"], "{long}");

    let json: Value = serde_json::from_str(&stdout_of(sc(&store).args(["ls", "--json"])))?;
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), 4);
    let b = &rows[2];
    assert_eq!(b["key"], "scans/b.txt");
    assert_eq!(b["size"], 3000);
    assert!(b["stored_size"].as_u64().unwrap() < 3000, "compressed");
    assert!(b["expires_in_ms"].is_null());
    let ttl = rows[3]["expires_in_ms"].as_u64().expect("a number");
    assert!(ttl > 6 * 86_400_000 && ttl <= 7 * 86_400_000, "{ttl}");
    Ok(())
}

#[test]
fn import_then_export_is_byte_identical() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("ocr");
    ocr_tree(&src)?;
    sc(&store)
        .args(["import", src.to_str().unwrap(), "--prefix", "lib/"])
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 6 files"));
    assert_eq!(
        stdout_of(sc(&store).arg("ls")),
        "lib/book-1/pages/0001.txt\nlib/book-1/pages/0002.txt\nlib/book-1/pages/0003.hocr\n\
         lib/book-1/words.tsv\nlib/book-2/empty.txt\nlib/index.txt\n"
    );
    let out = tmp.path().join("restored");
    sc(&store).arg("export").arg(&out).assert().success();
    assert_eq!(tree(&out.join("lib")), tree(&src));
    // Export by prefix writes only those keys, still named by the full key.
    let part = tmp.path().join("part");
    sc(&store)
        .arg("export")
        .arg(&part)
        .args(["--prefix", "lib/book-2/"])
        .assert()
        .success();
    assert_eq!(
        tree(&part).keys().collect::<Vec<_>>(),
        [Path::new("lib/book-2/empty.txt")]
    );
    Ok(())
}

#[test]
fn import_with_ttl_sets_expiry_on_every_entry() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("ocr");
    ocr_tree(&src)?;
    sc(&store)
        .arg("import")
        .arg(&src)
        .args(["--ttl", "2h"])
        .assert()
        .success();
    let json: Value = serde_json::from_str(&stdout_of(sc(&store).args(["ls", "--json"])))?;
    for row in json.as_array().unwrap() {
        let ms = row["expires_in_ms"].as_u64().expect("every entry expires");
        assert!(ms <= 2 * 3_600_000 && ms > 3_600_000);
    }
    Ok(())
}

#[test]
fn import_skip_existing_resumes() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("ocr");
    ocr_tree(&src)?;
    sc(&store).arg("import").arg(&src).assert().success();
    fs::write(src.join("index.txt"), "changed")?;
    fs::write(src.join("book-2/new.txt"), "new page")?;
    sc(&store)
        .arg("import")
        .arg(&src)
        .arg("--skip-existing")
        .assert()
        .success()
        .stderr(
            predicate::str::contains("imported 1 file (")
                .and(predicate::str::contains("already stored 6")),
        );
    sc(&store)
        .args(["get", "index.txt"])
        .assert()
        .success()
        .stdout((0..=255u8).collect::<Vec<u8>>());
    sc(&store)
        .args(["get", "book-2/new.txt"])
        .assert()
        .success()
        .stdout("new page");
    // Without the flag, the changed file is stored again.
    sc(&store).arg("import").arg(&src).assert().success();
    sc(&store)
        .args(["get", "index.txt"])
        .assert()
        .success()
        .stdout("changed");
    Ok(())
}

#[test]
fn import_key_by_hash_stores_identical_files_once() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("docs");
    fs::create_dir_all(src.join("copy"))?;
    fs::write(src.join("a.txt"), "same text")?;
    fs::write(src.join("copy/a.txt"), "same text")?;
    fs::write(src.join("b.txt"), "other text")?;
    let mapping =
        stdout_of(
            sc(&store)
                .arg("import")
                .arg(&src)
                .args(["--key-by-hash", "--prefix", "blob/"]),
        );
    let keys = stdout_of(sc(&store).arg("ls"));
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        let hex = key.strip_prefix("blob/").expect("prefixed");
        assert_eq!(hex.len(), 64);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }
    // Stdout maps every file to its key.
    let lines: Vec<(&str, &str)> = mapping
        .lines()
        .map(|l| l.split_once('\t').expect("KEY<TAB>PATH"))
        .collect();
    assert_eq!(lines.len(), 3);
    let key_of = |path: &str| lines.iter().find(|(_, p)| *p == path).unwrap().0;
    assert_eq!(key_of("a.txt"), key_of("copy/a.txt"));
    assert_ne!(key_of("a.txt"), key_of("b.txt"));
    sc(&store)
        .args(["get", key_of("b.txt")])
        .assert()
        .success()
        .stdout("other text");
    Ok(())
}

#[test]
fn import_skips_files_over_the_value_limit_without_reading_them() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    fs::write(src.join("small.txt"), "fits")?;
    // Sparse: 65 MiB of length, no data blocks.
    fs::File::create(src.join("huge.bin"))?.set_len(65 << 20)?;
    sc(&store).arg("import").arg(&src).assert().code(2).stderr(
        predicate::str::contains("huge.bin")
            .and(predicate::str::contains("value limit"))
            .and(predicate::str::contains("skipped 1")),
    );
    assert_eq!(stdout_of(sc(&store).arg("ls")), "small.txt\n");
    Ok(())
}

#[test]
fn import_goes_on_past_unreadable_files_and_exits_2() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    fs::write(src.join("a.txt"), "a")?;
    fs::write(src.join("locked.txt"), "secret")?;
    fs::write(src.join("z.txt"), "z")?;
    fs::set_permissions(src.join("locked.txt"), fs::Permissions::from_mode(0o000))?;
    if fs::read(src.join("locked.txt")).is_ok() {
        eprintln!("running as root: permissions do not stop reads; skipping");
        return Ok(());
    }
    sc(&store)
        .arg("import")
        .arg(&src)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("locked.txt").and(predicate::str::contains("failed 1")));
    assert_eq!(stdout_of(sc(&store).arg("ls")), "a.txt\nz.txt\n");
    Ok(())
}

#[test]
fn import_of_a_missing_directory_exits_2_and_creates_no_store() {
    let (tmp, store) = setup();
    sc(&store)
        .arg("import")
        .arg(tmp.path().join("nowhere"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere"));
    assert!(!store.exists());
}

#[test]
fn export_refuses_keys_that_would_escape() -> TestResult {
    let (tmp, store) = setup();
    put(&store, "../escaped.txt", b"evil");
    put(&store, "/abs.txt", b"evil");
    put(&store, "ok/page.txt", b"fine");
    let out = tmp.path().join("out");
    sc(&store).arg("export").arg(&out).assert().code(2).stderr(
        predicate::str::contains("../escaped.txt").and(predicate::str::contains("/abs.txt")),
    );
    assert!(!tmp.path().join("escaped.txt").exists());
    assert_eq!(fs::read(out.join("ok/page.txt"))?, b"fine");
    assert_eq!(tree(&out).len(), 1);
    Ok(())
}

#[test]
fn capacity_is_set_at_creation_and_changed_later() -> TestResult {
    let (_tmp, store) = setup();
    let capacity = |store: &Path| -> Result<u64, Box<dyn std::error::Error>> {
        let stats: Value = serde_json::from_str(&stdout_of(sc(store).args(["stats", "--json"])))?;
        Ok(stats["capacity_bytes"].as_u64().unwrap())
    };
    sc(&store)
        .args(["--capacity", "64MiB", "put", "k"])
        .write_stdin("v")
        .assert()
        .success();
    assert_eq!(capacity(&store)?, 64 << 20);
    // Commands that write change it (reading never does: see tests/cli_capacity.rs).
    sc(&store)
        .args(["--capacity", "128M", "sweep"])
        .assert()
        .success();
    assert_eq!(capacity(&store)?, 128 << 20);
    sc(&store)
        .args(["--capacity", "67108864", "compact"])
        .assert()
        .success();
    assert_eq!(capacity(&store)?, 64 << 20);
    Ok(())
}

#[test]
fn new_stores_default_to_10_gib() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "k", b"v");
    let stats: Value = serde_json::from_str(&stdout_of(sc(&store).args(["stats", "--json"])))?;
    assert_eq!(stats["capacity_bytes"], 10u64 << 30);
    Ok(())
}

#[test]
fn stats_json_has_every_field_and_counts_across_processes() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "a", b"alpha");
    put(&store, "b", b"beta");
    sc(&store).args(["get", "a"]).assert().success();
    sc(&store).args(["get", "zzz"]).assert().code(1);
    let stats: Value = serde_json::from_str(&stdout_of(sc(&store).args(["stats", "--json"])))?;
    let fields = [
        "entries",
        "live_bytes",
        "disk_bytes",
        "capacity_bytes",
        "segments",
        "hits",
        "misses",
        "inserts",
        "evictions",
        "expirations",
        "corruptions",
    ];
    for field in fields {
        assert!(stats[field].is_u64(), "{field} in {stats}");
    }
    assert_eq!(stats["entries"], 2);
    assert_eq!(stats["inserts"], 2);
    assert_eq!(stats["hits"], 1);
    assert_eq!(stats["misses"], 1);
    assert!(stats["disk_bytes"].as_u64().unwrap() > 0);
    let human = stdout_of(sc(&store).arg("stats"));
    assert!(
        human.contains("entries") && human.contains("10.0 GiB"),
        "{human}"
    );
    Ok(())
}

#[test]
fn verify_finds_a_flipped_byte_and_repair_removes_it() -> TestResult {
    let (_tmp, store) = setup();
    let value = b"UNIQUE-OCR-VALUE-0123456789-abcdefghij";
    put(&store, "good", b"an intact value");
    put(&store, "victim", value);
    let report: Value = serde_json::from_str(&stdout_of(sc(&store).args(["verify", "--json"])))?;
    assert_eq!(report["checked"], 2);
    assert_eq!(report["bad"].as_array().unwrap().len(), 0);

    flip_byte_inside(&store, value)?;
    sc(&store)
        .arg("verify")
        .assert()
        .code(3)
        .stdout(predicate::str::contains("victim"));
    let out = sc(&store)
        .args(["verify", "--json"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["checked"], 2);
    assert_eq!(report["bad"][0]["key"], "victim");
    assert!(report["bad"][0]["reason"].is_string());
    sc(&store).args(["verify", "--repair"]).assert().code(3);
    sc(&store).arg("verify").assert().success();
    sc(&store).args(["get", "victim"]).assert().code(1);
    sc(&store)
        .args(["get", "good"])
        .assert()
        .success()
        .stdout("an intact value");
    let stats: Value = serde_json::from_str(&stdout_of(sc(&store).args(["stats", "--json"])))?;
    assert!(stats["corruptions"].as_u64().unwrap() >= 1);
    Ok(())
}

/// Flips one byte in the middle of `value` where it is stored in a segment file.
fn flip_byte_inside(store: &Path, value: &[u8]) -> TestResult {
    for entry in fs::read_dir(store.join("segments"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "seg") {
            let mut bytes = fs::read(&path)?;
            if let Some(at) = bytes.windows(value.len()).position(|w| w == value) {
                bytes[at + value.len() / 2] ^= 0x55;
                fs::write(&path, bytes)?;
                return Ok(());
            }
        }
    }
    Err("value not found in any segment".into())
}

#[test]
fn put_with_ttl_shows_in_ls_long_and_sweep_removes_expired() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["put", "session", "--ttl", "90s"])
        .write_stdin("s")
        .assert()
        .success();
    let long = stdout_of(sc(&store).args(["ls", "--long"]));
    assert!(long.contains("1m 29s") || long.contains("1m 30s"), "{long}");
    sc(&store)
        .args(["put", "flash", "--ttl", "1ms"])
        .write_stdin("f")
        .assert()
        .success();
    std::thread::sleep(std::time::Duration::from_millis(20));
    sc(&store).args(["get", "flash"]).assert().code(1);
    sc(&store)
        .arg("sweep")
        .assert()
        .success()
        .stdout("removed 1 expired entry\n");
    sc(&store)
        .arg("sweep")
        .assert()
        .success()
        .stdout("removed 0 expired entries\n");
    assert_eq!(stdout_of(sc(&store).arg("ls")), "session\n");
    Ok(())
}

#[test]
fn compact_reports_what_it_did() -> TestResult {
    let (_tmp, store) = setup();
    for i in 0..20 {
        put(&store, &format!("k{i}"), &vec![i as u8; 2000]);
    }
    let keys: Vec<String> = (0..18).map(|i| format!("k{i}")).collect();
    sc(&store).arg("rm").args(&keys).assert().success();
    let out = stdout_of(sc(&store).arg("compact"));
    assert!(out.starts_with("compacted "), "{out}");
    assert!(out.contains("disk "), "{out}");
    sc(&store).args(["compact", "--all"]).assert().success();
    sc(&store)
        .args(["get", "k19"])
        .assert()
        .success()
        .stdout(vec![19u8; 2000]);
    Ok(())
}

#[test]
fn stratacache_dir_env_is_honoured_and_dir_wins() -> TestResult {
    let (tmp, store) = setup();
    bare()
        .env("STRATACACHE_DIR", &store)
        .args(["put", "from-env"])
        .write_stdin("v")
        .assert()
        .success();
    assert!(store.join("index.redb").exists());
    bare()
        .env("STRATACACHE_DIR", &store)
        .arg("ls")
        .assert()
        .success()
        .stdout("from-env\n");
    let other = tmp.path().join("other");
    sc(&other)
        .env("STRATACACHE_DIR", &store)
        .arg("ls")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no store at"));
    Ok(())
}

#[test]
fn default_dir_is_dot_stratacache() -> TestResult {
    let (tmp, _) = setup();
    bare()
        .current_dir(tmp.path())
        .args(["put", "k"])
        .write_stdin("v")
        .assert()
        .success();
    assert!(tmp.path().join(".stratacache/index.redb").exists());
    Ok(())
}

#[test]
fn import_goes_on_past_a_file_whose_key_is_too_long() -> TestResult {
    let (tmp, store) = setup();
    let src = tmp.path().join("src");
    fs::create_dir(&src)?;
    fs::write(src.join("a.txt"), "a")?;
    fs::write(src.join(format!("{}.txt", "n".repeat(240))), "long name")?;
    fs::write(src.join("z.txt"), "z")?;
    // 3900 + 244 bytes is over the 4 KiB key limit; 3900 + 5 is not.
    let prefix = "p".repeat(3900);
    sc(&store)
        .arg("import")
        .arg(&src)
        .args(["--prefix", &prefix])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("key limit")
                .and(predicate::str::contains("imported 2 files"))
                .and(predicate::str::contains("failed 1")),
        );
    let keys = stdout_of(sc(&store).arg("ls"));
    assert_eq!(keys, format!("{prefix}a.txt\n{prefix}z.txt\n"));
    Ok(())
}
