//! Bytes handed out by the cache: shared with the memory tier or borrowed from a disk
//! segment's mapping.

use std::ops::Deref;
use std::sync::Arc;

use super::kind::TierKind;
use crate::cache::value_codec::{PayloadKind, ValueCodec};
use crate::engine::ValueRef;

/// A value's bytes as a tier returned them.
pub enum Blob {
    /// Shared with the memory tier (no copy).
    Shared(Arc<[u8]>),
    /// Borrowed from a disk segment mapping (no copy for uncompressed values).
    Disk(ValueRef),
    /// Owned bytes (read from Redis).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Owned(Vec<u8>),
    /// Owned bytes from an offset on (a Redis frame holding the value after its header).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    OwnedFrom(Vec<u8>, usize),
}

impl Blob {
    /// The bytes as an `Arc<[u8]>`, copying unless they are already shared.
    pub fn into_shared(self) -> Arc<[u8]> {
        match self {
            Blob::Shared(bytes) => bytes,
            other => Arc::from(&*other),
        }
    }
}

impl Deref for Blob {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Blob::Shared(bytes) => bytes,
            Blob::Disk(value) => value,
            Blob::Owned(bytes) => bytes,
            Blob::OwnedFrom(bytes, start) => &bytes[*start..],
        }
    }
}

/// A cached value's payload (the envelope stripped), without a copy.
pub struct CachedBytes {
    blob: Blob,
    start: usize,
    source: TierKind,
    kind: PayloadKind,
}

impl CachedBytes {
    /// The payload of `blob`, which starts at `start`, as read from the `source` tier.
    pub(crate) fn new(blob: Blob, start: usize, source: TierKind, kind: PayloadKind) -> Self {
        debug_assert!(start <= blob.len());
        Self {
            blob,
            start,
            source,
            kind,
        }
    }

    /// The codec of a typed value (written by `Cache::insert` and friends); `None` for
    /// bytes stored as they are.
    pub fn codec(&self) -> Option<ValueCodec> {
        self.kind.codec()
    }

    /// What the bytes are: raw, text, a typed value in a codec, or a pickle.
    pub fn kind(&self) -> PayloadKind {
        self.kind
    }

    /// The value as JSON for people: JSON as it is, MessagePack converted; `None` for bytes
    /// and bincode values.
    pub fn to_json(&self) -> Option<Vec<u8>> {
        crate::cache::value_codec::to_json(self.kind, self)
    }

    /// The tier that answered the read (before any promotion copied the value up).
    pub fn source(&self) -> TierKind {
        self.source
    }

    /// Copies the payload into a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.deref().to_vec()
    }
}

impl Deref for CachedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.blob[self.start..]
    }
}

impl AsRef<[u8]> for CachedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for CachedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedBytes")
            .field("len", &self.len())
            .finish()
    }
}
