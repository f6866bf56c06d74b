//! [`Client`]: the library's way into a store that a running `stratacache serve` holds, over
//! its unix socket `DIR/stratacache.sock` (the CLI uses it when the store is busy; the
//! Python package too).

mod reply;

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use reply::{ReadError, Reply, read_reply};

use crate::cache::{CacheStats, PayloadKind};
use crate::engine::{CompactReport, EntryInfo, Stats, VerifyReport};

/// The name of a server's unix socket in its store directory.
pub const SOCKET_NAME: &str = "stratacache.sock";

/// The unix socket of the server of the store in `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_NAME)
}
use crate::error::{Error, Result};

/// A value from the server with what its bytes are.
pub type KindedValue = (Vec<u8>, PayloadKind);

/// A connection to a running server.
pub struct Client {
    socket: PathBuf,
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
}

/// One page of [`Client::list_page`].
#[derive(Debug, Clone, Default)]
pub struct RemotePage {
    /// Entries of the page.
    pub entries: Vec<EntryInfo>,
    /// The cursor of the next page; 0 when the listing is complete.
    pub next: u64,
}

impl Client {
    /// Connects to the server of the store in `dir`.
    pub fn connect(dir: &Path) -> Result<Client> {
        Self::connect_socket(&socket_path(dir))
    }

    /// True when a server answers on the socket of the store in `dir`.
    pub fn server_running(dir: &Path) -> bool {
        Self::connect(dir).and_then(|mut c| c.ping()).is_ok()
    }

    /// Connects to a server's unix socket.
    pub fn connect_socket(socket: &Path) -> Result<Client> {
        let stream = UnixStream::connect(socket).map_err(|source| Error::Io {
            op: "connect to the server at",
            path: socket.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone().map_err(|source| Error::Io {
            op: "connect to the server at",
            path: socket.to_path_buf(),
            source,
        })?;
        Ok(Client {
            socket: socket.to_path_buf(),
            reader: BufReader::with_capacity(64 << 10, stream),
            writer: BufWriter::with_capacity(64 << 10, writer),
        })
    }

    /// The socket it is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn io(&self, op: &'static str) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            op,
            path: self.socket.clone(),
            source,
        }
    }

    /// Sends one command without waiting for its reply (pipelining; read the replies with
    /// [`Client::receive`] in order).
    pub fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        let mut head = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            head.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            self.writer.write_all(&head).map_err(self.io("send to"))?;
            head.clear();
            self.writer.write_all(arg).map_err(self.io("send to"))?;
            self.writer.write_all(b"\r\n").map_err(self.io("send to"))?;
        }
        if args.is_empty() {
            self.writer.write_all(&head).map_err(self.io("send to"))?;
        }
        Ok(())
    }

    /// Reads the next reply (after flushing what was sent). An error reply is an
    /// `Error::Server`.
    pub fn receive(&mut self) -> Result<Reply> {
        self.writer.flush().map_err(self.io("send to"))?;
        match read_reply(&mut self.reader) {
            Ok(Reply::Error(message)) => Err(Error::Server {
                socket: self.socket.clone(),
                message,
            }),
            Ok(reply) => Ok(reply),
            Err(ReadError::Io(source)) => Err(Error::Io {
                op: "read a reply from",
                path: self.socket.clone(),
                source,
            }),
            Err(ReadError::Protocol(message)) => Err(Error::Server {
                socket: self.socket.clone(),
                message: format!("unreadable reply: {message}"),
            }),
        }
    }

    /// Sends a command and returns its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Reply> {
        self.send(args)?;
        self.receive()
    }

    fn unexpected(&self, what: &str, reply: &Reply) -> Error {
        Error::Server {
            socket: self.socket.clone(),
            message: format!("unexpected reply to {what}: {reply:?}"),
        }
    }

    fn int(&mut self, args: &[&[u8]]) -> Result<i64> {
        match self.call(args)? {
            Reply::Int(n) => Ok(n),
            other => Err(self.unexpected(&String::from_utf8_lossy(args[0]), &other)),
        }
    }

    fn text(&mut self, args: &[&[u8]]) -> Result<String> {
        match self.call(args)? {
            Reply::Bulk(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            other => Err(self.unexpected(&String::from_utf8_lossy(args[0]), &other)),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, args: &[&[u8]]) -> Result<T> {
        let text = self.text(args)?;
        serde_json::from_str(&text).map_err(|e| Error::Server {
            socket: self.socket.clone(),
            message: format!("unreadable JSON reply: {e}"),
        })
    }

    /// `AUTH password` (for a server started with a password).
    pub fn authenticate(&mut self, password: &str) -> Result<()> {
        self.call(&[b"AUTH", password.as_bytes()]).map(drop)
    }

    /// `PING`.
    pub fn ping(&mut self) -> Result<()> {
        self.call(&[b"PING"]).map(drop)
    }

    /// The value under `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.call(&[b"GET", key])? {
            Reply::Bulk(value) => Ok(value),
            other => Err(self.unexpected("GET", &other)),
        }
    }

    /// The value under `key` and what its bytes are.
    pub fn get_with_kind(&mut self, key: &[u8]) -> Result<Option<KindedValue>> {
        let reply = self.call(&[b"SC.GET", key])?;
        self.valued_reply(reply)
    }

    /// The values under `keys` with their kinds, in order, in one round trip.
    pub fn get_many_with_kind(&mut self, keys: &[&[u8]]) -> Result<Vec<Option<KindedValue>>> {
        for key in keys {
            self.send(&[b"SC.GET", key])?;
        }
        self.receive_all(keys.len(), |c, reply| c.valued_reply(reply))
    }

    fn valued_reply(&self, reply: Reply) -> Result<Option<KindedValue>> {
        match reply {
            Reply::Array(None) | Reply::Bulk(None) => Ok(None),
            Reply::Array(Some(mut parts)) => match parts.as_mut_slice() {
                [Reply::Bulk(Some(value)), Reply::Simple(kind)] => {
                    match PayloadKind::from_name(kind) {
                        Some(kind) => Ok(Some((std::mem::take(value), kind))),
                        None => Err(self.unexpected("SC.GET", &Reply::Simple(kind.clone()))),
                    }
                }
                _ => Err(self.unexpected("SC.GET", &Reply::Array(Some(parts)))),
            },
            other => Err(self.unexpected("SC.GET", &other)),
        }
    }

    /// Reads `n` pipelined replies, handing each to `each`; every reply is read even after
    /// one fails (the connection stays in step), and the first error is returned.
    fn receive_all<T>(
        &mut self,
        n: usize,
        mut each: impl FnMut(&Self, Reply) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(n);
        let mut first_error = None;
        for _ in 0..n {
            match self.receive().and_then(|reply| each(self, reply)) {
                Ok(value) => out.push(value),
                Err(e @ Error::Io { .. }) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Stores raw bytes under `key`, expiring after `ttl` when given, carrying `tags`.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<()> {
        self.set_payload(key, PayloadKind::Bytes, value, ttl, tags)
    }

    /// Stores `value` under `key` recorded as `kind` (see `Cache::insert_payload`),
    /// expiring after `ttl` when given, carrying `tags`.
    pub fn set_payload(
        &mut self,
        key: &[u8],
        kind: PayloadKind,
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<()> {
        self.set_many_payloads(&[(key, kind, value)], ttl, tags)
    }

    /// Stores every `(key, kind, value)` with the same expiry and tags, in one round trip.
    pub fn set_many_payloads(
        &mut self,
        items: &[(&[u8], PayloadKind, &[u8])],
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<()> {
        let ms = ttl.map(|t| t.as_millis().max(1).to_string());
        for &(key, kind, value) in items {
            self.send(&set_args(key, kind, value, ms.as_deref(), tags))?;
        }
        self.receive_all(items.len(), |_, _| Ok(())).map(drop)
    }

    /// Stores `value` as [`Self::set_payload`] does, but only when `key` holds no live
    /// value (`SC.SET ... NX`, decided under the server's lock on the key). True when it
    /// was stored; false when another value was there and stays.
    pub fn set_payload_if_absent(
        &mut self,
        key: &[u8],
        kind: PayloadKind,
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<bool> {
        let ms = ttl.map(|t| t.as_millis().max(1).to_string());
        let mut args = set_args(key, kind, value, ms.as_deref(), tags);
        args.push(b"NX");
        match self.call(&args)? {
            Reply::Simple(ok) if ok == "OK" => Ok(true),
            Reply::Bulk(None) => Ok(false),
            other => Err(self.unexpected("SC.SET", &other)),
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.int(&[b"DEL", key])? > 0)
    }

    /// True when `key` holds a live value.
    pub fn contains_key(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.int(&[b"EXISTS", key])? > 0)
    }

    /// Remaining TTL: `None` absent, `Some(None)` no expiry.
    pub fn ttl(&mut self, key: &[u8]) -> Result<Option<Option<Duration>>> {
        Ok(match self.int(&[b"PTTL", key])? {
            -2 => None,
            -1 => Some(None),
            ms => Some(Some(Duration::from_millis(ms.max(0) as u64))),
        })
    }

    /// Makes `key` expire `ttl` from now; false when absent.
    pub fn expire(&mut self, key: &[u8], ttl: Duration) -> Result<bool> {
        let ms = ttl.as_millis().to_string();
        Ok(self.int(&[b"PEXPIRE", key, ms.as_bytes()])? > 0)
    }

    /// Removes the expiry of `key`; true when it had one.
    pub fn persist(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.int(&[b"PERSIST", key])? > 0)
    }

    /// Removes every key starting with `prefix`; how many went.
    pub fn remove_prefix(&mut self, prefix: &[u8]) -> Result<u64> {
        Ok(self.int(&[b"SC.DELPREFIX", prefix])? as u64)
    }

    /// Retires every value tagged `tag`.
    pub fn invalidate_tag(&mut self, tag: &str) -> Result<()> {
        self.int(&[b"SC.INVALIDATE", tag.as_bytes()]).map(drop)
    }

    /// One page of the entries whose keys start with `prefix`, from `cursor` (0 first).
    pub fn list_page(&mut self, prefix: &[u8], cursor: u64, count: usize) -> Result<RemotePage> {
        let (cursor, count) = (cursor.to_string(), count.to_string());
        let reply = self.call(&[
            b"SC.LIST",
            cursor.as_bytes(),
            b"PREFIX",
            prefix,
            b"COUNT",
            count.as_bytes(),
        ])?;
        let bad = |c: &Self| c.unexpected("SC.LIST", &reply);
        let Reply::Array(Some(parts)) = &reply else {
            return Err(bad(self));
        };
        let [Reply::Bulk(Some(next)), Reply::Array(Some(rows))] = parts.as_slice() else {
            return Err(bad(self));
        };
        let next = std::str::from_utf8(next)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad(self))?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let Reply::Array(Some(fields)) = row else {
                return Err(bad(self));
            };
            let [
                Reply::Bulk(Some(key)),
                Reply::Int(size),
                Reply::Int(stored),
                Reply::Int(expires),
            ] = fields.as_slice()
            else {
                return Err(bad(self));
            };
            entries.push(EntryInfo {
                key: key.clone(),
                size: *size as u64,
                stored_size: *stored as u64,
                expires_at_ms: (*expires >= 0).then_some(*expires as u64),
            });
        }
        Ok(RemotePage { entries, next })
    }

    /// The disk store's stats (as `stats --json` prints them).
    pub fn stats(&mut self) -> Result<Stats> {
        Ok(self.all_stats()?.0)
    }

    /// The disk store's stats and the server's cache stats (per tier).
    pub fn all_stats(&mut self) -> Result<(Stats, CacheStats)> {
        #[derive(serde::Deserialize)]
        struct Both {
            disk: Stats,
            cache: CacheStats,
        }
        let both = self.json::<Both>(&[b"SC.STATS"])?;
        Ok((both.disk, both.cache))
    }

    /// Checks every record (removing bad entries with `repair`).
    pub fn verify(&mut self, repair: bool) -> Result<VerifyReport> {
        if repair {
            self.json(&[b"SC.VERIFY", b"REPAIR"])
        } else {
            self.json(&[b"SC.VERIFY"])
        }
    }

    /// Compacts sparse segments (every one with `all`).
    pub fn compact(&mut self, all: bool) -> Result<CompactReport> {
        if all {
            self.json(&[b"SC.COMPACT", b"ALL"])
        } else {
            self.json(&[b"SC.COMPACT"])
        }
    }

    /// Removes expired entries now; how many.
    pub fn sweep(&mut self) -> Result<u64> {
        Ok(self.int(&[b"SC.SWEEP"])? as u64)
    }

    /// Sets the disk capacity (evicting down to it); returns it.
    pub fn set_capacity(&mut self, bytes: u64) -> Result<u64> {
        let bytes = bytes.to_string();
        Ok(self.int(&[b"SC.CAPACITY", bytes.as_bytes()])? as u64)
    }

    /// Makes everything the server acknowledged durable.
    pub fn save(&mut self) -> Result<()> {
        self.call(&[b"SAVE"]).map(drop)
    }
}

/// The arguments of `SC.SET key value [PX ms] [TAG tag]... [KIND kind]`.
fn set_args<'a>(
    key: &'a [u8],
    kind: PayloadKind,
    value: &'a [u8],
    ttl_ms: Option<&'a str>,
    tags: &[&'a str],
) -> Vec<&'a [u8]> {
    let mut args: Vec<&[u8]> = vec![b"SC.SET", key, value];
    if let Some(ms) = ttl_ms {
        args.extend([&b"PX"[..], ms.as_bytes()]);
    }
    for tag in tags {
        args.extend([&b"TAG"[..], tag.as_bytes()]);
    }
    if kind != PayloadKind::Bytes {
        args.extend([&b"KIND"[..], kind.name().as_bytes()]);
    }
    args
}
