//! Runs the Python tests (`tests/python/`, pytest) in a virtualenv at `target/pyenv`, which
//! it creates when missing, with pytest, redis-py, maturin and diskcache (for the
//! benchmark) from PyPI. It installs this checkout's Python package (`pip install
//! ./python`, built by maturin in `target/python-build`, so later runs rebuild only what
//! changed) and runs pytest with the `stratacache` binary of this build. Without Python or
//! the network it prints a loud SKIP, or fails when `STRATACACHE_REQUIRE_PYTHON=1` (CI sets
//! it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stratacache::{Cache, DiskStore, PayloadKind, ValueCodec};

/// The Python packages the tests and the benchmark import, and the build backend.
const PACKAGES: &[&str] = &["pytest", "redis", "maturin>=1.9.4,<2", "diskcache", "mypy"];

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

/// The virtualenv's python with this checkout's package installed, set up once for every
/// test here; `None` after a SKIP.
fn installed() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = python()?;
            // The package a user gets from `pip install ./python`; maturin from the venv
            // (no isolated build environment to download each time).
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
            Some(python)
        })
        .as_deref()
}

#[test]
fn python_tests_pass() {
    let Some(python) = installed() else {
        return;
    };
    let status = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("tests/python"))
        .env("STRATACACHE_BIN", env!("CARGO_BIN_EXE_stratacache"))
        .status()
        .expect("run pytest");
    assert!(status.success(), "the Python tests failed (output above)");
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Page {
    id: u32,
    text: String,
    confidence: f64,
}

fn page() -> Page {
    Page {
        id: 7,
        text: "Grüße aus Köln".into(),
        confidence: 0.93,
    }
}

fn open(dir: &Path, codec: ValueCodec) -> Cache {
    Cache::builder()
        .disk(DiskStore::builder(dir))
        .value_codec(codec)
        .open()
        .expect("open the store")
}

/// The Python rows of the value matrix: what Rust stores (bytes, text, typed values in each
/// codec) Python reads as the same bytes or the equal object, and what Python stores Rust
/// reads back, bytes as bytes, `str` as text and objects as typed JSON values.
#[test]
fn python_and_rust_read_each_others_values() {
    let Some(python) = installed() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for (codec, key) in [
        (ValueCodec::Json, "typed-json"),
        (ValueCodec::MessagePack, "typed-msgpack"),
        (ValueCodec::Bincode, "typed-bincode"),
    ] {
        let cache = open(&store, codec);
        cache.insert(key, &page()).unwrap();
        if codec == ValueCodec::Json {
            cache.insert_bytes("bytes", b"\x00\xffraw").unwrap();
            let options = stratacache::InsertOptions::new();
            cache
                .insert_payload("text", PayloadKind::Text, "Grüße".as_bytes(), &options)
                .unwrap();
        }
        cache.close().unwrap();
    }
    let script = r#"
import json, sys, stratacache
with stratacache.Cache(sys.argv[1]) as c:
    out = {
        "bytes": list(c.get("bytes")),
        "text": c.get("text"),
        "typed-json": c.get("typed-json"),
        "typed-msgpack": c.get("typed-msgpack"),
    }
    try:
        c.get("typed-bincode")
        out["typed-bincode"] = "read"
    except stratacache.SerializationError as e:
        out["typed-bincode"] = "refused: " + str(e)
    c.set("py-bytes", b"\x01\x02")
    c.set("py-text", "Grüße")
    c.set("py-json", {"id": 7, "text": "Grüße aus Köln", "confidence": 0.93})
print(json.dumps(out))
"#;
    let output = Command::new(python)
        .args(["-c", script])
        .arg(&store)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected_page = serde_json::json!({"id": 7, "text": "Grüße aus Köln", "confidence": 0.93});
    assert_eq!(read["bytes"], serde_json::json!(b"\x00\xffraw".to_vec()));
    assert_eq!(read["text"], "Grüße");
    assert_eq!(read["typed-json"], expected_page);
    assert_eq!(read["typed-msgpack"], expected_page);
    let refused = read["typed-bincode"].as_str().unwrap();
    assert!(
        refused.starts_with("refused: ") && refused.contains("bincode"),
        "{refused}"
    );

    let cache = open(&store, ValueCodec::Bincode);
    let bytes = cache.get_bytes("py-bytes").unwrap().unwrap();
    assert_eq!(
        (&*bytes, bytes.kind()),
        (&b"\x01\x02"[..], PayloadKind::Bytes)
    );
    let text = cache.get_bytes("py-text").unwrap().unwrap();
    assert_eq!(
        (&*text, text.kind()),
        ("Grüße".as_bytes(), PayloadKind::Text)
    );
    assert_eq!(
        cache.get::<String>("py-text").unwrap().as_deref(),
        Some("Grüße")
    );
    // A dict from Python is a typed JSON value to Rust, whatever codec this cache writes.
    assert_eq!(cache.get::<Page>("py-json").unwrap(), Some(page()));
    cache.close().unwrap();
}
