//! Raw bytes as a client's requests to the server's command layer (over a live cache):
//! every request gets a reply, every reply parses, nothing panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stratacache::fuzzing::server_requests(data);
});
