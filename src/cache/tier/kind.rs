//! The roles a tier can play.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The role of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TierKind {
    /// In-process, bytes-bounded memory.
    Memory,
    /// A shared Redis server or cluster.
    Redis,
    /// The local [`DiskStore`](crate::DiskStore).
    Disk,
}

impl TierKind {
    /// The lowercase name used in stats and metrics.
    pub fn name(self) -> &'static str {
        match self {
            TierKind::Memory => "memory",
            TierKind::Redis => "redis",
            TierKind::Disk => "disk",
        }
    }
}

impl fmt::Display for TierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
