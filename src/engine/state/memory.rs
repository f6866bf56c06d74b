//! The engine's memory budget: one setting that bounds the anonymous memory of a store, how
//! it is split between the parts that hold memory, and what they hold now.
//!
//! Values never count here: they live in segment files, which the kernel's page cache holds
//! and can drop. What the engine itself keeps is bookkeeping, split like this:
//!
//! | part | share of the budget | bounded by |
//! |---|---|---|
//! | index cache (redb's page cache and write buffer) | 1/16 | redb's cache size |
//! | location cache | 1/8 | its slot count (64 bytes a slot, touched as used) |
//! | eviction policy tables | at most 3/64 | sized for a capacity of at most 16x the budget |
//! | staged changes (two generations) | what is left after the headroom, about 1/2 | a checkpoint once one generation's estimate reaches half of its share |
//! | headroom | 1/4 | not set: what redb and the allocator take beyond the caches (page bookkeeping of a commit, freed memory the allocator keeps) |
//!
//! Settings given explicitly (`index_cache_bytes`, `location_cache_entries`, `commit_batch`)
//! take precedence over the split; the stats report what each part holds either way.

/// Default memory budget: 128 MiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 128 << 20;
/// Smallest budget accepted: 4 MiB.
pub const MIN_MEMORY_BUDGET: u64 = 4 << 20;
/// What a staged change takes in memory besides its key bytes: its slot in a hash map
/// (key pointer and location) at the map's load factor, and the allocation that holds the
/// key. Measured: 262144 changes of 20-byte keys held about 45 MiB over two generations.
pub const STAGED_BYTES_PER_CHANGE: u64 = 128;
/// Bytes of one location cache slot.
const LOCATION_SLOT_BYTES: u64 = 64;
/// Policy tables are sized for a capacity of at most this many times the budget (their
/// size grows with the capacity up to a fixed cap).
const POLICY_CAPACITY_PER_BUDGET_BYTE: u64 = 16;

/// How a store's memory budget is split (see the module doc). Made once at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The budget.
    pub budget: u64,
    /// Bytes of index pages redb may keep.
    pub index_cache_bytes: usize,
    /// Slots of the location cache.
    pub location_slots: usize,
    /// Estimated bytes of changes one generation of staged changes may hold before a
    /// checkpoint is due.
    pub staged_bytes: u64,
    /// Staged changes that make a checkpoint due whatever their size (`commit_batch`).
    pub staged_changes: usize,
    /// The capacity the eviction policy's tables are sized for, at most.
    pub policy_capacity: u64,
}

/// Explicit settings that take precedence over the budget's split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryOverrides {
    /// `index_cache_bytes`.
    pub index_cache_bytes: Option<usize>,
    /// `location_cache_entries`.
    pub location_slots: Option<usize>,
    /// `commit_batch`.
    pub staged_changes: Option<usize>,
}

impl MemoryPlan {
    /// Splits `budget` (at least [`MIN_MEMORY_BUDGET`]; the builder checks it).
    pub fn new(budget: u64, overrides: MemoryOverrides) -> Self {
        let index_cache_bytes = overrides
            .index_cache_bytes
            .unwrap_or((budget / 16) as usize);
        let location_slots = overrides.location_slots.unwrap_or_else(|| {
            // A power of two: the cache rounds its size up to one.
            let slots = (budget / 8 / LOCATION_SLOT_BYTES).max(2);
            1 << slots.ilog2()
        });
        let policy_share = budget * 3 / 64;
        let headroom = budget / 4;
        let staged_share = budget
            .saturating_sub(index_cache_bytes as u64)
            .saturating_sub(location_slots as u64 * LOCATION_SLOT_BYTES)
            .saturating_sub(policy_share)
            .saturating_sub(headroom)
            .max(budget / 16);
        // Two generations: the changes a checkpoint commits and the ones staged meanwhile.
        let staged_bytes = staged_share / 2;
        Self {
            budget,
            index_cache_bytes,
            location_slots,
            staged_bytes,
            staged_changes: overrides.staged_changes.unwrap_or(usize::MAX),
            policy_capacity: budget * POLICY_CAPACITY_PER_BUDGET_BYTE,
        }
    }
}

/// What the parts of the budget hold at one moment (fields of `stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes of index pages redb holds (read cache and write buffer).
    pub index_cache: u64,
    /// Bytes of the location cache's table (an upper bound: the kernel hands its pages out
    /// as slots are first used).
    pub locations: u64,
    /// Estimated bytes of the staged changes.
    pub staged: u64,
    /// Bytes of the eviction policy's tables.
    pub policy: u64,
}

impl MemoryUsage {
    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.index_cache + self.locations + self.staged + self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_split_stays_within_the_budget() {
        for budget in [MIN_MEMORY_BUDGET, 32 << 20, DEFAULT_MEMORY_BUDGET, 1 << 30] {
            let plan = MemoryPlan::new(budget, MemoryOverrides::default());
            let parts = plan.index_cache_bytes as u64
                + plan.location_slots as u64 * LOCATION_SLOT_BYTES
                + 2 * plan.staged_bytes
                + budget * 3 / 64
                + budget / 4;
            assert!(parts <= budget, "{budget}: parts take {parts}");
            assert!(plan.location_slots.is_power_of_two());
            assert!(plan.staged_bytes >= budget / 8, "{budget}: {plan:?}");
        }
    }

    #[test]
    fn the_default_budget_keeps_todays_sizes() {
        let plan = MemoryPlan::new(DEFAULT_MEMORY_BUDGET, MemoryOverrides::default());
        assert_eq!(plan.index_cache_bytes, 8 << 20);
        assert_eq!(plan.location_slots, 1 << 18);
        // About 230k staged changes of 20-byte keys per checkpoint.
        let changes = plan.staged_bytes / (20 + STAGED_BYTES_PER_CHANGE);
        assert!((200_000..300_000).contains(&changes), "{changes}");
    }

    #[test]
    fn explicit_settings_win() {
        let plan = MemoryPlan::new(
            DEFAULT_MEMORY_BUDGET,
            MemoryOverrides {
                index_cache_bytes: Some(1 << 20),
                location_slots: Some(0),
                staged_changes: Some(64),
            },
        );
        assert_eq!(plan.index_cache_bytes, 1 << 20);
        assert_eq!(plan.location_slots, 0);
        assert_eq!(plan.staged_changes, 64);
    }
}
