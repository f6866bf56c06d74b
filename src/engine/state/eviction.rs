//! What eviction knows about reads, by policy.
//!
//! - [`EvictionPolicy::Lru`]: one log. Eviction drains the oldest segment; records read
//!   in the last lap or so move forward (second chances), the rest go ([`AccessBits`]).
//! - [`EvictionPolicy::S3Fifo`] (S3-FIFO, Yang et al., SOSP 2023, fitted to append-only
//!   segments): new entries go to a probation log that eviction keeps to a tenth of the
//!   budget; a record read while on probation moves to the main log as it leaves, one that
//!   was not is evicted and its key kept as a ghost ([`Ghosts`]); an insert of a ghost goes
//!   to the main log directly. The main log reinserts records read since their last pass,
//!   up to three passes ([`ReadCounts`]). One-pass scans and one-hit wonders thus take only
//!   the probation share, not the whole store.
//!
//! The tables are saved at checkpoints (one blob) and restored at open, so a reopened
//! store neither forgets its hot set nor admits its ghosts to probation again.

use serde::{Deserialize, Serialize};

use super::AccessBits;
use super::ghosts::Ghosts;
use super::read_counts::ReadCounts;
use crate::engine::segment::Log;

/// How the disk tier chooses what to evict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    /// Segment FIFO with second chances for recently read records: close to exact LRU.
    Lru,
    /// S3-FIFO: a probation log for new entries, a ghost list, and a main log with
    /// frequency-based reinsertion. Resists scans and one-hit wonders.
    #[default]
    S3Fifo,
}

impl EvictionPolicy {
    /// The policy's name as the CLI and stats spell it.
    pub fn name(self) -> &'static str {
        match self {
            EvictionPolicy::Lru => "lru",
            EvictionPolicy::S3Fifo => "s3-fifo",
        }
    }
}

impl std::str::FromStr for EvictionPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lru" => Ok(EvictionPolicy::Lru),
            "s3-fifo" | "s3fifo" => Ok(EvictionPolicy::S3Fifo),
            other => Err(format!(
                "unknown eviction policy {other:?} (expected lru or s3-fifo)"
            )),
        }
    }
}

/// The probation log's share of the budget: a tenth.
const PROBATION_SHARE: u64 = 10;

/// Marks the saved form of the S3-FIFO tables (the LRU bits are saved bare, as before).
const S3FIFO_TAG: &[u8; 8] = b"S3FIFO01";

enum Tables {
    Lru(AccessBits),
    S3Fifo { reads: ReadCounts, ghosts: Ghosts },
}

/// The read history eviction decides by; see the module doc.
pub struct Eviction {
    tables: Tables,
}

impl Eviction {
    /// The tables of `policy` for a store of `capacity` bytes.
    pub fn new(policy: EvictionPolicy, capacity: u64) -> Self {
        let tables = match policy {
            EvictionPolicy::Lru => Tables::Lru(AccessBits::for_capacity(capacity)),
            EvictionPolicy::S3Fifo => Tables::S3Fifo {
                reads: ReadCounts::for_capacity(capacity),
                // Until eviction says how many entries the store holds: 4 KiB each.
                ghosts: Ghosts::for_capacity(capacity, capacity / 4096),
            },
        };
        Self { tables }
    }

    /// Bytes of the tables.
    pub fn table_bytes(&self) -> u64 {
        match &self.tables {
            Tables::Lru(bits) => bits.table_bytes(),
            Tables::S3Fifo { reads, ghosts } => reads.table_bytes() + ghosts.table_bytes(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> EvictionPolicy {
        match self.tables {
            Tables::Lru(_) => EvictionPolicy::Lru,
            Tables::S3Fifo { .. } => EvictionPolicy::S3Fifo,
        }
    }

    /// Counts a read of `key`.
    pub fn read(&self, key: &[u8]) {
        match &self.tables {
            Tables::Lru(bits) => bits.mark(key),
            Tables::S3Fifo { reads, .. } => reads.add(key),
        }
    }

    /// Starts loading the memory [`Self::read`] of `key` will touch (call it early in a
    /// read, so the load overlaps the rest).
    pub fn prefetch(&self, key: &[u8]) {
        match &self.tables {
            Tables::Lru(bits) => bits.prefetch(key),
            Tables::S3Fifo { reads, .. } => reads.prefetch(key),
        }
    }

    /// The log a new record of `key` is appended to.
    pub fn log_for_insert(&self, key: &[u8]) -> Log {
        match &self.tables {
            Tables::S3Fifo { ghosts, .. } if !ghosts.contains(key) => Log::Probation,
            _ => Log::Main,
        }
    }

    /// Whether eviction, draining a segment of `log`, moves `key`'s record forward (into
    /// the main log) rather than dropping it. Takes the read that earns the move.
    pub fn keeps(&self, key: &[u8], log: Log) -> bool {
        match (&self.tables, log) {
            (Tables::Lru(bits), _) => bits.recently_read(key),
            (Tables::S3Fifo { reads, .. }, Log::Probation) => reads.reset(key),
            (Tables::S3Fifo { reads, .. }, Log::Main) => reads.take_one(key),
        }
    }

    /// Eviction dropped `key`'s record from a segment of `log`.
    pub fn dropped(&self, key: &[u8], log: Log) {
        if let (Tables::S3Fifo { ghosts, .. }, Log::Probation) = (&self.tables, log) {
            ghosts.add(key);
        }
    }

    /// How many bytes the probation log may take out of `budget` before eviction drains
    /// it first; `None` when the policy has one log.
    pub fn probation_share(&self, budget: u64) -> Option<u64> {
        match self.tables {
            Tables::Lru(_) => None,
            Tables::S3Fifo { .. } => Some(budget / PROBATION_SHARE),
        }
    }

    /// Eviction drained `bytes`; the store now holds `live_entries` entries.
    pub fn note_drained(&self, bytes: u64, live_entries: u64) {
        match &self.tables {
            Tables::Lru(bits) => bits.note_drained(bytes),
            Tables::S3Fifo { ghosts, .. } => ghosts.set_limit(live_entries),
        }
    }

    /// Adapts to a new capacity (table sizes stay).
    pub fn set_capacity(&self, capacity: u64) {
        if let Tables::Lru(bits) = &self.tables {
            bits.set_capacity(capacity);
        }
    }

    /// True when the tables changed since the last snapshot.
    pub fn changed(&self) -> bool {
        match &self.tables {
            Tables::Lru(bits) => bits.changed(),
            Tables::S3Fifo { reads, ghosts } => reads.changed() || ghosts.changed(),
        }
    }

    /// The tables as bytes, if they changed since the last call.
    pub fn snapshot_if_changed(&self) -> Option<Vec<u8>> {
        match &self.tables {
            Tables::Lru(bits) => bits.snapshot_if_changed(),
            Tables::S3Fifo { reads, ghosts } => {
                if !self.changed() {
                    return None;
                }
                let mut saved = S3FIFO_TAG.to_vec();
                saved.extend(reads.snapshot());
                saved.extend(ghosts.snapshot());
                Some(saved)
            }
        }
    }

    /// Restores tables saved by [`Self::snapshot_if_changed`]. Tables of another policy
    /// or size (the capacity changed) are ignored: that costs one lap of read history.
    pub fn restore(&self, saved: &[u8]) {
        match &self.tables {
            Tables::Lru(bits) => {
                if !saved.starts_with(S3FIFO_TAG) {
                    bits.restore(saved)
                }
            }
            Tables::S3Fifo { reads, ghosts } => {
                let Some(rest) = saved.strip_prefix(S3FIFO_TAG) else {
                    return;
                };
                if rest.len() == reads.snapshot_len() + ghosts.snapshot_len() {
                    let (counts, ghost_bits) = rest.split_at(reads.snapshot_len());
                    reads.restore(counts);
                    ghosts.restore(ghost_bits);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3fifo_promotes_read_probation_records_and_remembers_dropped_ones() {
        let eviction = Eviction::new(EvictionPolicy::S3Fifo, 1 << 20);
        assert_eq!(eviction.log_for_insert(b"new"), Log::Probation);
        eviction.read(b"hot");
        assert!(eviction.keeps(b"hot", Log::Probation));
        // The read was spent on the promotion: unread since, it leaves main.
        assert!(!eviction.keeps(b"hot", Log::Main));
        assert!(!eviction.keeps(b"cold", Log::Probation));
        eviction.dropped(b"cold", Log::Probation);
        assert_eq!(eviction.log_for_insert(b"cold"), Log::Main);
    }

    #[test]
    fn tables_of_another_policy_are_ignored() {
        let s3 = Eviction::new(EvictionPolicy::S3Fifo, 1 << 20);
        s3.read(b"k");
        let saved = s3.snapshot_if_changed().unwrap();
        let lru = Eviction::new(EvictionPolicy::Lru, 1 << 20);
        lru.restore(&saved);
        assert!(!lru.keeps(b"k", Log::Main));
        let again = Eviction::new(EvictionPolicy::S3Fifo, 1 << 20);
        again.restore(&saved);
        assert!(again.keeps(b"k", Log::Main));
    }
}
