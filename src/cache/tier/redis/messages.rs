//! Invalidation messages between caches sharing a Redis key prefix.
//!
//! | bytes | field                                                   |
//! |-------|---------------------------------------------------------|
//! | 8     | sender instance id, LE (a cache skips its own messages) |
//! | 1     | kind: `k` key, `p` key prefix, `t` tag, `g` gap         |
//! | 8     | tag generation, LE (kind `t` only)                      |
//! | rest  | the key, prefix or tag name                             |

/// What another cache changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A key was overwritten or removed.
    Key(Vec<u8>),
    /// Keys with this prefix were removed.
    Prefix(Vec<u8>),
    /// A tag moved to a generation.
    Tag(String, u64),
    /// The subscription was interrupted: messages may have been missed (sent by the
    /// subscriber to its own cache, not over the wire).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Gap,
}

/// Encodes a message from `sender`.
pub fn encode(sender: u64, change: &Remote) -> Vec<u8> {
    let mut out = sender.to_le_bytes().to_vec();
    match change {
        Remote::Key(k) => {
            out.push(b'k');
            out.extend_from_slice(k);
        }
        Remote::Prefix(p) => {
            out.push(b'p');
            out.extend_from_slice(p);
        }
        Remote::Tag(tag, generation) => {
            out.push(b't');
            out.extend_from_slice(&generation.to_le_bytes());
            out.extend_from_slice(tag.as_bytes());
        }
        Remote::Gap => out.push(b'g'),
    }
    out
}

/// Decodes a message: its sender and change, or why it is not one of ours.
pub fn decode(bytes: &[u8]) -> Result<(u64, Remote), String> {
    let (sender, rest) = bytes
        .split_at_checked(8)
        .ok_or("message shorter than its sender id")?;
    let sender = u64::from_le_bytes(sender.try_into().expect("8 bytes"));
    let (&kind, body) = rest.split_first().ok_or("message without a kind")?;
    let change = match kind {
        b'k' => Remote::Key(body.to_vec()),
        b'p' => Remote::Prefix(body.to_vec()),
        b't' => {
            let (generation, name) = body
                .split_at_checked(8)
                .ok_or("tag message shorter than its generation")?;
            let generation = u64::from_le_bytes(generation.try_into().expect("8 bytes"));
            let name = std::str::from_utf8(name).map_err(|_| "tag name is not UTF-8")?;
            Remote::Tag(name.to_string(), generation)
        }
        // A gap is only ever reported by a cache's own subscriber; one arriving over the
        // wire is not a message of ours (it would clear the memory tier).
        b'g' => return Err("a gap is never sent over the wire".into()),
        other => return Err(format!("unknown message kind {other:#04x}")),
    };
    Ok((sender, change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        for change in [
            Remote::Key(b"doc/1".to_vec()),
            Remote::Prefix(b"doc/".to_vec()),
            Remote::Tag("user:7".into(), 1_700_000_000_123),
        ] {
            assert_eq!(decode(&encode(42, &change)).unwrap(), (42, change));
        }
        assert!(decode(b"short").is_err());
        assert!(decode(&[0, 0, 0, 0, 0, 0, 0, 0, b'x']).is_err());
        assert!(decode(&[0, 0, 0, 0, 0, 0, 0, 0, b't', 1]).is_err());
        assert!(decode(&encode(42, &Remote::Gap)).is_err());
    }
}
