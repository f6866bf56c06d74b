//! Typed values record their codec: a reader decodes with the codec the value was written
//! with; JSON and MessagePack values show as JSON in the CLI (`--raw` for the stored bytes);
//! a value that does not decode as the type asked for is a miss counted as a decode error,
//! apart from damage, and stays stored.

mod common;

use std::path::Path;

use serde::{Deserialize, Serialize};
use stratacache::{Cache, DiskStore, ValueCodec};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct OcrV1 {
    id: u32,
    text: String,
    confidence: f32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct OcrV2 {
    id: u32,
    text: String,
    confidence: f32,
    #[serde(default)]
    language: Option<String>,
}

fn page() -> OcrV1 {
    OcrV1 {
        id: 7,
        text: "Grüße".into(),
        confidence: 0.5,
    }
}

fn cache(dir: &Path, codec: ValueCodec) -> Cache {
    Cache::builder()
        .memory(1 << 20)
        .disk(DiskStore::builder(dir))
        .value_codec(codec)
        .open()
        .expect("cache")
}

#[test]
fn json_and_messagepack_values_show_as_json_and_read_back_with_a_grown_type() {
    for codec in [ValueCodec::Json, ValueCodec::MessagePack] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("store");
        let c = cache(&dir, codec);
        c.insert("page", &page()).expect("insert");
        c.close().expect("close");
        let shown = common::cli::sc(&dir)
            .args(["get", "page"])
            .output()
            .expect("get");
        let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
        assert_eq!(json["text"], "Grüße", "{codec:?}");
        let raw = common::cli::sc(&dir)
            .args(["get", "--raw", "page"])
            .output()
            .expect("get");
        let is_json = serde_json::from_slice::<serde_json::Value>(&raw.stdout).is_ok();
        assert_eq!(
            is_json,
            codec == ValueCodec::Json,
            "{codec:?}: --raw gives the stored bytes"
        );
        // A reader whose own codec is bincode reads it with the recorded codec, as a type
        // that gained an optional field.
        let reader = cache(&dir, ValueCodec::Bincode);
        let grown: OcrV2 = reader.get("page").expect("get").expect("present");
        assert_eq!((grown.id, grown.language), (7, None));
        assert_eq!(
            reader
                .get_bytes("page")
                .expect("bytes")
                .expect("present")
                .codec(),
            Some(codec)
        );
        reader.close().expect("close");
    }
}

#[test]
fn a_value_of_another_type_is_a_counted_miss_that_stays() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = cache(tmp.path(), ValueCodec::Bincode);
    c.insert("page", &page()).expect("insert");
    assert_eq!(c.get::<[u64; 16]>("page").expect("get"), None);
    let stats = c.stats();
    assert_eq!((stats.decode_errors, stats.errors), (1, 0));
    assert_eq!(
        c.get::<OcrV1>("page").expect("get"),
        Some(page()),
        "still stored"
    );
    let disk = c.disk_store().expect("disk").stats().expect("stats");
    assert_eq!(disk.corruptions, 0, "not counted as damage");
    c.close().expect("close");
}

#[test]
fn the_cli_shows_json_through_a_server_too() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let c = cache(&dir, ValueCodec::MessagePack);
    c.insert("page", &page()).expect("insert");
    c.close().expect("close");
    let _served = common::serve::Served::start(&dir, &[]);
    let shown = common::cli::sc(&dir)
        .args(["get", "page"])
        .output()
        .expect("get");
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(json["id"], 7);
}
