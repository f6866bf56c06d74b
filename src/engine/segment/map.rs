//! The open segments by id, shared between readers and the writer.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::file::Segment;

/// Every open segment by id. Readers look segments up here without the writer lock;
/// only the [`SegmentWriter`](super::SegmentWriter) adds or removes them.
#[derive(Default)]
pub struct SegmentMap {
    open: RwLock<HashMap<u32, Arc<Segment>>>,
}

impl SegmentMap {
    /// The open segment `id`, if any. The `Arc` keeps its mapping alive for the caller
    /// even if the segment is deleted meanwhile.
    pub fn get(&self, id: u32) -> Option<Arc<Segment>> {
        self.open.read().get(&id).cloned()
    }

    /// Runs `f` on the open segment `id`, if any, without taking a reference to it: the
    /// segment stays open until `f` returns (keep `f` short; it holds off the writer's
    /// changes to the map).
    pub fn with<T>(&self, id: u32, f: impl FnOnce(&Segment) -> T) -> Option<T> {
        self.open.read().get(&id).map(|segment| f(segment))
    }

    /// A copy of the whole map (for a long scan that should not hold the lock).
    pub fn snapshot(&self) -> HashMap<u32, Arc<Segment>> {
        self.open.read().clone()
    }

    /// The open segments among `ids`, in the order of `ids`.
    pub fn some(&self, ids: impl IntoIterator<Item = u32>) -> Vec<Arc<Segment>> {
        let open = self.open.read();
        ids.into_iter()
            .filter_map(|id| open.get(&id).cloned())
            .collect()
    }

    pub(super) fn insert(&self, segment: Arc<Segment>) {
        self.open.write().insert(segment.id(), segment);
    }

    pub(super) fn remove(&self, id: u32) -> Option<Arc<Segment>> {
        self.open.write().remove(&id)
    }

    pub(super) fn replace_all(&self, segments: HashMap<u32, Arc<Segment>>) {
        *self.open.write() = segments;
    }
}
