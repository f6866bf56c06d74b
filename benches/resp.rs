//! The server's request parser against the `redis-protocol` crate's zero-copy RESP2 decoder,
//! on the same pipelined buffers: 16 `GET key` requests, and 16 `SET key <4 KiB>` requests.
//! Both parse every request of the buffer to argument ranges; neither copies values.
//! (`redis-protocol` additionally accepts nested arrays and waits for any announced bulk
//! length; ours refuses both, see docs/server.md.)

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use stratacache::server::resp::request::{Limits, Parsed, parse};

fn pipeline(command: &[&[u8]], times: usize) -> Vec<u8> {
    let mut one = format!("*{}\r\n", command.len()).into_bytes();
    for arg in command {
        one.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        one.extend_from_slice(arg);
        one.extend_from_slice(b"\r\n");
    }
    one.repeat(times)
}

fn ours(buf: &[u8], limits: &Limits) -> usize {
    let (mut at, mut args) = (0, 0);
    while at < buf.len() {
        match parse(&buf[at..], limits) {
            Parsed::Request { args: a, len } => {
                args += a.len();
                at += len;
            }
            other => panic!("{other:?}"),
        }
    }
    args
}

fn theirs(buf: &[u8]) -> usize {
    use redis_protocol::resp2::decode::decode_range;
    use redis_protocol::resp2::types::RangeFrame;
    let (mut at, mut args) = (0, 0);
    while at < buf.len() {
        match decode_range(&buf[at..]) {
            Ok(Some((RangeFrame::Array(items), len))) => {
                args += items.len();
                at += len;
            }
            other => panic!("{other:?}"),
        }
    }
    args
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let value = vec![b'v'; 4096];
    for (name, buf) in [
        ("16 x GET", pipeline(&[b"GET", b"key:000000012345"], 16)),
        (
            "16 x SET 4KiB",
            pipeline(&[b"SET", b"key:000000012345", &value], 16),
        ),
    ] {
        let mut group = c.benchmark_group(format!("resp parse {name}"));
        group.throughput(Throughput::Elements(16));
        assert_eq!(ours(&buf, &limits), theirs(&buf));
        group.bench_function("stratacache", |b| b.iter(|| ours(black_box(&buf), &limits)));
        group.bench_function("redis-protocol", |b| b.iter(|| theirs(black_box(&buf))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
