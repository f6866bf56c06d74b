//! What every handler uses: the context, errors in Redis's words, argument parsing.

use std::sync::atomic::Ordering;

use crate::error::Error;
use crate::server::resp::reply::Replies;
use crate::server::session::Session;
use crate::server::shared::Shared;

/// A handler's view: the server, this client's session, its reply buffer.
pub struct Ctx<'a> {
    /// The server.
    pub shared: &'a Shared,
    /// This connection.
    pub session: &'a mut Session,
    /// Replies to this connection.
    pub out: &'a mut Replies,
}

/// Redis's reply to an argument that should be an integer.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// Redis's reply to options that do not fit together.
pub const SYNTAX: &str = "ERR syntax error";

impl Ctx<'_> {
    /// Queues an error reply (text starting with its code) and counts it.
    pub fn error(&mut self, text: &str) {
        self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        self.out.error(text);
    }

    /// Queues the error reply for a store error.
    pub fn fail(&mut self, err: &Error) {
        let text = match err {
            Error::ValueTooLarge { .. } | Error::KeyTooLong { .. } | Error::EmptyKey => {
                format!("ERR {err}")
            }
            Error::DiskFull { .. } | Error::DoesNotFit { .. } => format!("OOM {err}"),
            _ => format!("ERR {err}"),
        };
        self.error(&text);
    }

    /// Redis's reply to a command it does not know.
    pub fn unknown_command(&mut self, args: &[&[u8]]) {
        let mut text = format!(
            "ERR unknown command '{}', with args beginning with: ",
            shown(args[0])
        );
        for arg in args.iter().skip(1).take(16) {
            text.push_str(&format!("'{}' ", shown(arg)));
        }
        self.error(&text);
    }

    /// Redis's reply to an unknown subcommand of `command`.
    pub fn unknown_subcommand(&mut self, command: &str, sub: &[u8]) {
        self.error(&format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            shown(sub),
            command.to_ascii_uppercase()
        ));
    }

    /// The cache's clock now, in ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.shared.cache.now_ms()
    }

    /// Notes that this request wrote (its reply waits for durability when asked to).
    pub fn wrote(&mut self) {
        self.session.wrote = true;
    }

    /// The key a cursor argument continues after: `Some(None)` for cursor 0 (the start),
    /// `None` (error queued) for a cursor that is not a number or not known.
    pub fn cursor_after(&mut self, arg: &[u8]) -> Option<Option<Vec<u8>>> {
        let cursor = std::str::from_utf8(arg)
            .ok()
            .and_then(|c| c.parse::<u64>().ok());
        let after = match cursor {
            Some(0) => Some(None),
            Some(n) => self.shared.cursors.get(n).map(Some),
            None => None,
        };
        if after.is_none() {
            self.error("ERR invalid cursor");
        }
        after
    }

    /// A cursor for the page that ends after `last` (0 when the listing is complete).
    pub fn next_cursor(&self, last: Option<Vec<u8>>) -> u64 {
        last.map_or(0, |key| self.shared.cursors.open(key))
    }

    /// Counts a key read for `INFO`'s keyspace hits and misses.
    pub fn count_read(&self, hit: bool) {
        let c = &self.shared.counters;
        if hit {
            &c.keyspace_hits
        } else {
            &c.keyspace_misses
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// An argument as text in an error message (at most 128 bytes, lossy).
pub fn shown(arg: &[u8]) -> String {
    String::from_utf8_lossy(&arg[..arg.len().min(128)]).into_owned()
}

/// True when `arg` is `word`, in any case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// A strict decimal integer, as Redis parses them (no spaces, no `+`, no leading zeros).
pub fn int(arg: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty()
        || text.starts_with('+')
        || (text.len() > 1 && text.starts_with('0'))
        || text.starts_with("-0")
    {
        return None;
    }
    text.parse().ok()
}
