//! The background thread that makes acknowledged writes durable at a fixed interval.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::store::inner::Inner;

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
    fn wait(&self, interval: Duration) -> Wakeup {
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

    fn stop(&self) {
        self.state.lock().stop = true;
        self.changed.notify_all();
    }
}

/// Handle to the checkpoint thread; stops and joins it on [`Checkpointer::stop`].
pub struct Checkpointer {
    signal: Arc<BackgroundSignal>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for `inner`, checkpointing every `interval` and when woken
    /// through `signal`.
    pub fn start(inner: Weak<Inner>, signal: Arc<BackgroundSignal>, interval: Duration) -> Self {
        let thread_signal = signal.clone();
        let thread = std::thread::Builder::new()
            .name("stratacache-checkpoint".into())
            .spawn(move || run(inner, interval, &thread_signal))
            .expect("spawn checkpoint thread");
        Self {
            signal,
            thread: Some(thread),
        }
    }

    /// Asks the thread to stop and waits for it.
    pub fn stop(&mut self) {
        self.signal.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why the background thread woke up.
enum Wakeup {
    Stop,
    /// Many changes are staged: checkpoint now.
    Woken,
    /// The interval passed: a full round of background work.
    Interval,
}

fn run(inner: Weak<Inner>, interval: Duration, signal: &BackgroundSignal) {
    let mut last_sweep = Instant::now();
    loop {
        let wakeup = signal.wait(interval);
        let Some(inner) = inner.upgrade() else { return };
        match wakeup {
            Wakeup::Stop => return,
            // Only the checkpoint: sweeping, eviction and compaction (whose index check
            // walks the whole redb file) keep to the interval.
            Wakeup::Woken => {
                if let Err(e) = inner.checkpoint_unless_poisoned() {
                    log::error!(
                        "stratacache checkpoint at {} failed: {e}",
                        inner.dir.display()
                    );
                }
            }
            Wakeup::Interval => inner.background_tick(&mut last_sweep),
        }
    }
}

impl Inner {
    /// One round of background work: sweep expired entries when due, keep within capacity,
    /// compact sparse segments, then a durable checkpoint when anything changed.
    pub fn background_tick(&self, last_sweep: &mut Instant) {
        if let Some(every) = self.config.sweep_interval
            && last_sweep.elapsed() >= every
        {
            *last_sweep = Instant::now();
            if let Err(e) = self.sweep_expired() {
                log::error!("stratacache sweep at {} failed: {e}", self.dir.display());
            }
        }
        if self.config.background_maintenance
            && let Err(e) = self.maintain()
        {
            log::error!(
                "stratacache maintenance at {} failed: {e}",
                self.dir.display()
            );
        }
        let dirty = {
            let w = self.writer.lock();
            w.dirty && w.poisoned.is_none()
        };
        if dirty && let Err(e) = self.flush() {
            log::error!(
                "stratacache checkpoint at {} failed: {e}",
                self.dir.display()
            );
        }
    }

    /// Eviction down to capacity and compaction of sparse segments.
    fn maintain(&self) -> crate::Result<()> {
        {
            let mut w = self.writer.lock();
            if w.poisoned.is_some() {
                return Ok(());
            }
            self.make_room(&mut w, 0)?;
        }
        self.compact_if_needed()
    }
}
