//! Changing when a cached value expires, in every tier, without rewriting it.

use std::time::Duration;

use crate::cache::handle::Cache;
use crate::error::Result;

impl Cache {
    /// Makes `key` expire `ttl` from now, in every tier that holds it. True when some tier
    /// held it. A zero `ttl` removes it (as an expiry would).
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Duration) -> Result<bool> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let at = self.inner.clock.now_ms().saturating_add(ms);
        self.set_expires_at(key, Some(at))
    }

    /// Sets when `key` expires, as ms since the Unix epoch on the cache's clock (`None`:
    /// never), in every tier that holds it; the disk tier changes its index entry only. A
    /// time already past removes the key. True when some tier held it.
    pub fn set_expires_at(&self, key: impl AsRef<[u8]>, at_ms: Option<u64>) -> Result<bool> {
        let key = key.as_ref();
        let inner = &self.inner;
        inner.check_key(key)?;
        if at_ms.is_some_and(|at| at <= inner.clock.now_ms()) {
            return inner.remove_everywhere(key);
        }
        let mut held = false;
        for slot in &inner.slots {
            let changed = slot.tier.set_expiry(key, at_ms);
            held |= inner
                .absorb_or(slot, "set_expiry", key, changed)?
                .unwrap_or(false);
        }
        Ok(held)
    }

    /// Removes the expiry of `key` in every tier. True when it had one (as Redis's
    /// `PERSIST`): false when absent or already without expiry.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        if !matches!(self.ttl(key)?, Some(Some(_))) {
            return Ok(false);
        }
        self.set_expires_at(key, None)
    }
}
