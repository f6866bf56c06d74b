//! Tag generations. Every tag has a generation number, 0 until the tag is first
//! invalidated; a value records the generation of each of its tags when it is written, and
//! is stale once any of them moved on. Invalidating a tag is one durable write however many
//! values carry it; stale values are dropped when a read finds them (or evicted in time).
//!
//! The generations live in the disk store's index (as user meta `tag:<name>`, see
//! `tag_rows`), so an invalidation survives restarts; without a disk tier they live in
//! memory only. Opening reads none of them: a tag's generation is read (one point lookup)
//! the first time a value with that tag is written or read, and kept in a bounded table in
//! memory. The rows are pruned into per-bucket floors once there are too many (`tag_rows`).
//!
//! Generations only grow, and a new one is at least the current time in ms, so caches that
//! share values through Redis agree without coordination: a value stamped with a newer
//! generation than this cache knows proves the tag moved on elsewhere, and the cache adopts
//! it; a value stamped with an older one is stale everywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use parking_lot::RwLock;

use crate::cache::envelope::EnvelopeView;
use crate::cache::stats::bump;
use crate::cache::tag_rows::{Floors, MAX_ROWS, PRUNE_BATCH, TagRows};
use crate::clock::Clock;
use crate::engine::DiskStore;
use crate::error::Result;

/// Tags whose generation is kept in memory at most (about 100 bytes each).
const KNOWN_TAGS: usize = 1 << 14;

/// A tag's generation as far as this cache knows, and whether it has a row.
#[derive(Debug, Clone, Copy)]
struct Known {
    generation: u64,
    row: bool,
}

/// The generations of tags: read lazily from their rows, kept in a bounded table.
pub struct TagRegistry {
    rows: TagRows,
    /// The generation of tags without a row.
    floors: RwLock<Floors>,
    /// Tags looked up lately, with or without a row.
    known: quick_cache::sync::Cache<String, Known>,
    /// Held shared while a lookup copies a row into `known`, exclusively while a row or a
    /// floor changes: a generation read before a change never lands in `known` after it.
    changing: RwLock<()>,
    clock: Arc<dyn Clock>,
    /// Rows read from the disk store by point lookups.
    lookups: AtomicU64,
    /// Rows pruned into floors.
    pruned: AtomicU64,
    /// Rows this process added since it last counted them all.
    added: AtomicU64,
    /// This process counted the rows already (it does at its first new row).
    counted: AtomicBool,
}

impl TagRegistry {
    /// A registry over the rows in `store` (in memory without one). Reads no row: only the
    /// floors, one blob that exists once rows were pruned.
    pub fn load(store: Option<Arc<DiskStore>>, clock: Arc<dyn Clock>) -> Result<Self> {
        let rows = TagRows::new(store);
        let floors = rows.load_floors(clock.now_ms())?;
        Ok(Self {
            rows,
            floors: RwLock::new(floors),
            known: quick_cache::sync::Cache::new(KNOWN_TAGS),
            changing: RwLock::new(()),
            clock,
            lookups: AtomicU64::new(0),
            pruned: AtomicU64::new(0),
            added: AtomicU64::new(0),
            counted: AtomicBool::new(false),
        })
    }

    /// Checks tag names and pairs each with its current generation.
    pub fn stamp<'a>(&self, tags: &'a [String]) -> Result<Vec<(&'a str, u64)>> {
        crate::limits::check_tags(tags)?;
        tags.iter()
            .map(|tag| Ok((tag.as_str(), self.lookup(tag)?.generation)))
            .collect()
    }

    /// True when none of the value's tags was invalidated since it was written. A tag
    /// stamped newer than known here is adopted (another cache invalidated it). An error
    /// reading a generation is returned (the caller treats the value as a miss).
    pub fn is_current(&self, view: &EnvelopeView<'_>) -> Result<bool> {
        if view.is_untagged() {
            return Ok(true);
        }
        let mut current = true;
        let mut newer = Vec::new();
        for stamp in view.tags() {
            let known = self.lookup(stamp.name)?.generation;
            if stamp.generation > known {
                newer.push((stamp.name, stamp.generation));
            }
            current &= stamp.generation >= known;
        }
        for (tag, generation) in newer {
            if let Err(e) = self.adopt(tag, generation) {
                log::warn!(
                    "stratacache: could not save generation {generation} of tag {tag:?}: {e}"
                );
            }
        }
        Ok(current)
    }

    /// Moves `tag` to a new generation (at least the current time in ms), durably when
    /// there is a disk tier. Returns the new generation.
    pub fn invalidate(&self, tag: &str) -> Result<u64> {
        crate::limits::check_tags(&[tag])?;
        let _changing = self.changing.write();
        let before = self.lookup_locked(tag)?;
        let next = (before.generation + 1).max(self.clock.now_ms());
        self.set_locked(tag, next, before)?;
        Ok(next)
    }

    /// Raises `tag` to `generation` if that is newer than known (learned from another
    /// cache); durable when there is a disk tier.
    pub fn adopt(&self, tag: &str, generation: u64) -> Result<()> {
        crate::limits::check_tags(&[tag])?;
        let _changing = self.changing.write();
        let before = self.lookup_locked(tag)?;
        if before.generation >= generation {
            return Ok(());
        }
        self.set_locked(tag, generation, before)
    }

    /// Rows read from the disk store by point lookups since the cache opened.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Relaxed)
    }

    /// Rows pruned into floors since the cache opened.
    pub fn pruned(&self) -> u64 {
        self.pruned.load(Relaxed)
    }

    /// The generation of `tag`: from memory, or read once from its row (or its floor).
    fn lookup(&self, tag: &str) -> Result<Known> {
        if let Some(known) = self.known.get(tag) {
            return Ok(known);
        }
        let _reading = self.changing.read();
        self.lookup_locked(tag)
    }

    /// [`Self::lookup`] for a caller holding `changing` (shared or exclusive).
    fn lookup_locked(&self, tag: &str) -> Result<Known> {
        if let Some(known) = self.known.get(tag) {
            return Ok(known);
        }
        if self.rows.on_disk() {
            bump(&self.lookups);
        }
        let known = match self.rows.get(tag)? {
            Some(generation) => Known {
                generation,
                row: true,
            },
            None => Known {
                generation: self.floors.read().of(tag),
                row: false,
            },
        };
        self.known.insert(tag.to_string(), known);
        Ok(known)
    }

    /// Writes the row of `tag` (under `changing`, exclusively), then prunes when rows
    /// were added enough. A failed prune is only logged: the generation is saved.
    fn set_locked(&self, tag: &str, generation: u64, before: Known) -> Result<()> {
        self.rows.set(tag, generation)?;
        self.known.insert(
            tag.to_string(),
            Known {
                generation,
                row: true,
            },
        );
        if !before.row {
            let added = self.added.fetch_add(1, Relaxed) + 1;
            if (!self.counted.load(Relaxed) || added >= PRUNE_BATCH as u64)
                && let Err(e) = self.prune_locked()
            {
                log::warn!("stratacache: could not prune tag generations: {e}");
            }
        }
        Ok(())
    }

    /// Counts the rows and, past [`MAX_ROWS`], folds the oldest into the floors until
    /// `MAX_ROWS - PRUNE_BATCH` are left. Each process does this at its first new row (the
    /// rows may come from before it) and then once per `PRUNE_BATCH` new rows, so the rows
    /// read here are a few per invalidation, not a cost of opening.
    fn prune_locked(&self) -> Result<()> {
        let mut rows = self.rows.all()?;
        self.counted.store(true, Relaxed);
        self.added.store(0, Relaxed);
        if rows.len() <= MAX_ROWS {
            return Ok(());
        }
        rows.sort_unstable();
        let pruned = &rows[..rows.len() - (MAX_ROWS - PRUNE_BATCH)];
        let floors = self.floors.read().raised(pruned);
        self.rows.prune(pruned, &floors)?;
        *self.floors.write() = floors;
        // Tags without a row may have a higher floor now.
        self.known.clear();
        self.pruned.fetch_add(pruned.len() as u64, Relaxed);
        log::info!(
            "stratacache: pruned {} tag generations into their floors",
            pruned.len()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::envelope;
    use crate::cache::value_codec::PayloadKind;
    use crate::clock::ManualClock;

    fn view_of(tags: &[(&str, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        envelope::write_header(&mut out, None, tags, PayloadKind::Bytes);
        out
    }

    fn current(registry: &TagRegistry, tags: &[(&str, u64)]) -> bool {
        let bytes = view_of(tags);
        registry
            .is_current(&envelope::decode(&bytes).unwrap())
            .unwrap()
    }

    /// Without a disk tier the rows are bounded too, and a pruned invalidation still
    /// retires what it retired.
    #[test]
    fn rows_in_memory_are_bounded_and_pruned_invalidations_hold() {
        let clock = ManualClock::new(1_000);
        let registry = TagRegistry::load(None, clock.clone()).unwrap();
        let old = vec!["t0".to_string(), "t1".to_string()];
        let stamped_old: Vec<(&str, u64)> = registry.stamp(&old).unwrap();
        assert_eq!(stamped_old, [("t0", 0), ("t1", 0)]);
        let n = MAX_ROWS + PRUNE_BATCH;
        for i in 0..n {
            registry.invalidate(&format!("t{i}")).unwrap();
            clock.advance(std::time::Duration::from_millis(1));
        }
        assert!(registry.rows.all().unwrap().len() <= MAX_ROWS);
        assert!(registry.pruned() >= PRUNE_BATCH as u64);
        assert!(!current(&registry, &stamped_old), "t0 and t1 were pruned");
        // Stamped after the invalidations: current, pruned row or not.
        let fresh = registry.stamp(&old).unwrap();
        assert!(current(&registry, &fresh));
        let last = format!("t{}", n - 1);
        assert!(!current(&registry, &[(last.as_str(), 0)]), "kept row");
    }

    #[test]
    fn a_newer_stamp_is_adopted() {
        let clock = ManualClock::new(1_000);
        let registry = TagRegistry::load(None, clock).unwrap();
        assert!(current(&registry, &[("t", 5_000)]));
        assert!(!current(&registry, &[("t", 4_999)]));
        assert_eq!(registry.invalidate("t").unwrap(), 5_001);
    }
}
