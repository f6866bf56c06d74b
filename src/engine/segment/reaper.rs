//! File work off the writer's path: closing deleted segment files, and syncing segments
//! that compaction filled.
//!
//! Unlinking a segment is cheap; closing and unmapping it is not: the kernel then drops
//! every cached page of the file (about 1 ms for a 4 MiB segment). A segment file is always
//! unlinked right away, by the writer, after the durable commit that stops referencing it
//! (DESIGN invariant 3); its last handle is then dropped by this thread, so the file's
//! blocks are freed a moment later, as they would be if a reader still held a value from
//! it. When the thread falls behind, the writer drops handles itself.
//!
//! A segment that maintenance (compaction, eviction's second chances) filled and sealed is
//! synced here at once, while maintenance goes on filling the next one, so the checkpoint
//! that makes the moved copies durable finds little left to write. The checkpoint still
//! syncs every segment itself, through the segment's own file; the early sync goes through
//! a file opened for it, so a write-back error it meets still reaches the checkpoint.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use super::file::Segment;

/// Jobs waiting at most; past this the writer closes handles itself and skips early syncs.
const QUEUE: usize = 32;

enum Job {
    /// Drop the handle of an unlinked file.
    Release(Arc<Segment>),
    /// `fdatasync` a sealed segment ahead of the next checkpoint.
    Sync(Arc<Segment>),
    /// Answer once every job sent before this one is done.
    Barrier(SyncSender<()>),
}

/// Sends file work to a background thread.
pub struct Reaper {
    tx: Option<SyncSender<Job>>,
}

impl Reaper {
    /// Starts the thread; without one (spawning failed) handles are dropped in place and
    /// nothing is synced early.
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
            match tx.try_send(Job::Release(segment)) {
                Ok(()) => {}
                Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => drop(job),
            }
        }
    }

    /// Syncs `segment` (sealed: no more appends) soon, off the caller's thread; skipped
    /// when the thread is behind (the next checkpoint syncs it anyway).
    pub fn sync_early(&self, segment: Arc<Segment>) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(Job::Sync(segment));
        }
    }
}

impl Reaper {
    /// Waits (up to a second) until the handles released so far are dropped, so that the
    /// space of deleted files is back in the file system (a full disk waits for it).
    pub fn wait_for_releases(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = sync_channel(1);
            if tx.send(Job::Barrier(done_tx)).is_ok() {
                let _ = done_rx.recv_timeout(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// Runs until every sender is gone (the store was dropped).
fn drain(rx: Receiver<Job>) {
    for job in rx {
        match job {
            Job::Release(segment) => drop(segment),
            Job::Barrier(done) => {
                let _ = done.send(());
            }
            Job::Sync(segment) => {
                // Through a file of its own: Linux reports a write-back error once to each
                // open file, so the checkpoint's own sync of the segment still sees an
                // error this one met, and fails. Hence the result can be dropped here. A
                // file deleted meanwhile needs no sync.
                if let Ok(file) = std::fs::File::open(segment.path()) {
                    let _ = file.sync_data();
                }
            }
        }
    }
}
