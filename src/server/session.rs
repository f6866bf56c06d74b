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
        }
    }
}
