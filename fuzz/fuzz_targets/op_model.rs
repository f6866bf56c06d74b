//! Operation sequences (insert, TTL, get, remove, clock, sweep, compact, flush, reopen,
//! crash) against a model, checked after every operation.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ops = stratacache::fuzzing::ops_from_bytes(data);
    stratacache::fuzzing::op_sequence(&ops[..ops.len().min(200)]);
});
