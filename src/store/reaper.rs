//! Closing deleted segment files off the writer's path.
//!
//! Unlinking a segment is cheap; closing and unmapping it is not: the kernel then drops
//! every cached page of the file (about 1 ms for a 4 MiB segment). A segment file is always
//! unlinked right away, by the writer, after the durable commit that stops referencing it
//! (DESIGN invariant 3); its last handle is then dropped by this thread, so the file's
//! blocks are freed a moment later, as they would be if a reader still held a value from
//! it. When the thread falls behind, the writer drops handles itself.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::segment::Segment;

/// Handles waiting at most; past this the writer closes them itself.
const QUEUE: usize = 32;

/// Sends the handles of unlinked segment files to a thread that drops them.
pub struct Reaper {
    tx: Option<SyncSender<Arc<Segment>>>,
}

impl Reaper {
    /// Starts the thread; without one (spawning failed) handles are dropped in place.
    pub fn start() -> Self {
        let (tx, rx) = sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("stratacache-reaper".into())
            .spawn(move || drain(rx));
        Self {
            tx: spawned.ok().map(|_| tx),
        }
    }

    /// Drops `segment` (a file already unlinked) soon, off the caller's thread.
    pub fn release(&self, segment: Arc<Segment>) {
        if let Some(tx) = &self.tx {
            match tx.try_send(segment) {
                Ok(()) => {}
                Err(TrySendError::Full(seg) | TrySendError::Disconnected(seg)) => drop(seg),
            }
        }
    }
}

/// Runs until every sender is gone (the store was dropped).
fn drain(rx: Receiver<Arc<Segment>>) {
    for segment in rx {
        drop(segment);
    }
}
