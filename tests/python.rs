//! Runs the Python tests (`tests/python/`, pytest) with the `stratacache` binary of this
//! build, in a virtualenv at `target/pyenv` that it creates when missing (pytest and
//! redis-py from PyPI). Without Python or the network it prints a loud SKIP, or fails when
//! `STRATACACHE_REQUIRE_PYTHON=1` (CI sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python packages the tests import.
const PACKAGES: &[&str] = &["pytest", "redis"];

fn skip_or_fail(why: &str) {
    if std::env::var("STRATACACHE_REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
        panic!("Python tests cannot run ({why}), and STRATACACHE_REQUIRE_PYTHON=1");
    }
    eprintln!("\n*** SKIP the Python tests: {why} ***\n");
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv")
}

/// The virtualenv's python, with the packages installed; `None` (after a SKIP) when that
/// cannot be had.
fn python() -> Option<PathBuf> {
    let venv = venv();
    let python = venv.join("bin/python");
    let has_packages = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pytest, redis"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_packages(&python) {
        return Some(python);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !created {
        skip_or_fail("python3 -m venv failed (is python3-venv installed?)");
        return None;
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .status()
        .is_ok_and(|s| s.success());
    if !installed || !has_packages(&python) {
        skip_or_fail("pip could not install pytest and redis (no network?)");
        return None;
    }
    Some(python)
}

#[test]
fn python_tests_pass() {
    let Some(python) = python() else {
        return;
    };
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let status = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("STRATACACHE_BIN", env!("CARGO_BIN_EXE_stratacache"))
        .status()
        .expect("run pytest");
    assert!(status.success(), "the Python tests failed (output above)");
}
