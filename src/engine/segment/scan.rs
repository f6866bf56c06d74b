//! Sequential scan of the records in a segment, for eviction, compaction and scrubbing.

use super::format::{RecordView, SEGMENT_HEADER_LEN, decode_record, may_start_record};

/// Iterates the records of a segment's bytes, yielding `(offset, record)` for each record
/// whose CRC checks out. After a damaged stretch it resynchronises on the next byte where a
/// record header may start (its CRC decides), so one bad record does not hide the rest of
/// the segment.
pub struct RecordScan<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> RecordScan<'a> {
    /// Scans `bytes`, the whole readable content of a segment (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: SEGMENT_HEADER_LEN,
        }
    }

    fn resync(&mut self) {
        let from = self.pos + 1;
        self.pos = (from..self.bytes.len())
            .find(|&at| may_start_record(&self.bytes[at..]))
            .unwrap_or(self.bytes.len());
    }
}

impl<'a> Iterator for RecordScan<'a> {
    type Item = (u32, RecordView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.bytes.len() {
            match decode_record(&self.bytes[self.pos..]) {
                Ok(view) => {
                    let offset = self.pos as u32;
                    self.pos += view.header.record_len();
                    return Some((offset, view));
                }
                Err(_) => self.resync(),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;
    use crate::engine::segment::format::{RecordParts, encode_record, encode_segment_header};

    #[test]
    fn skips_a_damaged_record_and_finds_the_next() {
        let mut seg = encode_segment_header(1).to_vec();
        for key in ["a", "b", "c"] {
            let parts = RecordParts {
                key: key.as_bytes(),
                meta: b"",
                stored: b"value",
                codec: Codec::Raw,
                raw_len: 5,
                expires_at: 0,
                seq: 1,
            };
            encode_record(&mut seg, &parts);
        }
        let record_len = (seg.len() - SEGMENT_HEADER_LEN) / 3;
        seg[SEGMENT_HEADER_LEN + 2 * record_len - 1] ^= 0xff; // damage b's value
        let keys: Vec<_> = RecordScan::new(&seg).map(|(_, r)| r.key.to_vec()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
    }
}
