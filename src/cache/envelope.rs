//! The envelope the tiered cache wraps around every value it puts in a tier.
//!
//! It carries what the tiers themselves do not keep: the TTL the value was written with (so
//! refresh-ahead knows what fraction of it is left) and the tags with the generation each had
//! at write time (so `invalidate_tag` can retire values without finding them).
//!
//! | bytes          | field                                              |
//! |----------------|----------------------------------------------------|
//! | 1              | magic `0xC7` (envelope format 1)                   |
//! | 1              | flags: bit 0 = a TTL follows; bits 1-3 = payload:  |
//! |                | 0 bytes, 1 bincode, 2 JSON, 3 MessagePack, 4 UTF-8 |
//! |                | text, 5 Python pickle                              |
//! | 8              | TTL in ms, little endian (only with flag bit 0)    |
//! | 2              | number of tags, little endian                      |
//! | per tag: 2 + n + 8 | name length, UTF-8 name, generation (LE)       |
//! | rest           | payload (bincode for typed values, raw otherwise)  |

/// First byte of every envelope.
pub const MAGIC: u8 = 0xC7;
/// Flag bit: the TTL field is present.
const FLAG_TTL: u8 = 1;
/// Flag bits: what the payload is ([`PayloadKind`]).
const KIND_SHIFT: u8 = 1;
const KIND_MASK: u8 = 7 << KIND_SHIFT;

use crate::cache::value_codec::PayloadKind;
pub use crate::limits::{MAX_TAG_LEN, MAX_TAGS};

/// A tag name with the generation it had when the value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagStamp<'a> {
    /// Tag name.
    pub name: &'a str,
    /// Generation of the tag at write time.
    pub generation: u64,
}

/// A decoded envelope borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeView<'a> {
    /// TTL the value was written with, in ms.
    pub ttl_ms: Option<u64>,
    /// What the payload is.
    pub kind: PayloadKind,
    tag_count: u16,
    tag_bytes: &'a [u8],
    /// Offset of the payload in the envelope.
    pub payload_start: usize,
}

impl<'a> EnvelopeView<'a> {
    /// True when the value carries no tags.
    pub fn is_untagged(&self) -> bool {
        self.tag_count == 0
    }

    /// True when the header says nothing: no TTL, no tags, plain bytes (such a header is
    /// not stored on disk).
    pub fn is_trivial(&self) -> bool {
        self.is_untagged() && self.ttl_ms.is_none() && self.kind == PayloadKind::Bytes
    }

    /// The tags, in the order they were written. Their layout was checked by [`decode`].
    pub fn tags(&self) -> impl Iterator<Item = TagStamp<'a>> + 'a {
        let mut rest = self.tag_bytes;
        (0..self.tag_count).map_while(move |_| {
            let (stamp, tail) = read_tag(rest).ok()?;
            rest = tail;
            Some(stamp)
        })
    }
}

/// Writes the envelope header for `ttl_ms`, `tags` and a payload of `kind` into `out`; the
/// payload goes after it.
pub fn write_header(
    out: &mut Vec<u8>,
    ttl_ms: Option<u64>,
    tags: &[(&str, u64)],
    kind: PayloadKind,
) {
    out.push(MAGIC);
    let ttl_bit = if ttl_ms.is_some() { FLAG_TTL } else { 0 };
    out.push(ttl_bit | (kind.bits() << KIND_SHIFT));
    if let Some(ttl) = ttl_ms {
        out.extend_from_slice(&ttl.to_le_bytes());
    }
    out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for (name, generation) in tags {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&generation.to_le_bytes());
    }
}

/// Bytes [`write_header`] will write.
pub fn header_len(ttl_ms: Option<u64>, tags: &[(&str, u64)]) -> usize {
    let ttl = if ttl_ms.is_some() { 8 } else { 0 };
    4 + ttl + tags.iter().map(|(n, _)| 10 + n.len()).sum::<usize>()
}

/// Decodes and checks an envelope. A value written by something else (or damaged) gives an
/// error naming what is wrong; the cache treats it as a miss.
pub fn decode(bytes: &[u8]) -> Result<EnvelopeView<'_>, String> {
    let (&magic, rest) = bytes.split_first().ok_or("empty value, no envelope")?;
    if magic != MAGIC {
        return Err(format!(
            "first byte {magic:#04x} is not the envelope magic {MAGIC:#04x}"
        ));
    }
    let (&flags, mut rest) = rest.split_first().ok_or("envelope ends after its magic")?;
    if flags & !(FLAG_TTL | KIND_MASK) != 0 {
        return Err(format!("unknown envelope flags {flags:#04x}"));
    }
    let kind = PayloadKind::from_bits((flags & KIND_MASK) >> KIND_SHIFT)
        .ok_or_else(|| format!("unknown payload kind in envelope flags {flags:#04x}"))?;
    let mut ttl_ms = None;
    if flags & FLAG_TTL != 0 {
        let (ttl, tail) = take::<8>(rest).ok_or("envelope ends inside its TTL")?;
        ttl_ms = Some(u64::from_le_bytes(ttl));
        rest = tail;
    }
    let (count, tail) = take::<2>(rest).ok_or("envelope ends inside its tag count")?;
    let tag_count = u16::from_le_bytes(count);
    if tag_count as usize > MAX_TAGS {
        return Err(format!("{tag_count} tags is over the limit of {MAX_TAGS}"));
    }
    let tag_bytes = tail;
    let mut after = tail;
    for i in 0..tag_count {
        after = read_tag(after).map_err(|e| format!("tag {i}: {e}"))?.1;
    }
    let tag_bytes = &tag_bytes[..tag_bytes.len() - after.len()];
    let payload_start = bytes.len() - after.len();
    Ok(EnvelopeView {
        ttl_ms,
        kind,
        tag_count,
        tag_bytes,
        payload_start,
    })
}

/// Decodes a header kept apart from its payload (empty for a plain value); the view's
/// `payload_start` is 0, the start of the separate payload.
pub fn decode_header(header: &[u8]) -> Result<EnvelopeView<'_>, String> {
    if header.is_empty() {
        return Ok(EnvelopeView {
            ttl_ms: None,
            kind: PayloadKind::Bytes,
            tag_count: 0,
            tag_bytes: &[],
            payload_start: 0,
        });
    }
    let view = decode(header)?;
    if view.payload_start != header.len() {
        return Err(format!(
            "{} bytes after the envelope header kept beside the value",
            header.len() - view.payload_start
        ));
    }
    Ok(EnvelopeView {
        payload_start: 0,
        ..view
    })
}

fn take<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, tail) = bytes.split_at_checked(N)?;
    Some((head.try_into().ok()?, tail))
}

fn read_tag(bytes: &[u8]) -> Result<(TagStamp<'_>, &[u8]), String> {
    let (len, rest) = take::<2>(bytes).ok_or("ends inside the name length")?;
    let len = u16::from_le_bytes(len) as usize;
    if len > MAX_TAG_LEN {
        return Err(format!("name of {len} bytes is over {MAX_TAG_LEN}"));
    }
    let (name, rest) = rest.split_at_checked(len).ok_or("ends inside the name")?;
    let name = std::str::from_utf8(name).map_err(|_| "name is not UTF-8".to_string())?;
    let (generation, rest) = take::<8>(rest).ok_or("ends inside the generation")?;
    let generation = u64::from_le_bytes(generation);
    Ok((TagStamp { name, generation }, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(ttl: Option<u64>, tags: &[(&str, u64)], payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, ttl, tags, PayloadKind::Bytes);
        assert_eq!(out.len(), header_len(ttl, tags));
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn round_trips() {
        let bytes = envelope(Some(90_000), &[("doc:7", 3), ("lang:de", 0)], b"payload");
        let view = decode(&bytes).unwrap();
        assert_eq!(view.ttl_ms, Some(90_000));
        assert_eq!(&bytes[view.payload_start..], b"payload");
        let tags: Vec<_> = view.tags().map(|t| (t.name, t.generation)).collect();
        assert_eq!(tags, vec![("doc:7", 3), ("lang:de", 0)]);
        let plain = envelope(None, &[], b"");
        let view = decode(&plain).unwrap();
        assert!(view.is_untagged() && view.ttl_ms.is_none() && view.payload_start == plain.len());
    }

    #[test]
    fn every_payload_kind_round_trips_and_unknown_kinds_are_refused() {
        for bits in 0..6 {
            let kind = PayloadKind::from_bits(bits).unwrap();
            let mut out = Vec::new();
            write_header(&mut out, None, &[], kind);
            assert_eq!(decode(&out).unwrap().kind, kind);
        }
        for bits in 6..8u8 {
            let header = [MAGIC, bits << KIND_SHIFT, 0, 0];
            let error = decode(&header).unwrap_err();
            assert!(error.contains("unknown payload kind"), "{error}");
        }
    }

    #[test]
    fn rejects_every_truncation_and_foreign_bytes() {
        let bytes = envelope(Some(5), &[("t", 1)], b"");
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(b"plain value").unwrap_err().contains("magic"));
        assert!(decode(&[MAGIC, 0x80, 0, 0]).unwrap_err().contains("flags"));
    }
}
