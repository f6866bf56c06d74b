//! Parsing client requests: RESP arrays of bulk strings, or inline commands.
//!
//! The parser works on the bytes a connection has received so far and never allocates by a
//! length the client announced: a bulk string of 10^15 bytes is refused as soon as its
//! length is read (over [`Limits::max_bulk`]), and a legal one is only sliced out of the
//! buffer once all of its bytes are there. Arguments borrow the buffer (no copy).

use std::ops::Range;

/// What one request may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest bulk string (a key or a value) in bytes.
    pub max_bulk: usize,
    /// Most arguments in one request.
    pub max_args: usize,
    /// Longest inline command (a line without the RESP array framing).
    pub max_inline: usize,
    /// Most bytes of one request, all arguments together.
    pub max_query: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bulk: 512 << 20,
            max_args: 1 << 20,
            max_inline: 64 << 10,
            max_query: 1 << 30,
        }
    }
}

/// The result of looking at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request: its arguments (ranges into the buffer) and the bytes it took.
    Request { args: Vec<Range<usize>>, len: usize },
    /// An empty inline line (ignored, as Redis does), and its length.
    Blank(usize),
    /// More bytes are needed; at least this many in total before trying again.
    Incomplete { need: usize },
    /// The bytes are not a request. The text is Redis's error message; the connection is
    /// closed after the reply, as Redis does.
    Invalid(String),
}

/// Parses the request at the start of `buf`.
pub fn parse(buf: &[u8], limits: &Limits) -> Parsed {
    match buf.first() {
        None => Parsed::Incomplete { need: 1 },
        Some(b'*') => parse_array(buf, limits),
        Some(_) => parse_inline(buf, limits),
    }
}

/// Finds the CRLF-terminated line starting at `from`; returns the line's end (before CR).
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let nl = memchr(b'\n', &buf[from..])? + from;
    Some(if nl > from && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    })
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// A decimal length as RESP writes it (an optional minus, digits), else `None`.
fn parse_len(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if negative { -n } else { n })
}

/// The longest header line (`*<n>` or `$<n>`) a client may send before its CRLF.
const MAX_HEADER_LINE: usize = 32;

/// Reads a `<prefix><len>\r\n` line at `at`. `Ok(None)`: incomplete.
fn header(buf: &[u8], at: usize, what: &str) -> Result<Option<(i64, usize)>, String> {
    let window = &buf[..buf.len().min(at + MAX_HEADER_LINE + 2)];
    let Some(end) = line_end(window, at) else {
        if buf.len() - at > MAX_HEADER_LINE {
            return Err(format!("Protocol error: invalid {what} length"));
        }
        return Ok(None);
    };
    if buf.get(end) != Some(&b'\r') {
        return Err(format!("Protocol error: invalid {what} length"));
    }
    let n = parse_len(&buf[at + 1..end])
        .ok_or_else(|| format!("Protocol error: invalid {what} length"))?;
    Ok(Some((n, end + 2)))
}

fn parse_array(buf: &[u8], limits: &Limits) -> Parsed {
    let (count, mut at) = match header(buf, 0, "multibulk") {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Parsed::Incomplete {
                need: buf.len() + 1,
            };
        }
        Err(e) => return Parsed::Invalid(e),
    };
    if count <= 0 {
        // `*0` and `*-1` are empty requests; Redis skips them.
        return Parsed::Blank(at);
    }
    if count as u64 > limits.max_args as u64 {
        return Parsed::Invalid("Protocol error: invalid multibulk length".into());
    }
    // Grows with the arguments that arrived, not with the count the client announced.
    let mut args = Vec::with_capacity((count as usize).min(16));
    for _ in 0..count {
        match buf.get(at) {
            None => return Parsed::Incomplete { need: at + 1 },
            Some(b'$') => {}
            Some(&other) => {
                return Parsed::Invalid(format!(
                    "Protocol error: expected '$', got '{}'",
                    other as char
                ));
            }
        }
        let (len, start) = match header(buf, at, "bulk") {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Parsed::Incomplete {
                    need: buf.len() + 1,
                };
            }
            Err(e) => return Parsed::Invalid(e),
        };
        if len < 0 || len as u64 > limits.max_bulk as u64 {
            return Parsed::Invalid("Protocol error: invalid bulk length".into());
        }
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Parsed::Incomplete { need: end + 2 };
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Parsed::Invalid("Protocol error: bulk string not followed by CRLF".into());
        }
        args.push(start..end);
        at = end + 2;
    }
    Parsed::Request { args, len: at }
}

fn parse_inline(buf: &[u8], limits: &Limits) -> Parsed {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > limits.max_inline {
            return Parsed::Invalid("Protocol error: too big inline request".into());
        }
        return Parsed::Incomplete {
            need: buf.len() + 1,
        };
    };
    if nl > limits.max_inline {
        return Parsed::Invalid("Protocol error: too big inline request".into());
    }
    let line_len = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = match split_inline(&buf[..line_len]) {
        Ok(args) => args,
        Err(e) => return Parsed::Invalid(e),
    };
    if args.len() > limits.max_args {
        return Parsed::Invalid("Protocol error: too many arguments in an inline request".into());
    }
    if args.is_empty() {
        return Parsed::Blank(nl + 1);
    }
    Parsed::Request { args, len: nl + 1 }
}

/// Splits an inline line on spaces. Quoting (as `redis-cli` types it) is not unescaped:
/// arguments are taken literally, without their surrounding double quotes when both are
/// there.
fn split_inline(line: &[u8]) -> Result<Vec<Range<usize>>, String> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        if line[i] == b'"' {
            let close = memchr(b'"', &line[i + 1..])
                .ok_or("Protocol error: unbalanced quotes in request")?;
            args.push(i + 1..i + 1 + close);
            i += close + 2;
            if i < line.len() && !line[i].is_ascii_whitespace() {
                return Err("Protocol error: unbalanced quotes in request".into());
            }
        } else {
            let start = i;
            while i < line.len() && !line[i].is_ascii_whitespace() {
                i += 1;
            }
            args.push(start..i);
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(buf: &[u8]) -> Vec<Vec<u8>> {
        match parse(buf, &Limits::default()) {
            Parsed::Request { args, len } => {
                assert_eq!(len, buf.len());
                args.into_iter().map(|r| buf[r].to_vec()).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arrays_and_inline_commands_parse() {
        assert_eq!(
            words(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            vec![b"GET".to_vec(), b"k".to_vec()]
        );
        assert_eq!(words(b"PING\r\n"), vec![b"PING".to_vec()]);
        assert_eq!(
            words(b"set \"a b\" c\n"),
            vec![b"set".to_vec(), b"a b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(words(b"*1\r\n$0\r\n\r\n"), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn every_prefix_of_a_request_is_incomplete() {
        let req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        for cut in 0..req.len() {
            assert!(
                matches!(
                    parse(&req[..cut], &Limits::default()),
                    Parsed::Incomplete { .. }
                ),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn hostile_lengths_are_refused_before_any_allocation() {
        let limits = Limits::default();
        let huge = parse(b"*1\r\n$1000000000000000\r\n", &limits);
        assert_eq!(
            huge,
            Parsed::Invalid("Protocol error: invalid bulk length".into())
        );
        let many = parse(b"*99999999999\r\n", &limits);
        assert_eq!(
            many,
            Parsed::Invalid("Protocol error: invalid multibulk length".into())
        );
        let nested = parse(b"*1\r\n*1\r\n*1\r\n", &limits);
        assert_eq!(
            nested,
            Parsed::Invalid("Protocol error: expected '$', got '*'".into())
        );
        let long_inline = vec![b'a'; limits.max_inline + 1];
        assert_eq!(
            parse(&long_inline, &limits),
            Parsed::Invalid("Protocol error: too big inline request".into())
        );
        assert!(matches!(parse(b"*x\r\n", &limits), Parsed::Invalid(_)));
        assert!(matches!(
            parse(b"*1\r\n$3\r\nabcd\r\n", &limits),
            Parsed::Invalid(_)
        ));
    }
}
