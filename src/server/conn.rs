//! One client connection: read requests, run them, send the replies.
//!
//! Each connection is a task on the server's runtime (epoll underneath: one thread serves
//! many clients, see `docs/server.md` for the measurement behind that). Requests that
//! arrived together (a pipeline) run one after another and their replies go out together,
//! in batches of at most `reply_buffer` bytes; the next read happens only once the replies
//! are sent, so a client that stops reading stops being served, holds at most one batch,
//! and is disconnected after `reply_timeout`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::clients::ClientSlot;
use super::command;
use super::resp::reply::Replies;
use super::resp::request::{Parsed, parse};
use super::session::{Close, Session};
use super::shared::Shared;

/// The smallest read.
const READ_CHUNK: usize = 16 << 10;

/// Input bytes received and not yet consumed.
struct Input {
    buf: Vec<u8>,
    /// Consumed up to here.
    start: usize,
    /// Received up to here.
    filled: usize,
}

impl Input {
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.filled]
    }

    /// Moves unconsumed bytes to the front; releases a large buffer once it is empty.
    fn compact(&mut self) {
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
            if self.buf.len() > 1 << 20 {
                self.buf = vec![0; READ_CHUNK];
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
    }

    /// Room to read into. The buffer doubles when full, so it never grows past twice what
    /// the client actually sent.
    fn room(&mut self) -> &mut [u8] {
        if self.filled == self.buf.len() {
            self.buf.resize((self.buf.len() * 2).max(READ_CHUNK), 0);
        }
        &mut self.buf[self.filled..]
    }
}

/// What ended a burst of requests.
enum Next {
    /// Read more.
    Read { need: usize },
    /// Close the connection.
    Close,
}

/// Serves one admitted client until it leaves, breaks the protocol or the server stops.
pub async fn serve<S>(
    shared: Arc<Shared>,
    mut stream: S,
    id: u64,
    slot: ClientSlot,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session::new(id, shared.config.password.is_none(), slot);
    let mut out = Replies::new();
    let mut input = Input {
        buf: vec![0; READ_CHUNK],
        start: 0,
        filled: 0,
    };
    loop {
        let next = run_requests(&shared, &mut session, &mut out, &mut input, &mut stream).await;
        if send(&shared, &mut session, &mut out, &mut stream)
            .await
            .is_err()
        {
            break;
        }
        let need = match next {
            Next::Close => break,
            Next::Read { need } => need,
        };
        input.compact();
        if need > shared.limits.max_query {
            out.error("ERR Protocol error: query buffer limit reached");
            let _ = send(&shared, &mut session, &mut out, &mut stream).await;
            break;
        }
        let read = tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => break,
            read = stream.read(input.room()) => read,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                input.filled += n;
                shared
                    .counters
                    .input_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    shared.clients.remove(id);
}

/// Runs every complete request in `input`, sending replies whenever a batch is full.
async fn run_requests<S: AsyncWrite + Unpin>(
    shared: &Shared,
    session: &mut Session,
    out: &mut Replies,
    input: &mut Input,
    stream: &mut S,
) -> Next {
    loop {
        match parse(input.pending(), &shared.limits) {
            Parsed::Request { args, len } => {
                let base = input.start;
                let argv: Vec<&[u8]> = args
                    .iter()
                    .map(|r| &input.buf[base + r.start..base + r.end])
                    .collect();
                command::run(shared, session, out, &argv);
                input.start += len;
                match session.close {
                    Close::No => {}
                    Close::AfterReply => return Next::Close,
                    Close::Now => {
                        out.buf.clear();
                        return Next::Close;
                    }
                }
                if out.len() >= shared.config.reply_buffer
                    && send(shared, session, out, stream).await.is_err()
                {
                    return Next::Close;
                }
            }
            Parsed::Blank(len) => input.start += len,
            Parsed::Incomplete { need } => return Next::Read { need },
            Parsed::Invalid(message) => {
                out.error(&format!("ERR {message}"));
                shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                return Next::Close;
            }
        }
    }
}

/// Sends the queued replies; with `--durability always`, only once the writes they answer
/// are durable (a failed flush closes the connection instead of acknowledging them). A
/// client that does not take them within `reply_timeout` is disconnected.
async fn send<S: AsyncWrite + Unpin>(
    shared: &Shared,
    session: &mut Session,
    out: &mut Replies,
    stream: &mut S,
) -> Result<(), ()> {
    if out.is_empty() {
        return Ok(());
    }
    if session.wrote && shared.durable_writes() {
        session.wrote = false;
        let ticket = shared.commit.ticket();
        if let Err(message) = shared.commit.durable(ticket).await {
            log::error!(
                "stratacache serve: a flush failed ({message}); closing client {} without acknowledging its writes",
                session.id
            );
            return Err(());
        }
    }
    shared
        .counters
        .output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    let written =
        tokio::time::timeout(shared.config.reply_timeout, stream.write_all(&out.buf)).await;
    out.buf.clear();
    if out.buf.capacity() > 1 << 20 {
        out.buf.shrink_to(16 << 10);
    }
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            log::warn!(
                "stratacache serve: client {} did not read its replies for {:?}; disconnecting it",
                session.id,
                shared.config.reply_timeout
            );
            Err(())
        }
    }
}
