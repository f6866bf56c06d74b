//! The state of one connection.

use super::clients::ClientSlot;

/// What happens to the connection after the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Keep serving.
    No,
    /// Send the replies so far, then close (`QUIT`, a protocol error).
    AfterReply,
    /// Close without another word (`SHUTDOWN`).
    Now,
}

/// Commands queued between `MULTI` and `EXEC`.
#[derive(Default)]
pub struct Queued {
    /// The commands, each as its arguments.
    pub commands: Vec<Vec<Vec<u8>>>,
    /// Bytes queued (bounded like one request).
    pub bytes: usize,
    /// A queued command was refused: `EXEC` discards the transaction.
    pub aborted: bool,
}

/// One client's connection state.
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// Authenticated (or no password is set).
    pub authed: bool,
    /// A write was answered since the last durable point (`--durability always`).
    pub wrote: bool,
    /// What happens after the current request.
    pub close: Close,
    /// This client's entry in the registry.
    pub slot: ClientSlot,
    /// Inside `MULTI`: what `EXEC` will run.
    pub multi: Option<Queued>,
}

impl Session {
    /// A new connection; `authed` when the server has no password.
    pub fn new(id: u64, authed: bool, slot: ClientSlot) -> Self {
        Self {
            id,
            authed,
            wrote: false,
            close: Close::No,
            slot,
            multi: None,
        }
    }
}
