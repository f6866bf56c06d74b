//! Running the `stratacache` binary in tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// The binary with no `--dir` and no inherited `STRATACACHE_DIR`.
pub fn bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratacache"));
    cmd.env_remove("STRATACACHE_DIR");
    cmd
}

/// The binary working on the store in `dir`.
pub fn sc(dir: &Path) -> Command {
    let mut cmd = bare();
    cmd.arg("--dir").arg(dir);
    cmd
}

/// A temporary directory and a store path inside it (not created yet).
pub fn setup() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    (tmp, store)
}

/// Stores `value` under `key` through `put` with the value on stdin.
pub fn put(store: &Path, key: &str, value: &[u8]) {
    sc(store)
        .args(["put", key])
        .write_stdin(value.to_vec())
        .assert()
        .success();
}
