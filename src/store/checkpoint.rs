//! The background thread that makes acknowledged writes durable at a fixed interval.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::store::inner::Inner;

/// Handle to the checkpoint thread; stops and joins it on [`Checkpointer::stop`].
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for `inner`, checkpointing every `interval`.
    pub fn start(inner: Weak<Inner>, interval: Duration) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("stratacache-checkpoint".into())
            .spawn(move || run(inner, interval, &signal))
            .expect("spawn checkpoint thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Asks the thread to stop and waits for it.
    pub fn stop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(inner: Weak<Inner>, interval: Duration, signal: &(Mutex<bool>, Condvar)) {
    let mut last_sweep = Instant::now();
    loop {
        {
            let mut stopped = signal.0.lock();
            if !*stopped {
                signal.1.wait_for(&mut stopped, interval);
            }
            if *stopped {
                return;
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        inner.background_tick(&mut last_sweep);
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
