//! How the store signals its background thread: wake early, or stop.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Wakes the background thread before its interval is up (when many changes are staged)
/// and tells it to stop. Shared by the store and its thread.
#[derive(Default)]
pub struct BackgroundSignal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    stop: bool,
    wake: bool,
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

    /// Forgets a wake asked for before now (a checkpoint has just taken the staged
    /// changes it was asked for).
    pub fn clear_wake(&self) {
        self.state.lock().wake = false;
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
