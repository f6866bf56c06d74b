//! The policies that join the tiers, and per-call options.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When a hit in a lower tier copies the value into the tiers above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Promotion {
    /// On every lower-tier hit (the default).
    #[default]
    Always,
    /// Once a key has been hit this many times in lower tiers (1 to 15; `open()` refuses
    /// more). Hits are counted approximately in a fixed 2 MiB frequency sketch that ages
    /// (halves every count after each 2^20 lower-tier hits), saved with the disk store when
    /// the cache closes; once a key has reached the count, each of its lower-tier hits
    /// promotes it until its count ages below.
    AfterHits(u32),
    /// Never: each tier only holds what was written to it.
    Never,
}

/// When a write-through write also puts the value in the memory tier.
///
/// Holding a value back from memory until it is read again keeps one-hit wonders (a value
/// written and never read again, like most loads in a scan) out of one of the two tiers,
/// and sends its first read to the disk tier, whose eviction policy then sees that the key
/// is read: a value served only from memory looks unread to the disk tier, which lets it go
/// first. A key the memory tier already holds always has its value replaced there. Every
/// variant acts as `OnInsert` with [`Promotion::Never`] or without a tier below memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MemoryAdmission {
    /// Values a loader produced (`get_with` and friends) go to memory once read again (as
    /// [`Promotion`] says); values the caller inserts go to memory at once (the default).
    #[default]
    LoadsOnRead,
    /// Every value goes to memory once read again, inserted or loaded.
    OnRead,
    /// Every value goes to memory when written.
    OnInsert,
}

/// Where writes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WritePolicy {
    /// Every tier, lowest (most durable) first (the default). `insert` returns after the
    /// disk tier accepted the value; `flush` makes it durable.
    #[default]
    WriteThrough,
    /// The memory tier only; a value moves down when the memory tier evicts it for space,
    /// and at `flush` / `close`. A crash loses the values that had not moved down yet.
    WriteBack,
}

/// Which tiers one insert goes to (overrides the write policy for that call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Placement {
    /// As the write policy and the memory admission say (the default).
    #[default]
    Default,
    /// The memory tier only, for short-lived values; older copies in other tiers are removed.
    MemoryOnly,
    /// Every tier but memory (large values read rarely); an older memory copy is removed.
    SkipMemory,
}

/// Options for one insert: TTL, tags and placement.
#[derive(Debug, Clone, Default)]
pub struct InsertOptions {
    pub(crate) ttl: Option<Duration>,
    pub(crate) tags: Vec<String>,
    pub(crate) placement: Placement,
}

impl InsertOptions {
    /// Defaults: the cache's default TTL, no tags, placement by write policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expire the value `ttl` from now (instead of the cache's default TTL).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Tag the value; `Cache::invalidate_tag` retires every value carrying a tag.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Choose the tiers for this value.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }
}
