//! Waiting for a value another process is loading: the waiter sleeps until the key's
//! change is announced on the invalidation channel (the loading process stores the value,
//! which announces it) or until a timeout, whichever comes first; then it looks again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// A flag and its condition variable.
#[derive(Default)]
struct Signal {
    woken: Mutex<bool>,
    changed: Condvar,
}

impl Signal {
    fn wake(&self) {
        *self.woken.lock() = true;
        self.changed.notify_all();
    }
}

/// Registrations of one key, and their shared signal.
#[derive(Default)]
struct Waiting {
    registrations: usize,
    signal: Arc<Signal>,
}

/// The keys this process waits for, each with its signal.
#[derive(Default)]
pub struct RemoteWaits {
    waiting: Mutex<HashMap<Vec<u8>, Waiting>>,
}

/// Interest in one key's announcements; dropping it ends the interest.
pub struct Registration<'w> {
    waits: &'w RemoteWaits,
    key: Vec<u8>,
    signal: Arc<Signal>,
}

impl RemoteWaits {
    /// Starts listening for announcements of `key` (before looking for its value, so that
    /// none is missed in between).
    pub fn register(&self, key: &[u8]) -> Registration<'_> {
        let mut waiting = self.waiting.lock();
        let entry = waiting.entry(key.to_vec()).or_default();
        entry.registrations += 1;
        Registration {
            waits: self,
            key: key.to_vec(),
            signal: entry.signal.clone(),
        }
    }

    /// `key` changed in another process: wake whoever waits for it.
    pub fn wake(&self, key: &[u8]) {
        if let Some(waiting) = self.waiting.lock().get(key) {
            waiting.signal.wake();
        }
    }

    /// Announcements may have been lost: wake every waiter to look again.
    pub fn wake_all(&self) {
        for waiting in self.waiting.lock().values() {
            waiting.signal.wake();
        }
    }
}

impl Registration<'_> {
    /// Sleeps until the key is announced (since the last wait) or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let mut woken = self.signal.woken.lock();
        if !*woken {
            self.signal.changed.wait_for(&mut woken, timeout);
        }
        *woken = false;
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut waiting = self.waits.waiting.lock();
        if let Some(entry) = waiting.get_mut(&self.key) {
            entry.registrations -= 1;
            if entry.registrations == 0 {
                waiting.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_wake_before_the_wait_is_not_lost() {
        let waits = RemoteWaits::default();
        let registration = waits.register(b"k");
        waits.wake(b"k");
        let started = Instant::now();
        registration.wait(Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(registration);
        assert!(waits.waiting.lock().is_empty());
    }

    #[test]
    fn other_keys_do_not_wake() {
        let waits = RemoteWaits::default();
        let registration = waits.register(b"k");
        waits.wake(b"other");
        let started = Instant::now();
        registration.wait(Duration::from_millis(20));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
