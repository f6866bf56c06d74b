//! A circuit breaker for a remote tier: after a run of failures it stops calling the tier
//! for a backoff period (doubling up to a maximum while the tier stays down), then lets one
//! probe call through; a success closes it again.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// First backoff after opening.
    pub base_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, backoff: Duration },
    Probing { backoff: Duration },
}

/// Whether calls go through, as [`RedisHealth`](crate::RedisHealth) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go to Redis (some may have failed, fewer than the threshold in a row).
    Closed,
    /// Redis failed repeatedly: calls are skipped until the backoff ends.
    Open,
    /// The backoff ended and one probe call is under way; other calls are skipped until
    /// it answers.
    Probing,
}

/// What a state change means for logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing worth telling.
    None,
    /// The breaker opened: calls stop for `backoff`.
    Opened(Duration),
    /// The tier answered again after being open.
    Recovered,
}

/// The breaker.
pub struct Breaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// True when a call may go to the tier now. When the backoff is over, exactly one caller
    /// gets `true` (the probe) until it reports back.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { until, backoff } if Instant::now() >= until => {
                *state = State::Probing { backoff };
                true
            }
            State::Open { .. } | State::Probing { .. } => false,
        }
    }

    /// Reports a successful call.
    pub fn success(&self) -> Transition {
        let mut state = self.state.lock();
        let was_down = !matches!(*state, State::Closed { .. });
        *state = State::Closed { failures: 0 };
        if was_down {
            Transition::Recovered
        } else {
            Transition::None
        }
    }

    /// Reports a failed call.
    pub fn failure(&self) -> Transition {
        let mut state = self.state.lock();
        let c = &self.config;
        let backoff = match *state {
            State::Closed { failures } if failures + 1 < c.failure_threshold => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                return Transition::None;
            }
            State::Closed { .. } => c.base_backoff,
            State::Probing { backoff } => (backoff * 2).min(c.max_backoff),
            // A call admitted before the breaker opened failed late: keep the current backoff.
            State::Open { .. } => return Transition::None,
        };
        *state = State::Open {
            until: Instant::now() + backoff,
            backoff,
        };
        Transition::Opened(backoff)
    }

    /// The state now, and while open the time left before a probe may go.
    pub fn state(&self) -> (BreakerState, Option<Duration>) {
        match *self.state.lock() {
            State::Closed { .. } => (BreakerState::Closed, None),
            State::Open { until, .. } => (
                BreakerState::Open,
                Some(until.saturating_duration_since(Instant::now())),
            ),
            State::Probing { .. } => (BreakerState::Probing, None),
        }
    }

    /// True while calls are being held back.
    #[cfg(test)]
    pub fn is_open(&self) -> bool {
        !matches!(*self.state.lock(), State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(backoff_ms: u64) -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 2,
            base_backoff: Duration::from_millis(backoff_ms),
            max_backoff: Duration::from_millis(4 * backoff_ms),
        })
    }

    #[test]
    fn opens_after_the_threshold_and_probes_once_after_the_backoff() {
        let b = breaker(30);
        assert!(b.allow());
        assert_eq!(b.failure(), Transition::None);
        assert_eq!(b.failure(), Transition::Opened(Duration::from_millis(30)));
        assert!(!b.allow(), "open: calls held back");
        let (state, retry_in) = b.state();
        assert_eq!(state, BreakerState::Open);
        assert!(retry_in.is_some_and(|d| d <= Duration::from_millis(30)));
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "backoff over: one probe");
        assert!(!b.allow(), "only one probe at a time");
        assert_eq!(b.state(), (BreakerState::Probing, None));
        assert_eq!(b.failure(), Transition::Opened(Duration::from_millis(60)));
        std::thread::sleep(Duration::from_millis(70));
        assert!(b.allow());
        assert_eq!(b.success(), Transition::Recovered);
        assert!(b.allow() && !b.is_open());
        assert_eq!(b.state(), (BreakerState::Closed, None));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let b = breaker(1000);
        b.failure();
        b.success();
        assert_eq!(b.failure(), Transition::None);
        assert!(b.allow());
    }
}
