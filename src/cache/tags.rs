//! Tag generations. Every tag has a generation number, 0 until the tag is first
//! invalidated; a value records the generation of each of its tags when it is written, and
//! is stale once any of them moved on. Invalidating a tag is one durable write however many
//! values carry it; stale values are dropped when a read finds them (or evicted in time).
//!
//! The generations live in the disk store's index (as user meta `tag:<name>`), so an
//! invalidation survives restarts; without a disk tier they live in memory only.
//!
//! Generations only grow, and a new one is at least the current time in ms, so caches that
//! share values through Redis agree without coordination: a value stamped with a newer
//! generation than this cache knows proves the tag moved on elsewhere, and the cache adopts
//! it; a value stamped with an older one is stale everywhere.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::cache::envelope::EnvelopeView;
use crate::clock::Clock;
use crate::engine::DiskStore;
use crate::error::Result;

const META_PREFIX: &str = "tag:";

/// The current generation of every tag that was ever invalidated.
pub struct TagRegistry {
    generations: RwLock<HashMap<String, u64>>,
    store: Option<Arc<DiskStore>>,
    clock: Arc<dyn Clock>,
}

impl TagRegistry {
    /// Loads the generations saved in `store` (if any).
    pub fn load(store: Option<Arc<DiskStore>>, clock: Arc<dyn Clock>) -> Result<Self> {
        let mut generations = HashMap::new();
        if let Some(store) = &store {
            for (name, generation) in store.user_meta()? {
                if let Some(tag) = name.strip_prefix(META_PREFIX) {
                    generations.insert(tag.to_string(), generation);
                }
            }
        }
        Ok(Self {
            generations: RwLock::new(generations),
            store,
            clock,
        })
    }

    /// Checks tag names and pairs each with its current generation.
    pub fn stamp<'a>(&self, tags: &'a [String]) -> Result<Vec<(&'a str, u64)>> {
        crate::limits::check_tags(tags)?;
        let generations = self.generations.read();
        Ok(tags
            .iter()
            .map(|tag| (tag.as_str(), generations.get(tag).copied().unwrap_or(0)))
            .collect())
    }

    /// True when none of the value's tags was invalidated since it was written. A tag
    /// stamped newer than known here is adopted (another cache invalidated it).
    pub fn is_current(&self, view: &EnvelopeView<'_>) -> bool {
        if view.is_untagged() {
            return true;
        }
        let mut newer = Vec::new();
        let current = {
            let generations = self.generations.read();
            view.tags().all(|t| {
                let known = generations.get(t.name).copied().unwrap_or(0);
                if t.generation > known {
                    newer.push((t.name.to_string(), t.generation));
                }
                t.generation >= known
            })
        };
        for (tag, generation) in newer {
            if let Err(e) = self.adopt(&tag, generation) {
                log::warn!(
                    "stratacache: could not save generation {generation} of tag {tag:?}: {e}"
                );
            }
        }
        current
    }

    /// Moves `tag` to a new generation (at least the current time in ms), durably when
    /// there is a disk tier. Returns the new generation.
    pub fn invalidate(&self, tag: &str) -> Result<u64> {
        crate::limits::check_tags(&[tag])?;
        let mut generations = self.generations.write();
        let known = generations.get(tag).copied().unwrap_or(0);
        let next = (known + 1).max(self.clock.now_ms());
        self.save(tag, next)?;
        generations.insert(tag.to_string(), next);
        Ok(next)
    }

    /// Raises `tag` to `generation` if that is newer than known (learned from another
    /// cache); durable when there is a disk tier.
    pub fn adopt(&self, tag: &str, generation: u64) -> Result<()> {
        crate::limits::check_tags(&[tag])?;
        let mut generations = self.generations.write();
        if generations.get(tag).copied().unwrap_or(0) >= generation {
            return Ok(());
        }
        self.save(tag, generation)?;
        generations.insert(tag.to_string(), generation);
        Ok(())
    }

    fn save(&self, tag: &str, generation: u64) -> Result<()> {
        match &self.store {
            Some(store) => store.set_user_meta(&format!("{META_PREFIX}{tag}"), generation),
            None => Ok(()),
        }
    }
}
