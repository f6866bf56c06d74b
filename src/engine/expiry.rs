//! Changing an entry's expiry in place: an index change, never a rewrite of the value.
//!
//! The record keeps the expiry it was written with; the index entry holds the current one
//! (the read path checks the record against every other field of the entry).

use crate::engine::index::EntryLoc;
use crate::engine::state::{Counters, Engine, Pending};
use crate::error::Result;

impl Engine {
    /// Sets `key` to expire at `expires_at` (ms, 0 = never); a time already past removes it.
    /// Returns the previous expiry (`Some(0)` for none), `None` when absent or expired.
    pub fn set_expiry(&self, key: &[u8], expires_at: u64) -> Result<Option<u64>> {
        self.check_key(key)?;
        let previous = {
            let mut w = self.writer.lock();
            w.check_writable()?;
            let now = self.now_ms();
            let Some(loc) = self.lookup(key)?.filter(|l| !l.is_expired(now)) else {
                return Ok(None);
            };
            if expires_at != 0 && expires_at <= now {
                self.stage(&mut w, key, Pending::Remove);
                Counters::bump(&self.counters.removes);
            } else if loc.expires_at != expires_at {
                let moved = EntryLoc { expires_at, ..loc };
                self.stage(&mut w, key, Pending::Put(moved));
            }
            loc.expires_at
        };
        self.checkpoint_if_full()?;
        Ok(Some(previous))
    }
}
