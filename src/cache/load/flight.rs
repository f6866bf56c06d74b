//! Single-flight: at most one loader runs per key; everyone else asking for that key waits
//! for its outcome, blocking a thread ([`Waiter::wait`]) or as a future
//! ([`Waiter::wait_async`], on any runtime). A leader that goes away without an outcome (its
//! loader panicked, or its task was dropped) wakes the waiters, and one of them leads the
//! next attempt, so a key is never wedged.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::{Condvar, Mutex};

/// What a finished flight produced.
#[derive(Clone)]
pub enum Outcome {
    /// The loaded value's envelope, where its payload starts and what it is (each waiter
    /// decodes its own copy).
    Loaded(Arc<[u8]>, usize, crate::cache::value_codec::PayloadKind),
    /// The loader's error, type-erased `Arc<E>`.
    Failed(Arc<dyn Any + Send + Sync>),
    /// The leader went away without an outcome; try again.
    Abandoned,
}

struct Flight {
    state: Mutex<FlightState>,
    done: Condvar,
}

/// The outcome once there is one, and the tasks to wake then.
#[derive(Default)]
struct FlightState {
    outcome: Option<Outcome>,
    wakers: Vec<Waker>,
}

/// The flights in progress, by key.
#[derive(Default)]
pub struct Flights {
    running: Mutex<HashMap<Vec<u8>, Arc<Flight>>>,
}

/// Joining a flight either makes you its leader or a waiter.
pub enum Role {
    /// Run the loader, then [`Leader::finish`].
    Leader(Leader),
    /// Someone else is loading; [`Waiter::wait`] for it.
    Waiter(Waiter),
}

/// The caller that runs the loader. Dropping it unfinished (a panic) abandons the flight.
pub struct Leader {
    flights: Arc<Flights>,
    key: Vec<u8>,
    flight: Arc<Flight>,
    finished: bool,
}

/// A caller waiting for the leader.
pub struct Waiter {
    flight: Arc<Flight>,
}

impl Flights {
    /// Joins the flight for `key`, starting one when none runs.
    pub fn join(self: &Arc<Self>, key: &[u8]) -> Role {
        let mut running = self.running.lock();
        if let Some(flight) = running.get(key) {
            return Role::Waiter(Waiter {
                flight: flight.clone(),
            });
        }
        Role::Leader(self.lead(&mut running, key))
    }

    /// Starts a flight for `key` only when none runs (for background refreshes).
    pub fn try_lead(self: &Arc<Self>, key: &[u8]) -> Option<Leader> {
        let mut running = self.running.lock();
        if running.contains_key(key) {
            return None;
        }
        Some(self.lead(&mut running, key))
    }

    fn lead(self: &Arc<Self>, running: &mut HashMap<Vec<u8>, Arc<Flight>>, key: &[u8]) -> Leader {
        let flight = Arc::new(Flight {
            state: Mutex::new(FlightState::default()),
            done: Condvar::new(),
        });
        running.insert(key.to_vec(), flight.clone());
        Leader {
            flights: self.clone(),
            key: key.to_vec(),
            flight,
            finished: false,
        }
    }

    /// Number of flights in progress.
    #[cfg(test)]
    pub fn in_progress(&self) -> usize {
        self.running.lock().len()
    }
}

impl Leader {
    /// Publishes the outcome to every waiter and ends the flight.
    pub fn finish(mut self, outcome: Outcome) {
        self.publish(outcome);
        self.finished = true;
    }

    fn publish(&self, outcome: Outcome) {
        // Leave the map first: a caller arriving from now on starts afresh (and finds the
        // value in the tiers when it was loaded).
        self.flights.running.lock().remove(&self.key);
        let wakers = {
            let mut state = self.flight.state.lock();
            state.outcome = Some(outcome);
            std::mem::take(&mut state.wakers)
        };
        self.flight.done.notify_all();
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if !self.finished {
            self.publish(Outcome::Abandoned);
        }
    }
}

impl Waiter {
    /// Blocks until the leader finishes or goes away.
    pub fn wait(self) -> Outcome {
        let mut state = self.flight.state.lock();
        while state.outcome.is_none() {
            self.flight.done.wait(&mut state);
        }
        state.outcome.clone().unwrap_or(Outcome::Abandoned)
    }

    /// Resolves when the leader finishes or goes away, without blocking a thread.
    pub fn wait_async(self) -> WaitFuture {
        WaitFuture {
            flight: self.flight,
        }
    }
}

/// The future of [`Waiter::wait_async`].
pub struct WaitFuture {
    flight: Arc<Flight>,
}

impl Future for WaitFuture {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut state = self.flight.state.lock();
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.clone());
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_caller_waits_for_the_first() {
        let flights = Arc::new(Flights::default());
        let Role::Leader(leader) = flights.join(b"k") else {
            panic!("first caller must lead")
        };
        let Role::Waiter(waiter) = flights.join(b"k") else {
            panic!("second caller must wait")
        };
        assert!(flights.try_lead(b"k").is_none());
        leader.finish(Outcome::Loaded(Arc::from(&b"v"[..]), 0, Default::default()));
        assert!(matches!(waiter.wait(), Outcome::Loaded(v, 0, _) if &*v == b"v"));
        assert_eq!(flights.in_progress(), 0);
    }

    #[test]
    fn dropped_leader_abandons_and_frees_the_key() {
        let flights = Arc::new(Flights::default());
        let Role::Leader(leader) = flights.join(b"k") else {
            panic!()
        };
        let Role::Waiter(waiter) = flights.join(b"k") else {
            panic!()
        };
        drop(leader);
        assert!(matches!(waiter.wait(), Outcome::Abandoned));
        assert!(matches!(flights.join(b"k"), Role::Leader(_)));
    }
}
