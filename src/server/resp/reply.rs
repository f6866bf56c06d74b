//! Writing replies in RESP2 or RESP3 (after `HELLO 3`).

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2, the default.
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// Replies waiting to be sent to one client, encoded.
pub struct Replies {
    /// The encoded bytes.
    pub buf: Vec<u8>,
    /// The protocol to encode in.
    pub protocol: Protocol,
}

impl Replies {
    /// An empty reply buffer speaking RESP2.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(16 << 10),
            protocol: Protocol::Resp2,
        }
    }

    fn line(&mut self, prefix: u8, n: impl itoa_like::Decimal) {
        self.buf.push(prefix);
        n.write_to(&mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (no CR or LF in it).
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error; `text` starts with its code (`ERR`, `WRONGTYPE`, `NOAUTH`...). Line breaks
    /// are replaced by spaces (an error is one line).
    pub fn error(&mut self, text: &str) {
        self.buf.push(b'-');
        for &b in text.as_bytes() {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.line(b'$', bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The header of a bulk string of `len` bytes; the caller sends the bytes and then
    /// [`Replies::bulk_end`] (used for large values, written without a copy).
    pub fn bulk_header(&mut self, len: usize) {
        self.line(b'$', len as i64);
    }

    /// The CRLF after a bulk string's bytes.
    pub fn bulk_end(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The null reply: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// The header of an array of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// The header of a map of `n` pairs: `%n` in RESP3, an array of `2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', 2 * n as i64),
            Protocol::Resp3 => self.line(b'%', n as i64),
        }
    }

    /// The header of a set of `n` elements: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', n as i64),
            Protocol::Resp3 => self.line(b'~', n as i64),
        }
    }

    /// A bulk string of UTF-8 text.
    pub fn text(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl Default for Replies {
    fn default() -> Self {
        Self::new()
    }
}

/// Decimal formatting without an allocation.
mod itoa_like {
    pub trait Decimal {
        fn write_to(self, out: &mut Vec<u8>);
    }

    impl Decimal for i64 {
        fn write_to(self, out: &mut Vec<u8>) {
            let mut digits = [0u8; 20];
            let mut n = self.unsigned_abs();
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            if self < 0 {
                out.push(b'-');
            }
            out.extend_from_slice(&digits[i..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_differ_where_redis_does() {
        let mut r = Replies::new();
        r.null();
        r.map(1);
        r.int(-42);
        r.bulk(b"v");
        assert_eq!(r.buf, b"$-1\r\n*2\r\n:-42\r\n$1\r\nv\r\n");
        let mut r = Replies::new();
        r.protocol = Protocol::Resp3;
        r.null();
        r.map(1);
        r.error("ERR two\nlines");
        assert_eq!(r.buf, b"_\r\n%1\r\n-ERR two lines\r\n");
    }
}
