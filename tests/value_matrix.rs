//! One value format for every door: bytes, UTF-8 text and JSON written through each
//! interface (DiskStore, Cache, the CLI, the server's SET) read back byte-identical through
//! each other one (DiskStore, Cache, the CLI, the server's GET); a typed value is the same
//! bincode bytes through all of them and decodes as the value through `Cache`.

mod common;

use std::path::Path;

use common::serve::Served;
use redis::Commands;
use stratacache::{Cache, DiskStore};

#[derive(Clone, Copy, Debug)]
enum Door {
    Store,
    Cache,
    Cli,
    Server,
}

const DOORS: [Door; 4] = [Door::Store, Door::Cache, Door::Cli, Door::Server];

fn open_cache(dir: &Path) -> Cache {
    Cache::builder()
        .memory(1 << 20)
        .disk(DiskStore::builder(dir))
        .open()
        .expect("cache")
}

fn write(door: Door, dir: &Path, key: &str, value: &[u8]) {
    match door {
        Door::Store => {
            let store = DiskStore::builder(dir).open().expect("store");
            store.insert(key, value).expect("insert");
            store.close().expect("close");
        }
        Door::Cache => {
            let cache = open_cache(dir);
            cache.insert_bytes(key, value).expect("insert_bytes");
            cache.close().expect("close");
        }
        Door::Cli => common::cli::put(dir, key, value),
        Door::Server => {
            let mut served = Served::start(dir, &[]);
            let _: () = served.connection().set(key, value).expect("SET");
            // A clean stop (as an operator's SIGTERM) flushes what was acknowledged.
            let (status, _) = served.signal_and_wait(libc::SIGTERM);
            assert!(status.success());
        }
    }
}

fn read(door: Door, dir: &Path, key: &str) -> Option<Vec<u8>> {
    match door {
        Door::Store => {
            let store = DiskStore::builder(dir).open().expect("store");
            let value = store.get(key).expect("get").map(|v| v.to_vec());
            store.close().expect("close");
            value
        }
        Door::Cache => {
            let cache = open_cache(dir);
            let value = cache.get_bytes(key).expect("get_bytes").map(|v| v.to_vec());
            assert_eq!(cache.stats().errors, 0, "no value was taken for damage");
            cache.close().expect("close");
            value
        }
        Door::Cli => {
            let out = common::cli::sc(dir)
                .args(["get", key])
                .output()
                .expect("get");
            out.status.success().then_some(out.stdout)
        }
        Door::Server => {
            let mut served = Served::start(dir, &[]);
            let value = served.connection().get(key).expect("GET");
            served.signal_and_wait(libc::SIGTERM);
            value
        }
    }
}

#[test]
fn every_door_reads_what_every_door_wrote() {
    let values: [(&str, Vec<u8>); 4] = [
        ("bytes", common::rng::incompressible(11, 3000)),
        (
            "envelope-like bytes",
            [&[0xC7u8, 0, 0, 0][..], b"not an envelope"].concat(),
        ),
        (
            "utf-8",
            "Grüße aus der Texterkennung, Seite 7\n"
                .repeat(40)
                .into_bytes(),
        ),
        (
            "json",
            br#"{"id":7,"text":"OCR result","confidence":0.93,"pages":[1,2,3]}"#.to_vec(),
        ),
    ];
    for writer in DOORS {
        for reader in DOORS {
            let tmp = tempfile::tempdir().expect("tempdir");
            let dir = tmp.path().join("store");
            for (i, (_, value)) in values.iter().enumerate() {
                write(writer, &dir, &format!("k{i}"), value);
            }
            for (i, (what, value)) in values.iter().enumerate() {
                let got = read(reader, &dir, &format!("k{i}"));
                assert!(
                    got.as_deref() == Some(&value[..]),
                    "{what} written through {writer:?}, read through {reader:?}: got {:?}",
                    got.map(|g| g.len())
                );
            }
        }
    }
}

#[test]
fn a_typed_value_is_the_same_bytes_through_every_door() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let page = (7u32, "recognized text".to_string(), vec![0.5f32, 0.9]);
    {
        let cache = open_cache(&dir);
        cache.insert("typed", &page).expect("insert");
        cache.close().expect("close");
    }
    let encoded =
        bincode::serde::encode_to_vec(&page, bincode::config::standard()).expect("encode");
    for reader in DOORS {
        assert_eq!(
            read(reader, &dir, "typed").as_deref(),
            Some(&encoded[..]),
            "{reader:?}"
        );
    }
    let cache = open_cache(&dir);
    assert_eq!(
        cache.get::<(u32, String, Vec<f32>)>("typed").expect("get"),
        Some(page)
    );
    cache.close().expect("close");
}
