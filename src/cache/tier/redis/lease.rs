//! Loader leases: single-flight across processes and hosts (`RedisConfig::loader_lease`).
//!
//! A cache about to run a loader for a key that no tier holds first takes the key's lease:
//! `SET <prefix>l:<key> <token> NX PX <ttl>`, the token random per lease. Whoever fails to
//! take it waits for the value instead (see `cache/load/across.rs`). The holder renews the
//! lease every third of its TTL while the loader runs, stores the value (which announces
//! the key on the invalidation channel: the waiters' wake-up call), then releases the lease
//! if it is still its own (a script compares the token, so a holder that was too slow never
//! deletes its successor's lease). A holder that dies stops renewing; its lease expires
//! within the TTL and a waiter takes it.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::cache::tier::redis::RedisTier;

/// Deletes a lease only when it still holds the token. KEYS[1]: lease; ARGV[1]: token.
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// Extends a lease only when it still holds the token. ARGV[2]: time to live in ms.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/// A lease this cache holds.
pub(crate) struct Lease<'t> {
    tier: &'t RedisTier,
    key: Vec<u8>,
    token: String,
    ttl: Duration,
}

/// What trying to take a lease gave.
pub(crate) enum LeaseTry<'t> {
    /// Ours: run the loader.
    Taken(Lease<'t>),
    /// Another cache holds it: wait for its value.
    Held,
    /// Leases are off, or Redis did not answer: single-flight within this process only.
    Unavailable,
}

impl RedisTier {
    /// Tries to take the lease on `key`.
    pub(crate) fn try_lease(&self, key: &[u8]) -> LeaseTry<'_> {
        let Some(ttl) = self.config.lease_ttl else {
            return LeaseTry::Unavailable;
        };
        let lease_key = self.config.lease_key(key);
        let nonce = (key, std::process::id(), std::time::SystemTime::now());
        let token = format!("{:016x}", ahash::RandomState::new().hash_one(nonce));
        let taken = self.call("lease", |conn| {
            redis::cmd("SET")
                .arg(&lease_key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query::<Option<String>>(conn.like())
        });
        match taken {
            Ok(Some(_)) => LeaseTry::Taken(Lease {
                tier: self,
                key: lease_key,
                token,
                ttl,
            }),
            Ok(None) => LeaseTry::Held,
            Err(e) => {
                log::debug!(
                    "stratacache: no lease on {:?} ({e}); loading without one",
                    String::from_utf8_lossy(key)
                );
                LeaseTry::Unavailable
            }
        }
    }

    /// Runs `script` on a lease (`extra`: its arguments after the token); true when the
    /// lease was still ours.
    fn on_lease(&self, op: &str, script: &str, lease: &Lease<'_>, extra: Option<u64>) -> bool {
        let result = self.call(op, |conn| {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(script).arg(1).arg(&lease.key).arg(&lease.token);
            if let Some(arg) = extra {
                cmd.arg(arg);
            }
            cmd.query::<i64>(conn.like())
        });
        result.is_ok_and(|n| n == 1)
    }

    /// True when `get_with` takes leases (a lease TTL is configured).
    pub(crate) fn leases_on(&self) -> bool {
        self.config.lease_ttl.is_some()
    }
}

impl Lease<'_> {
    /// Runs `work` while renewing the lease every third of its TTL (from a scoped thread),
    /// so a loader may take longer than the TTL; renewing stops when `work` returns or
    /// panics.
    pub(crate) fn hold_while<R>(&self, work: impl FnOnce() -> R) -> R {
        let done = (Mutex::new(false), Condvar::new());
        let every = self.ttl / 3;
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut stop = done.0.lock();
                while !*stop {
                    if done.1.wait_for(&mut stop, every).timed_out() {
                        parking_lot::MutexGuard::unlocked(&mut stop, || {
                            let ttl_ms = self.ttl.as_millis() as u64;
                            if !self.tier.on_lease("renew lease", RENEW, self, Some(ttl_ms)) {
                                log::debug!("stratacache: a loader's lease could not be renewed");
                            }
                        });
                    }
                }
            });
            let _stop = StopOnDrop(&done);
            work()
        })
    }
}

/// Sets the flag and wakes the renewing thread when dropped (also while unwinding).
struct StopOnDrop<'a>(&'a (Mutex<bool>, Condvar));

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        *self.0.0.lock() = true;
        self.0.1.notify_all();
    }
}

impl Drop for Lease<'_> {
    /// Releases the lease (if still ours): after the value is stored, or after the loader
    /// failed, so that a waiter loads at once instead of after the TTL.
    fn drop(&mut self) {
        self.tier.on_lease("release lease", RELEASE, self, None);
    }
}
