//! Payloads encoded by the caller (`insert_payload`, `insert_many_payloads`): every reader
//! gets them back with their kind; text reads as a `String`; a pickle is not decoded by
//! Rust; and `get_bytes_in_memory` answers only from the memory tier.

use stratacache::{Cache, DiskStore, InsertOptions, PayloadKind, ValueCodec};

fn cache(dir: &std::path::Path, memory: bool) -> Cache {
    let mut builder = Cache::builder().disk(DiskStore::builder(dir));
    if memory {
        builder = builder.memory(1 << 20);
    }
    builder.open().expect("open")
}

#[test]
fn payload_kinds_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = InsertOptions::new();
    {
        let c = cache(dir.path(), true);
        c.insert_payload("text", PayloadKind::Text, "Grüße".as_bytes(), &options)
            .unwrap();
        c.insert_payload("pickle", PayloadKind::Pickle, b"\x80\x05K\x01.", &options)
            .unwrap();
        c.insert_many_payloads(
            &[
                (
                    "json",
                    PayloadKind::Typed(ValueCodec::Json),
                    &b"{\"a\":1}"[..],
                ),
                ("raw", PayloadKind::Bytes, &b"\x00\x01"[..]),
            ],
            &InsertOptions::new().tags(["batch"]),
        )
        .unwrap();
        c.close().unwrap();
    }
    let c = cache(dir.path(), false);
    let kind = |key: &str| c.get_bytes(key).unwrap().map(|v| (v.to_vec(), v.kind()));
    assert_eq!(
        kind("text"),
        Some(("Grüße".as_bytes().to_vec(), PayloadKind::Text))
    );
    assert_eq!(kind("pickle").unwrap().1, PayloadKind::Pickle);
    assert_eq!(
        kind("json"),
        Some((b"{\"a\":1}".to_vec(), PayloadKind::Typed(ValueCodec::Json)))
    );
    assert_eq!(
        kind("raw"),
        Some((b"\x00\x01".to_vec(), PayloadKind::Bytes))
    );
    // Text reads as a String; JSON as a typed value; a pickle does not decode in Rust (a
    // miss counted as a decode error, the value kept).
    assert_eq!(c.get::<String>("text").unwrap().as_deref(), Some("Grüße"));
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct A {
        a: u32,
    }
    assert_eq!(c.get::<A>("json").unwrap(), Some(A { a: 1 }));
    let before = c.stats().decode_errors;
    assert_eq!(c.get::<u32>("pickle").unwrap(), None);
    assert_eq!(c.stats().decode_errors, before + 1);
    assert!(c.contains_key("pickle").unwrap());
    // The batch carried its tag.
    c.invalidate_tag("batch").unwrap();
    assert!(c.get_bytes("json").unwrap().is_none() && c.get_bytes("raw").unwrap().is_none());
}

#[test]
fn get_bytes_in_memory_answers_from_the_memory_tier_only() {
    let dir = tempfile::tempdir().unwrap();
    let c = cache(dir.path(), true);
    c.insert_bytes("k", b"v").unwrap();
    let hits = c.stats().hits;
    assert_eq!(
        c.get_bytes_in_memory("k").map(|v| v.to_vec()),
        Some(b"v".to_vec())
    );
    assert_eq!(c.stats().hits, hits + 1);
    let misses = c.stats().misses;
    assert!(c.get_bytes_in_memory("absent").is_none());
    assert_eq!(
        c.stats().misses,
        misses,
        "a memory-only look counts no miss"
    );
    c.close().unwrap();

    // Reopened: the value is on disk only, which this call does not touch.
    let c = cache(dir.path(), true);
    assert!(c.get_bytes_in_memory("k").is_none());
    assert_eq!(&*c.get_bytes("k").unwrap().unwrap(), b"v"); // promoted
    assert!(c.get_bytes_in_memory("k").is_some());
    let no_memory = {
        c.close().unwrap();
        cache(dir.path(), false)
    };
    assert!(no_memory.get_bytes_in_memory("k").is_none());
}
