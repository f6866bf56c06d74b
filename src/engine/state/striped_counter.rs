//! A counter that many threads bump without sharing a cache line.
//!
//! One shared `AtomicU64` bumped on every read makes two reading threads take turns owning
//! its cache line; here each thread bumps its own stripe and a read sums them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const STRIPES: usize = 8;

/// One stripe, alone in its cache line (128 bytes covers adjacent-line prefetching).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// A monotonic total spread over per-thread stripes.
#[derive(Debug, Default)]
pub struct StripedCounter {
    stripes: [Stripe; STRIPES],
}

/// This thread's stripe: threads take stripes in turn as they first count.
fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    MINE.with(|i| *i)
}

impl StripedCounter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.stripes[stripe_index()]
            .0
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The total.
    pub fn get(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sets the total (when loading a saved one; not while others count).
    pub fn set(&self, total: u64) {
        for (i, stripe) in self.stripes.iter().enumerate() {
            stripe
                .0
                .store(if i == 0 { total } else { 0 }, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_what_every_thread_added() {
        let counter = StripedCounter::default();
        counter.set(5);
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| (0..1000).for_each(|_| counter.add(1)));
            }
        });
        assert_eq!(counter.get(), 12_005);
    }
}
