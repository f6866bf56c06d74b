//! Fuzz bodies, shared by `fuzz/` targets and the proptest suites in `cargo test`.

use crate::index::{EntryLoc, SegmentMeta};
use crate::segment::format::{decode_record, decode_segment_header};

/// Feeds raw bytes to every decoder: each must return (`Ok` or `Err`), never panic.
pub fn decoders(data: &[u8]) {
    let _ = decode_segment_header(data);
    if let Ok(view) = decode_record(data) {
        assert!(view.key.len() + view.stored.len() <= data.len());
        if view.header.codec == crate::Codec::Lz4 {
            let _ =
                crate::codec::decompress(view.stored, (view.header.raw_len as usize).min(1 << 24));
        }
    }
    let loc = EntryLoc::decode(data);
    if data.len() >= 32 {
        assert_eq!(&loc.encode()[..], &data[..32]);
    }
    let _ = SegmentMeta::decode(data);
}
