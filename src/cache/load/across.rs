//! Single-flight across processes: the leader of this process's flight for a key that no
//! tier holds takes the key's lease in Redis before it runs the loader, or waits for the
//! process that holds it (see `tier/redis/lease.rs`).
//!
//! Waiting: the leader listens for the key's announcement (the holder's store publishes
//! it), sleeping at most 1 ms, then 2, 4, ... up to 50 ms between looks, and looks for the
//! value in every tier (Redis included) after each wake-up. When the value is there, the
//! flight ends with it. When it is not and the lease is free again (its holder failed,
//! released it without a value, or died and the lease expired), this leader takes the
//! lease and loads. When Redis does not answer, it loads without a lease: single-flight
//! within the process, as without Redis.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::cache::core::CacheInner;
use crate::cache::load::Leader;
use crate::cache::stats::bump;
use crate::cache::tier::redis::lease::{Lease, LeaseTry};

/// First pause between looks while another process loads.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between looks.
const MAX_PAUSE: Duration = Duration::from_millis(50);

impl CacheInner {
    /// For the leader of a key no tier holds: `Ok` with the value another process loaded,
    /// or `Err` handing the leader back to run the loader, holding the key's lease when
    /// there is one to hold.
    pub(crate) fn lead_across<T: DeserializeOwned>(
        &self,
        key: &[u8],
        mut leader: Leader,
    ) -> Result<T, (Leader, Option<Lease<'_>>)> {
        let Some(redis) = self.redis.as_deref().filter(|r| r.leases_on()) else {
            return Err((leader, None));
        };
        let registration = self.remote_waits.register(key);
        let mut pause = FIRST_PAUSE;
        let mut waited = false;
        loop {
            match redis.try_lease(key) {
                LeaseTry::Taken(lease) => {
                    // The previous holder may have stored the value and let go meanwhile.
                    return match self.finish_if_present(key, leader) {
                        Ok(value) => {
                            bump(&self.counters.lease_waits);
                            Ok(value)
                        }
                        Err(leader) => Err((leader, Some(lease))),
                    };
                }
                LeaseTry::Unavailable => return Err((leader, None)),
                LeaseTry::Held => {
                    if waited {
                        pause = (pause * 2).min(MAX_PAUSE);
                    }
                    registration.wait(pause);
                    waited = true;
                    match self.finish_if_present(key, leader) {
                        Ok(value) => {
                            bump(&self.counters.lease_waits);
                            return Ok(value);
                        }
                        Err(back) => leader = back,
                    }
                }
            }
        }
    }
}
