//! The fuzz bodies of `fuzz/` under proptest, so `cargo test` exercises them without
//! cargo-fuzz: decoders on random and mutated bytes must never panic, and random operation
//! sequences (with reopen and simulated crash) must match the model. Inputs saved in
//! `fuzz/regressions/<target>/` (crashes found by cargo-fuzz) are replayed too.

use proptest::prelude::*;
use stratacache::fuzzing::format::{
    RecordParts, encode_record, encode_segment_header, encode_wide_record,
};
use stratacache::fuzzing::{decoders, op_sequence, ops_from_bytes, server_requests};

fn valid_segment() -> Vec<u8> {
    let mut seg = encode_segment_header(7).to_vec();
    let plain = RecordParts {
        key: b"key",
        meta: b"",
        stored: b"value",
        codec: stratacache::Codec::Raw,
        raw_len: 5,
        expires_at: 0,
        seq: 1,
    };
    encode_record(&mut seg, &plain);
    let packed = [9u8, 0x50, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67];
    let compressed = RecordParts {
        key: b"lz",
        meta: b"\xc7\x00\x00\x00",
        stored: &packed,
        codec: stratacache::Codec::Lz4,
        raw_len: 9,
        expires_at: 99,
        seq: 2,
    };
    encode_record(&mut seg, &compressed);
    // A record as format 2 wrote it: stores keep those.
    encode_wide_record(
        &mut seg,
        &RecordParts {
            key: b"old",
            ..plain
        },
        false,
    );
    seg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        decoders(&data);
    }

    #[test]
    fn decoders_never_panic_on_mutated_records(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut seg = valid_segment();
        for (at, byte) in flips {
            let i = at % seg.len();
            seg[i] ^= byte | 1;
        }
        seg.truncate(cut % (seg.len() + 1));
        decoders(&seg);
        decoders(&seg[seg.len().min(32)..]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn op_sequences_match_the_model(data in proptest::collection::vec(any::<u8>(), 0..240)) {
        op_sequence(&ops_from_bytes(&data));
    }
}

/// Command names the structured requests pick from (valid ones, and a few that are not).
const COMMANDS: &[&str] = &[
    "GET",
    "SET",
    "SETEX",
    "PSETEX",
    "SETNX",
    "GETDEL",
    "GETEX",
    "MGET",
    "MSET",
    "STRLEN",
    "DEL",
    "EXISTS",
    "TYPE",
    "SCAN",
    "KEYS",
    "DBSIZE",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "TTL",
    "PTTL",
    "PERSIST",
    "PING",
    "ECHO",
    "HELLO",
    "AUTH",
    "SELECT",
    "CLIENT",
    "COMMAND",
    "INFO",
    "CONFIG",
    "MULTI",
    "EXEC",
    "DISCARD",
    "SC.SET",
    "SC.LIST",
    "SC.DELPREFIX",
    "SC.INVALIDATE",
    "LPUSH",
    "FLUSHDB",
    "EXPIRETIME",
    "RESET",
];

/// Arguments the structured requests use: keys, numbers, option words.
const WORDS: &[&str] = &[
    "k",
    "key:1",
    "0",
    "1",
    "-1",
    "100",
    "9223372036854775807",
    "EX",
    "PX",
    "NX",
    "XX",
    "GET",
    "KEEPTTL",
    "PERSIST",
    "MATCH",
    "k*",
    "COUNT",
    "TYPE",
    "string",
    "3",
    "2",
    "SETNAME",
    "LIST",
    "TAG",
    "t",
    "PREFIX",
    "",
    "GT",
    "LT",
    "EXAT",
    "1700000000",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn server_requests_always_get_replies(
        requests in proptest::collection::vec(
            (0..COMMANDS.len(), proptest::collection::vec(0..WORDS.len(), 0..5)),
            1..20,
        )
    ) {
        let mut bytes = Vec::new();
        for (command, args) in requests {
            let words: Vec<&str> = std::iter::once(COMMANDS[command])
                .chain(args.iter().map(|&a| WORDS[a]))
                .collect();
            bytes.extend_from_slice(format!("*{}\r\n", words.len()).as_bytes());
            for w in words {
                bytes.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
            }
        }
        server_requests(&bytes);
    }

    #[test]
    fn server_requests_survive_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        server_requests(&data);
    }
}

#[test]
fn saved_fuzz_inputs_replay() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    for (target, run) in [
        ("decoders", decoders as fn(&[u8])),
        ("op_model", |d: &[u8]| op_sequence(&ops_from_bytes(d))),
        ("server_requests", server_requests),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            println!("replaying {}", path.display());
            run(&std::fs::read(&path)?);
        }
    }
    Ok(())
}
