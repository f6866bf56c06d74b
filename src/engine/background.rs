//! The background thread that makes acknowledged writes durable at a fixed interval.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::segment::Log;
use crate::engine::state::{BackgroundSignal, Engine, Wakeup};

/// Handle to the checkpoint thread; stops and joins it on [`Checkpointer::stop`].
pub struct Checkpointer {
    signal: Arc<BackgroundSignal>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for `inner`, checkpointing every `interval` and when woken
    /// through `signal`.
    pub fn start(inner: Weak<Engine>, signal: Arc<BackgroundSignal>, interval: Duration) -> Self {
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

fn run(inner: Weak<Engine>, interval: Duration, signal: &BackgroundSignal) {
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

impl Engine {
    /// One round of background work: sweep expired entries when due, keep within capacity,
    /// compact sparse segments, then a durable checkpoint when anything changed.
    pub fn background_tick(&self, last_sweep: &mut Instant) {
        if let Some(every) = self.settings.sweep_interval
            && last_sweep.elapsed() >= every
        {
            *last_sweep = Instant::now();
            if let Err(e) = self.sweep_expired() {
                log::error!("stratacache sweep at {} failed: {e}", self.dir.display());
            }
        }
        if self.settings.background_maintenance
            && let Err(e) = self.maintain()
        {
            log::error!(
                "stratacache maintenance at {} failed: {e}",
                self.dir.display()
            );
        }
        let dirty = {
            let w = self.writer.lock();
            w.is_dirty() && !w.is_poisoned()
        };
        if dirty && let Err(e) = self.flush() {
            log::error!(
                "stratacache checkpoint at {} failed: {e}",
                self.dir.display()
            );
        }
    }

    /// Eviction down to capacity and compaction of sparse segments.
    fn maintain(&self) -> crate::error::Result<()> {
        {
            let mut w = self.writer.lock();
            if w.is_poisoned() {
                return Ok(());
            }
            self.make_room(&mut w, 0, Log::Main)?;
        }
        self.compact_if_needed()
    }
}
