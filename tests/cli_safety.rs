//! The CLI keeps a store and its exports private and in place: `export` never writes
//! through a symbolic or hard link it finds in the target directory, a refused export
//! leaves nothing behind, and a new store is readable by its owner only.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command as StdCommand;

use predicates::prelude::*;

mod common;
use common::cli::{put, sc, setup};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn export_never_follows_links_planted_in_the_target() -> TestResult {
    let (tmp, store) = setup();
    let victim = tmp.path().join("victim");
    let out = tmp.path().join("out");
    fs::create_dir_all(&victim)?;
    fs::create_dir_all(&out)?;
    fs::write(victim.join("target"), b"precious")?;
    fs::write(victim.join("hard"), b"also precious")?;
    symlink("../victim/target", out.join("victim.txt"))?;
    symlink("../victim", out.join("link"))?;
    fs::hard_link(victim.join("hard"), out.join("hard.txt"))?;
    put(&store, "victim.txt", b"overwritten?");
    put(&store, "link/planted.txt", b"planted?");
    put(&store, "hard.txt", b"new content");
    put(&store, "plain/ok.txt", b"fine");

    sc(&store)
        .args(["export"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("victim.txt is a symbolic link"))
        .stderr(predicate::str::contains("link is a symbolic link"))
        .stderr(predicate::str::contains("exported 2 files"));

    assert_eq!(fs::read(victim.join("target"))?, b"precious");
    assert!(!victim.join("planted.txt").exists(), "wrote through a link");
    // The hard link was replaced, not written through.
    assert_eq!(fs::read(victim.join("hard"))?, b"also precious");
    assert_eq!(fs::read(out.join("hard.txt"))?, b"new content");
    assert_eq!(fs::read(out.join("plain/ok.txt"))?, b"fine");
    assert!(
        fs::symlink_metadata(out.join("link"))?
            .file_type()
            .is_symlink()
    );
    Ok(())
}

#[test]
fn keys_that_are_both_file_and_directory_are_reported() -> TestResult {
    let (tmp, store) = setup();
    let out = tmp.path().join("out");
    put(&store, "a", b"file a");
    put(&store, "a/b", b"file a/b");
    sc(&store)
        .arg("export")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a is a file, but another key needs it to be a directory",
        ));
    assert_eq!(fs::read(out.join("a"))?, b"file a");
    Ok(())
}

#[test]
fn a_refused_export_into_the_store_creates_nothing_there() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "k", b"v");
    let inside = store.join("sub").join("dir");
    sc(&store)
        .arg("export")
        .arg(&inside)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refusing to export into the store",
        ));
    assert!(
        !store.join("sub").exists(),
        "created directories in the store"
    );
    Ok(())
}

#[test]
fn a_new_store_is_readable_by_its_owner_only() -> TestResult {
    let (_tmp, store) = setup();
    put(&store, "secret", &vec![7u8; 10_000]);
    assert_modes(&store, 0o700, 0o600)
}

/// As root (CI is), another user (`nobody`) can neither read the store's files nor take
/// its lock.
#[test]
fn another_user_cannot_read_or_lock_the_store() -> TestResult {
    if !running_as_root() {
        eprintln!("SKIP another_user_cannot_read_or_lock_the_store: needs root to run as nobody");
        return Ok(());
    }
    let (tmp, store) = setup();
    // The parent is open to everyone, so only the store's own modes stand in the way.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))?;
    put(&store, "secret", b"private OCR text");
    // The control: nobody can read a world-readable file beside the store.
    let public = tmp.path().join("public.txt");
    fs::write(&public, b"public")?;
    fs::set_permissions(&public, fs::Permissions::from_mode(0o644))?;
    let control = StdCommand::new("runuser")
        .args(["-u", "nobody", "--", "cat"])
        .arg(&public)
        .output()?;
    assert_eq!(
        control.stdout, b"public",
        "runuser as nobody does not work here"
    );
    for path in store_paths(&store)? {
        let as_nobody = |args: &[&str]| {
            StdCommand::new("runuser")
                .args(["-u", "nobody", "--"])
                .args(args)
                .arg(&path)
                .output()
        };
        let read = if path.is_dir() {
            as_nobody(&["ls"])?
        } else {
            as_nobody(&["cat"])?
        };
        assert!(
            !read.status.success(),
            "nobody could read {}: {}",
            path.display(),
            String::from_utf8_lossy(&read.stdout)
        );
    }
    let lock = as_nobody_flock(&store.join("LOCK"))?;
    assert!(!lock, "nobody could lock the store");
    Ok(())
}

/// True when `nobody` could open and lock `path`.
fn as_nobody_flock(path: &Path) -> std::io::Result<bool> {
    let status = StdCommand::new("runuser")
        .args(["-u", "nobody", "--", "flock", "-n"])
        .arg(path)
        .arg("true")
        .status()?;
    Ok(status.success())
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Every directory of the store has mode `dirs` and every file mode `files`.
fn assert_modes(store: &Path, dirs: u32, files: u32) -> TestResult {
    for path in store_paths(store)? {
        let meta = fs::metadata(&path)?;
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { dirs } else { files };
        assert_eq!(mode, want, "{} has mode {mode:o}", path.display());
    }
    Ok(())
}

/// The store directory and everything in it.
fn store_paths(store: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = vec![store.to_path_buf()];
    for entry in fs::read_dir(store)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(store_paths(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[test]
fn a_store_shared_with_a_group_gives_the_group_read_and_write() -> TestResult {
    let (_tmp, dir) = setup();
    let store = stratacache::DiskStore::builder(&dir)
        .sharing(stratacache::Sharing::Group)
        .open()?;
    store.insert("k", b"v")?;
    store.flush()?;
    assert_modes(&dir, 0o770, 0o660)
}

#[test]
fn shared_group_makes_a_store_the_group_can_use() -> TestResult {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["--shared-group", "put", "k"])
        .write_stdin("v")
        .assert()
        .success();
    assert_modes(&store, 0o770, 0o660)
}
