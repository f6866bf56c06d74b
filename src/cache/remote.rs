//! Applying changes that other caches announce on the shared tier's channel: their
//! overwrites and removes drop this cache's local copies (memory and disk), their tag
//! invalidations are adopted, and after an interruption the memory tier starts over.

use crate::cache::core::CacheInner;
use crate::cache::tier::TierKind;
use crate::cache::tier::redis::messages::Remote;

impl CacheInner {
    /// Applies one change announced by another cache.
    pub fn on_remote(&self, change: Remote) {
        let local = || {
            self.slots
                .iter()
                .filter(|s| s.tier.kind() != TierKind::Redis)
        };
        match change {
            Remote::Key(key) => {
                #[cfg(feature = "redis")]
                self.remote_waits.wake(&key);
                self.clear_dirty(&key);
                for slot in local() {
                    if let Err(e) = slot.tier.remove(&key) {
                        self.tier_failed(slot, "drop (remote change)", &key, &e);
                    }
                }
            }
            Remote::Prefix(prefix) => {
                if self.write_back() {
                    self.dirty.lock().retain(|k, _| !k.starts_with(&prefix));
                }
                for slot in local() {
                    if let Err(e) = slot.tier.remove_prefix(&prefix) {
                        self.tier_failed(slot, "drop prefix (remote change)", &prefix, &e);
                    }
                }
            }
            Remote::Tag(tag, generation) => {
                if let Err(e) = self.tags.adopt(&tag, generation) {
                    log::warn!(
                        "stratacache: could not adopt generation {generation} of tag {tag:?}: {e}"
                    );
                }
            }
            Remote::Gap => {
                log::warn!(
                    "stratacache: invalidation messages may have been missed; clearing the memory tier"
                );
                if let Err(e) = self.flush_dirty() {
                    log::error!("stratacache: moving write-back values down failed: {e}");
                }
                if let Some(memory) = &self.memory {
                    memory.clear();
                }
                #[cfg(feature = "redis")]
                self.remote_waits.wake_all();
            }
        }
    }
}
