//! Fuzz bodies of the server: raw bytes into the request parser, the client's reply parser
//! and the glob matcher; and parsed requests into the command layer of a live cache.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::resp::reply::{Protocol, Replies};
use super::resp::request::{Limits, Parsed, parse};
use super::session::Session;
use super::shared::Shared;
use super::{ServerConfig, command, glob};

/// Small limits, so that the fuzzer reaches them.
fn limits() -> Limits {
    Limits {
        max_bulk: 4096,
        max_args: 64,
        max_inline: 1024,
        max_query: 1 << 20,
    }
}

/// Every parser of the protocol: must return, never panic, and agree with itself.
pub fn protocol_parsers(data: &[u8]) {
    let limits = limits();
    match parse(data, &limits) {
        Parsed::Request { args, len } => {
            assert!(len <= data.len() && !args.is_empty());
            assert!(args.iter().all(|r| r.end <= len && r.start <= r.end));
            assert!(args.len() <= limits.max_args);
            // The request alone parses the same.
            assert_eq!(parse(&data[..len], &limits), Parsed::Request { args, len });
        }
        Parsed::Blank(len) => assert!(len <= data.len()),
        Parsed::Incomplete { need } => assert!(need > data.len()),
        Parsed::Invalid(message) => assert!(message.starts_with("Protocol error")),
    }
    let _ = crate::client::read_reply(&mut std::io::BufReader::new(data));
    if let Some(split) = data.iter().position(|&b| b == 0) {
        let (pattern, text) = (&data[..split], &data[split + 1..]);
        let matched = glob::matches(pattern, text);
        let prefix = glob::literal_prefix(pattern);
        if matched {
            assert!(
                text.starts_with(prefix),
                "a match starts with the literal prefix"
            );
        }
    }
}

/// A cache and server state shared by every run of the process.
fn shared() -> &'static Arc<Shared> {
    static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("stratacache-fuzz-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = crate::Cache::builder()
            .memory(1 << 20)
            .disk(
                crate::DiskStore::builder(&dir)
                    .capacity_bytes(8 << 20)
                    .max_value_size(4096)
                    .checkpoint_interval(None)
                    .sweep_interval(None)
                    .background_maintenance(false),
            )
            .open()
            .expect("open the fuzz cache");
        let shared = Shared::new(cache, ServerConfig::default(), dir, limits(), 1 << 20);
        // BGSAVE answers "already in progress" instead of starting threads.
        shared
            .bgsave_running
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Arc::new(shared)
    })
}

/// Runs every request in `data` through the command layer of one connection: whatever the
/// bytes, each request gets a well-formed reply and nothing panics.
pub fn requests(data: &[u8]) {
    let shared = shared();
    let slot = shared
        .clients
        .admit(1, "fuzz".into(), "fuzz".into(), usize::MAX)
        .expect("admitted");
    let mut session = Session::new(1, true, slot);
    let mut out = Replies::new();
    let mut rest = data;
    while !rest.is_empty() {
        match parse(rest, &shared.limits) {
            Parsed::Request { args, len } => {
                let argv: Vec<&[u8]> = args.iter().map(|r| &rest[r.clone()]).collect();
                let before = out.len();
                command::execute(shared, &mut session, &mut out, &argv);
                assert!(
                    out.len() > before || session.close != super::session::Close::No,
                    "a reply for every request"
                );
                let reply = &out.buf[before..];
                assert!(
                    matches!(
                        reply.first(),
                        Some(b'+' | b'-' | b':' | b'$' | b'*' | b'%' | b'~' | b'_')
                    ) || reply.is_empty()
                );
                rest = &rest[len..];
                if session.close != super::session::Close::No {
                    break;
                }
            }
            Parsed::Blank(len) => rest = &rest[len..],
            Parsed::Incomplete { .. } | Parsed::Invalid(_) => break,
        }
        if out.len() > 1 << 20 {
            out.buf.clear();
        }
    }
    // The replies parse as RESP (RESP3 when the requests switched to it).
    if out.protocol == Protocol::Resp2 {
        let mut reader = std::io::BufReader::new(out.buf.as_slice());
        while !reader.buffer().is_empty()
            || std::io::BufRead::fill_buf(&mut reader).is_ok_and(|b| !b.is_empty())
        {
            if crate::client::read_reply(&mut reader).is_err() {
                panic!("the server wrote a reply its own client cannot read");
            }
        }
    }
    shared.clients.remove(1);
    shared.cache.disk_store().map(|s| s.flush());
}
