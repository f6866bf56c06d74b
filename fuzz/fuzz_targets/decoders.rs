//! Raw bytes into every decoder (segment header, record, record scan, index records, lz4):
//! each must return, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stratacache::fuzzing::decoders(data);
});
