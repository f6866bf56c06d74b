//! Runs the Python tests (`tests/python/`, pytest) in a virtualenv at `target/pyenv`, which
//! it creates when missing, with pytest, redis-py, maturin and diskcache (for the
//! benchmark) from PyPI. It installs this checkout's Python package (`pip install
//! ./python`, built by maturin in `target/python-build`, so later runs rebuild only what
//! changed) and runs pytest with the `stratacache` binary of this build. Without Python or
//! the network it prints a loud SKIP, or fails when `STRATACACHE_REQUIRE_PYTHON=1` (CI sets
//! it).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python packages the tests and the benchmark import, and the build backend.
const PACKAGES: &[&str] = &["pytest", "redis", "maturin>=1.9,<2", "diskcache", "mypy"];

fn skip_or_fail(why: &str) {
    if std::env::var("STRATACACHE_REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
        panic!("Python tests cannot run ({why}), and STRATACACHE_REQUIRE_PYTHON=1");
    }
    eprintln!("\n*** SKIP the Python tests: {why} ***\n");
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pip(python: &Path) -> Command {
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    pip
}

/// The virtualenv's python, with the packages installed; `None` (after a SKIP) when that
/// cannot be had.
fn python() -> Option<PathBuf> {
    let venv = root().join("target/pyenv");
    let python = venv.join("bin/python");
    let has_packages = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pytest, redis, maturin, diskcache, mypy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_packages(&python) {
        return Some(python);
    }
    let created = python.exists()
        || Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
    if !created {
        skip_or_fail("python3 -m venv failed (is python3-venv installed?)");
        return None;
    }
    let installed = pip(&python)
        .args(PACKAGES)
        .status()
        .is_ok_and(|s| s.success());
    if !installed || !has_packages(&python) {
        skip_or_fail("pip could not install pytest, redis, maturin and diskcache (no network?)");
        return None;
    }
    Some(python)
}

#[test]
fn python_tests_pass() {
    let Some(python) = python() else {
        return;
    };
    // The package a user gets from `pip install ./python`; maturin from the venv (no
    // isolated build environment to download each time).
    let status = pip(&python)
        .args(["--no-build-isolation", "--force-reinstall", "--no-deps"])
        .arg(root().join("python"))
        .env("CARGO_TARGET_DIR", root().join("target/python-build"))
        .status()
        .expect("run pip install ./python");
    assert!(
        status.success(),
        "pip install ./python failed (output above)"
    );
    let status = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("tests/python"))
        .env("STRATACACHE_BIN", env!("CARGO_BIN_EXE_stratacache"))
        .status()
        .expect("run pytest");
    assert!(status.success(), "the Python tests failed (output above)");
}
