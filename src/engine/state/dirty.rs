//! A "changed since the last save" flag that hot paths can set often.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by every change, cleared by a save. Setting it only writes when it is clear, so
/// threads that keep reading (and marking) do not fight over its cache line.
#[derive(Debug, Default)]
pub struct Dirty(AtomicBool);

impl Dirty {
    /// Records a change.
    pub fn mark(&self) {
        if !self.0.load(Ordering::Relaxed) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    /// True when something changed since the last [`Self::take`].
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether something changed, clearing the flag.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}
