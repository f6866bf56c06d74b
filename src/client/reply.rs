//! Replies as the client reads them (RESP2 and RESP3), parsed with limits: no allocation
//! is sized by a length the server announced before the bytes arrive, and nesting is
//! bounded.

use std::io::{BufRead, Read};

/// One reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text`
    Simple(String),
    /// `-CODE text`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` bytes (`None`: the null bulk `$-1`, or RESP3's `_`)
    Bulk(Option<Vec<u8>>),
    /// `*n` elements (`None`: the null array `*-1`); RESP3 maps and sets arrive as arrays
    /// (a map flattened to key, value, key, value...).
    Array(Option<Vec<Reply>>),
    /// RESP3 `,` double, `#` boolean and other scalars, as their text.
    Other(String),
}

/// Deepest nesting of arrays accepted.
const MAX_DEPTH: usize = 32;
/// Longest bulk string accepted (the server's values are below 4 GiB).
const MAX_BULK: u64 = 4 << 30;
/// Most elements of one array.
const MAX_ELEMENTS: u64 = 1 << 26;

/// Why a reply could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed or closed.
    Io(std::io::Error),
    /// The bytes are not a reply.
    Protocol(String),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn line(input: &mut impl BufRead) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    // A header line is short; a longer one is not a reply.
    let n = input.take(64 << 10).read_until(b'\n', &mut bytes)?;
    if n == 0 {
        return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    if !bytes.ends_with(b"\r\n") {
        return Err(ReadError::Protocol(
            "a reply line does not end in CRLF".into(),
        ));
    }
    bytes.truncate(bytes.len() - 2);
    String::from_utf8(bytes).map_err(|_| ReadError::Protocol("a reply line is not UTF-8".into()))
}

fn number(text: &str) -> Result<i64, ReadError> {
    text.parse()
        .map_err(|_| ReadError::Protocol(format!("{text:?} is not a length")))
}

/// Reads one reply.
pub fn read_reply(input: &mut impl BufRead) -> Result<Reply, ReadError> {
    read_nested(input, 0)
}

fn read_nested(input: &mut impl BufRead, depth: usize) -> Result<Reply, ReadError> {
    if depth > MAX_DEPTH {
        return Err(ReadError::Protocol("replies nested too deep".into()));
    }
    let head = line(input)?;
    let (kind, rest) = head
        .split_at_checked(1)
        .ok_or_else(|| ReadError::Protocol("an empty reply line".into()))?;
    Ok(match kind {
        "+" => Reply::Simple(rest.to_string()),
        "-" => Reply::Error(rest.to_string()),
        ":" => Reply::Int(number(rest)?),
        "_" => Reply::Bulk(None),
        "," | "#" | "(" => Reply::Other(rest.to_string()),
        "$" | "=" | "!" => {
            let len = number(rest)?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            if len as u64 > MAX_BULK {
                return Err(ReadError::Protocol(format!("a bulk reply of {len} bytes")));
            }
            let mut bytes = Vec::new();
            // Grows as bytes arrive, not by the announced length.
            let read = input.take(len as u64 + 2).read_to_end(&mut bytes)?;
            if read as i64 != len + 2 || !bytes.ends_with(b"\r\n") {
                return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            bytes.truncate(len as usize);
            if kind == "!" {
                return Ok(Reply::Error(String::from_utf8_lossy(&bytes).into_owned()));
            }
            Reply::Bulk(Some(bytes))
        }
        "*" | "~" | "%" | ">" => {
            let n = number(rest)?;
            if n < 0 {
                return Ok(Reply::Array(None));
            }
            let n = if kind == "%" { n as u64 * 2 } else { n as u64 };
            if n > MAX_ELEMENTS {
                return Err(ReadError::Protocol(format!("an array of {n} elements")));
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            for _ in 0..n {
                items.push(read_nested(input, depth + 1)?);
            }
            Reply::Array(Some(items))
        }
        other => return Err(ReadError::Protocol(format!("unknown reply type {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Reply, ReadError> {
        read_reply(&mut std::io::BufReader::new(bytes))
    }

    #[test]
    fn replies_parse() {
        assert_eq!(parse(b"+OK\r\n").unwrap(), Reply::Simple("OK".into()));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(
            parse(b"*2\r\n$1\r\na\r\n:5\r\n").unwrap(),
            Reply::Array(Some(vec![Reply::Bulk(Some(b"a".to_vec())), Reply::Int(5)]))
        );
        assert!(matches!(
            parse(b"$100000000000\r\n"),
            Err(ReadError::Protocol(_))
        ));
        assert!(matches!(parse(b"$5\r\nab"), Err(ReadError::Io(_))));
        let bomb = b"*1\r\n".repeat(100);
        assert!(matches!(parse(&bomb), Err(ReadError::Protocol(_))));
    }
}
