//! Where tag generations live, and how their number stays bounded.
//!
//! A tag that was invalidated has a row: `tag:<name>` → generation, in the disk store's index
//! (user meta, read by point lookups), or in a map without a disk tier. Rows are pruned,
//! oldest generation first, once there are more than [`MAX_ROWS`]. A pruned row is not
//! forgotten: its generation raises the *floor* of its bucket (one of [`FLOOR_BUCKETS`], by
//! the tag's hash), and a tag without a row has its bucket's floor as its generation. Floors
//! only grow, so no value an invalidation retired comes back; the price is that values
//! stamped before a floor rose, with a tag of that bucket and no row, retire too.
//!
//! The floors are saved as the blob `cache.tag_floors` (before the rows they replace are
//! removed, so a crash between the two leaves both): 16-byte header (magic `sTF1`, bucket
//! bits, three reserved bytes, eight reserved bytes), then the floors as u64 LE,
//! lz4-compressed with their length in front. Until the first prune there is no blob and
//! every floor is 0.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cache::hash::stable_hash;
use crate::engine::DiskStore;
use crate::error::Result;

/// Rows kept at most (a prune brings them down to `MAX_ROWS - PRUNE_BATCH`).
pub const MAX_ROWS: usize = 1 << 16;
/// Rows removed by one prune, at least; also the new rows between two prunes.
pub const PRUNE_BATCH: usize = MAX_ROWS / 8;
/// log2 of the number of floors.
const FLOOR_BITS: u32 = 16;
/// Number of floors.
const FLOOR_BUCKETS: usize = 1 << FLOOR_BITS;
/// Prefix of the rows among the store's user meta.
const ROW_PREFIX: &str = "tag:";
/// Name of the saved floors among the store's blobs.
const FLOORS_BLOB: &str = "cache.tag_floors";
const FLOORS_MAGIC: [u8; 4] = *b"sTF1";
const FLOORS_HEADER: usize = 16;

/// The rows: in the disk store, or in memory.
pub enum TagRows {
    Disk(Arc<DiskStore>),
    Memory(Mutex<HashMap<String, u64>>),
}

impl TagRows {
    /// Rows in `store`, or in memory without one.
    pub fn new(store: Option<Arc<DiskStore>>) -> Self {
        match store {
            Some(store) => Self::Disk(store),
            None => Self::Memory(Mutex::default()),
        }
    }

    /// True for rows in a disk store.
    pub fn on_disk(&self) -> bool {
        matches!(self, Self::Disk(_))
    }

    /// The row of `tag` (a point lookup).
    pub fn get(&self, tag: &str) -> Result<Option<u64>> {
        match self {
            Self::Disk(store) => store.user_meta_get(&row_name(tag)),
            Self::Memory(rows) => Ok(rows.lock().get(tag).copied()),
        }
    }

    /// Sets the row of `tag`, durably on disk.
    pub fn set(&self, tag: &str, generation: u64) -> Result<()> {
        match self {
            Self::Disk(store) => store.set_user_meta(&row_name(tag), generation),
            Self::Memory(rows) => {
                rows.lock().insert(tag.to_string(), generation);
                Ok(())
            }
        }
    }

    /// Every row as (generation, tag), in no particular order (a full read: for pruning).
    pub fn all(&self) -> Result<Vec<(u64, String)>> {
        match self {
            Self::Disk(store) => {
                let mut out = Vec::new();
                store.visit_user_meta(ROW_PREFIX, |name, generation| {
                    out.push((generation, name[ROW_PREFIX.len()..].to_string()));
                    true
                })?;
                Ok(out)
            }
            Self::Memory(rows) => Ok(rows.lock().iter().map(|(t, g)| (*g, t.clone())).collect()),
        }
    }

    /// Saves `floors` (which must cover `pruned`), then removes the rows of `pruned`.
    pub fn prune(&self, pruned: &[(u64, String)], floors: &Floors) -> Result<()> {
        match self {
            Self::Disk(store) => {
                store.set_user_blob(FLOORS_BLOB, &floors.to_bytes())?;
                let names: Vec<String> = pruned.iter().map(|(_, t)| row_name(t)).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                store.update_user_meta(&[], &names)
            }
            Self::Memory(rows) => {
                let mut rows = rows.lock();
                for (_, tag) in pruned {
                    rows.remove(tag);
                }
                Ok(())
            }
        }
    }

    /// The saved floors (all 0 before the first prune). Floors that do not load are
    /// replaced by `fallback` in every bucket, which retires every value of a tag without
    /// a row stamped before it: too much, but never too little.
    pub fn load_floors(&self, fallback: u64) -> Result<Floors> {
        let Self::Disk(store) = self else {
            return Ok(Floors::default());
        };
        let Some(saved) = store.user_blob(FLOORS_BLOB)? else {
            return Ok(Floors::default());
        };
        Ok(Floors::from_bytes(&saved).unwrap_or_else(|| {
            log::error!(
                "stratacache: the saved tag floors do not load; every tag without a row counts as invalidated at {fallback}"
            );
            Floors(Some(vec![fallback; FLOOR_BUCKETS].into()))
        }))
    }
}

fn row_name(tag: &str) -> String {
    format!("{ROW_PREFIX}{tag}")
}

/// The generation of tags without a row, per bucket (`None`: all 0).
#[derive(Default, Clone)]
pub struct Floors(Option<Box<[u64]>>);

impl Floors {
    /// The floor of `tag`'s bucket.
    pub fn of(&self, tag: &str) -> u64 {
        self.0.as_ref().map_or(0, |f| f[bucket(tag)])
    }

    /// These floors raised to cover the generations of `pruned`.
    pub fn raised(&self, pruned: &[(u64, String)]) -> Self {
        let mut floors = self
            .0
            .clone()
            .unwrap_or_else(|| vec![0; FLOOR_BUCKETS].into());
        for (generation, tag) in pruned {
            let floor = &mut floors[bucket(tag)];
            *floor = (*floor).max(*generation);
        }
        Self(Some(floors))
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(FLOOR_BUCKETS * 8);
        for bucket in 0..FLOOR_BUCKETS {
            let floor = self.0.as_ref().map_or(0, |f| f[bucket]);
            raw.extend_from_slice(&floor.to_le_bytes());
        }
        let mut out = Vec::with_capacity(FLOORS_HEADER + raw.len() / 4);
        out.extend_from_slice(&FLOORS_MAGIC);
        out.extend_from_slice(&[FLOOR_BITS as u8, 0, 0, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&lz4_flex::block::compress_prepend_size(&raw));
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (header, packed) = bytes.split_at_checked(FLOORS_HEADER)?;
        if header[..4] != FLOORS_MAGIC || header[4] != FLOOR_BITS as u8 {
            return None;
        }
        let raw = lz4_flex::block::decompress_size_prepended(packed).ok()?;
        if raw.len() != FLOOR_BUCKETS * 8 {
            return None;
        }
        let floors = raw
            .chunks_exact(8)
            .map(|f| u64::from_le_bytes(f.try_into().expect("8 bytes")))
            .collect();
        Some(Self(Some(floors)))
    }
}

fn bucket(tag: &str) -> usize {
    (stable_hash(tag.as_bytes()) >> (64 - FLOOR_BITS)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_cover_what_they_replace_and_round_trip() {
        let pruned: Vec<(u64, String)> = (0..1000).map(|i| (100 + i, format!("t{i}"))).collect();
        let floors = Floors::default().raised(&pruned);
        for (generation, tag) in &pruned {
            assert!(floors.of(tag) >= *generation);
        }
        assert_eq!(Floors::default().of("t1"), 0);
        let back = Floors::from_bytes(&floors.to_bytes()).expect("loads");
        for (_, tag) in &pruned {
            assert_eq!(back.of(tag), floors.of(tag));
        }
        let bytes = floors.to_bytes();
        assert!(Floors::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(Floors::from_bytes(b"sTF1").is_none());
        // Raising again never lowers a floor.
        let again = floors.raised(&[(1, "t999".to_string())]);
        assert_eq!(again.of("t999"), floors.of("t999"));
    }
}
