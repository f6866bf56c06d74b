//! The cache's tiers, each behind the [`Tier`] trait: memory, disk and (feature `redis`)
//! Redis, with the Redis-only helpers under `redis/`. Tiers store envelopes as opaque bytes
//! with an absolute expiry; the facade above does the rest. Nothing here calls up into it.

mod api;
mod blob;
pub(crate) mod disk;
mod kind;
pub(crate) mod memory;
pub(crate) mod redis;

pub use api::Evictions;
pub(crate) use api::{InsertItem, Tier, TierValue, Usage};
pub(crate) use blob::Blob;
pub use blob::CachedBytes;
pub use kind::TierKind;
