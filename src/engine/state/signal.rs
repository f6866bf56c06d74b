//! How the store signals its background thread: wake early, or stop.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Wakes the background thread before its interval is up (when many changes are staged)
/// and tells it to stop. Shared by the store and its thread.
#[derive(Default)]
pub struct BackgroundSignal {
    state: Mutex<SignalState>,
    /// The thread waits on this.
    changed: Condvar,
    /// Writers waiting for a checkpoint to take the staged changes wait on this.
    begun: Condvar,
}

#[derive(Default)]
struct SignalState {
    stop: bool,
    wake: bool,
    /// Checkpoints that took the staged changes so far (see [`BackgroundSignal::clear_wake`]).
    checkpoints_begun: u64,
}

impl BackgroundSignal {
    /// Asks the thread for a round of work now (a no-op without a thread, or when asked
    /// already).
    pub fn wake(&self) {
        let mut state = self.state.lock();
        if !state.wake {
            state.wake = true;
            self.changed.notify_one();
        }
    }

    /// Forgets a wake asked for before now: a checkpoint has just taken the staged changes
    /// it was asked for. Wakes the writers waiting for that in
    /// [`Self::wait_for_checkpoint_begun`].
    pub fn clear_wake(&self) {
        let mut state = self.state.lock();
        state.wake = false;
        state.checkpoints_begun += 1;
        self.begun.notify_all();
    }

    /// How many checkpoints took the staged changes so far.
    pub fn checkpoints_begun(&self) -> u64 {
        self.state.lock().checkpoints_begun
    }

    /// Waits until a checkpoint after the first `seen` ones takes the staged changes, for at
    /// most `timeout`.
    pub fn wait_for_checkpoint_begun(&self, seen: u64, timeout: Duration) {
        let mut state = self.state.lock();
        if state.checkpoints_begun == seen && !state.stop {
            self.begun.wait_for(&mut state, timeout);
        }
    }

    /// Waits until `interval` passes, a wake or a stop, and says which came.
    pub fn wait(&self, interval: Duration) -> Wakeup {
        let mut state = self.state.lock();
        if !state.stop && !state.wake {
            self.changed.wait_for(&mut state, interval);
        }
        let woken = std::mem::take(&mut state.wake);
        match (state.stop, woken) {
            (true, _) => Wakeup::Stop,
            (false, true) => Wakeup::Woken,
            (false, false) => Wakeup::Interval,
        }
    }

    /// Tells the thread to stop.
    pub fn stop(&self) {
        self.state.lock().stop = true;
        self.changed.notify_all();
        self.begun.notify_all();
    }
}

/// Why the background thread woke up.
pub enum Wakeup {
    /// The store is closing.
    Stop,
    /// Many changes are staged: checkpoint now.
    Woken,
    /// The interval passed: a full round of background work.
    Interval,
}
