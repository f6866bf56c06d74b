//! A bounded in-memory map of committed entry locations, so warm reads skip redb.
//!
//! A fixed table of two-way buckets; each slot is one cache line holding a version, the
//! key's 64-bit hash and its location. A lookup reads one bucket (one trip to memory,
//! where a general hash map takes two: control bytes, then the entry) and writes nothing,
//! so readers on several cores do not fight over cache lines. Slots are seqlocks: a writer
//! makes the version odd, writes, and makes it even again; a reader that sees the version
//! move ignores what it read. Everything is an atomic word, so a torn read is only ever
//! discarded, never undefined.
//!
//! Entries are keyed by two independent 64-bit hashes of the key (a 128-bit tag), not the
//! key itself: a slot keeps no key bytes, and two keys share a tag with odds of about
//! 2^-128, so every caller of a lookup can take a hit as the key's own location. The read
//! path compares the key the record holds all the same; on a mismatch it calls
//! [`LocCache::forget`] and asks redb, which is the source of truth.
//!
//! Staleness: every committed change of a key bumps the versions of its bucket. A reader
//! that missed here and then read redb fills the slot only if its version did not move
//! since the miss ([`Epoch`]), so a location older than a commit is never cached.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::engine::index::EntryLoc;
use crate::engine::prefetch::prefetch_word;

/// Words of an encoded location.
const LOC_WORDS: usize = 4;

/// A key's two hashes.
type Tag = [u64; 2];

/// One cached location, alone in its cache line.
#[repr(align(64))]
struct Slot {
    /// Even when stable, odd while being written; every write adds 2 in all.
    version: AtomicU64,
    /// The key's two hashes, the first with its low bit set (a first word of 0 means
    /// empty).
    tag: [AtomicU64; 2],
    loc: [AtomicU64; LOC_WORDS],
}

/// Two slots a key may live in.
struct Bucket([Slot; 2]);

/// The bucket versions seen by a lookup that missed; pass them back to
/// [`LocCache::fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch([u64; 2]);

fn encode(loc: &EntryLoc) -> [u64; LOC_WORDS] {
    let bytes = loc.encode();
    std::array::from_fn(|i| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap()))
}

fn decode(words: [u64; LOC_WORDS]) -> EntryLoc {
    let mut bytes = [0u8; LOC_WORDS * 8];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    EntryLoc::decode(&bytes)
}

impl Slot {
    /// What the slot holds, if it is stable: (version, tag, location words).
    fn read(&self) -> Option<(u64, Tag, [u64; LOC_WORDS])> {
        let before = self.version.load(Ordering::Acquire);
        if before & 1 == 1 {
            return None;
        }
        let tag = std::array::from_fn(|i| self.tag[i].load(Ordering::Relaxed));
        let loc = std::array::from_fn(|i| self.loc[i].load(Ordering::Relaxed));
        fence(Ordering::Acquire);
        (self.version.load(Ordering::Relaxed) == before).then_some((before, tag, loc))
    }

    /// Takes the slot for writing if its version is still `seen`.
    fn try_lock(&self, seen: u64) -> bool {
        seen & 1 == 0
            && self
                .version
                .compare_exchange(seen, seen + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Takes the slot for writing, waiting out another writer (which holds it for a few
    /// stores).
    fn lock(&self) {
        let mut spins = 0u32;
        loop {
            let seen = self.version.load(Ordering::Relaxed);
            if self.try_lock(seen) {
                fence(Ordering::Release);
                return;
            }
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// Writes while locked.
    fn write(&self, tag: Tag, loc: &[u64; LOC_WORDS]) {
        for (word, value) in self.tag.iter().zip(tag) {
            word.store(value, Ordering::Relaxed);
        }
        for (word, value) in self.loc.iter().zip(loc) {
            word.store(*value, Ordering::Relaxed);
        }
    }

    /// Ends a write: the version is even again, 2 past where it was.
    fn unlock(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }
}

/// The buckets, in anonymous memory the kernel is asked to back with huge pages: a lookup
/// lands on a random bucket, and with 4 KiB pages a table of some megabytes costs a TLB
/// miss (a page-table walk) on top of the cache miss.
struct Buckets {
    map: Option<memmap2::MmapMut>,
    len: usize,
}

impl Buckets {
    fn new(len: usize) -> Self {
        if len == 0 {
            return Self { map: None, len };
        }
        let bytes = len * std::mem::size_of::<Bucket>();
        let map = memmap2::MmapMut::map_anon(bytes)
            .unwrap_or_else(|e| panic!("cannot map {bytes} bytes for the location cache: {e}"));
        #[cfg(target_os = "linux")]
        // Only a hint: without huge pages the table works the same, a little slower.
        let _ = map.advise(memmap2::Advice::HugePage);
        Self {
            map: Some(map),
            len,
        }
    }

    fn as_slice(&self) -> &[Bucket] {
        match &self.map {
            // SAFETY: the mapping is `len` buckets long and page-aligned (more than
            // `Bucket`'s 64-byte alignment); anonymous memory starts zeroed, and all zeros is
            // a valid `Bucket` (atomic integers only, no padding invariants); the slice
            // borrows `self`, which owns the mapping, and the memory is only ever changed
            // through the atomics.
            Some(map) => unsafe {
                std::slice::from_raw_parts(map.as_ptr().cast::<Bucket>(), self.len)
            },
            None => &[],
        }
    }
}

/// Bounded location cache (see the module doc).
pub struct LocCache {
    buckets: Buckets,
    hashers: [ahash::RandomState; 2],
}

impl LocCache {
    /// A cache of about `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        let buckets = match capacity {
            0 => 0,
            n => n.div_ceil(2).next_power_of_two(),
        };
        Self {
            buckets: Buckets::new(buckets),
            hashers: [ahash::RandomState::new(), ahash::RandomState::new()],
        }
    }

    /// Bytes of the table (an upper bound on what it holds: its pages are touched as
    /// slots are first used).
    pub fn table_bytes(&self) -> u64 {
        std::mem::size_of_val(self.buckets.as_slice()) as u64
    }

    /// The key's tag and bucket (`None` when the cache is off).
    fn bucket(&self, key: &[u8]) -> Option<(Tag, &Bucket)> {
        let buckets = self.buckets.as_slice();
        if buckets.is_empty() {
            return None;
        }
        let [first, second] = self.hashers.each_ref().map(|h| h.hash_one(key));
        let index = (first >> 32) as usize & (buckets.len() - 1);
        Some(([first | 1, second], &buckets[index]))
    }

    /// The cached location, or the epoch to pass to [`Self::fill`] after reading redb.
    /// A location found here may belong to another key with the same hash: check the key
    /// the record holds.
    pub fn get(&self, key: &[u8]) -> Result<EntryLoc, Epoch> {
        let Some((tag, bucket)) = self.bucket(key) else {
            return Err(Epoch([1, 1]));
        };
        // Both lines at once: a key may be in either slot.
        prefetch_word(&bucket.0[1].version);
        let mut seen = [1; 2];
        for (slot, seen) in bucket.0.iter().zip(&mut seen) {
            if let Some((version, found, loc)) = slot.read() {
                if found == tag {
                    return Ok(decode(loc));
                }
                *seen = version;
            }
        }
        Err(Epoch(seen))
    }

    /// Caches a location read from the index, unless its bucket changed since `epoch`.
    /// Takes an empty slot if there is one, else evicts one of the two keys there.
    pub fn fill(&self, key: &[u8], loc: EntryLoc, epoch: Epoch) {
        let Some((tag, bucket)) = self.bucket(key) else {
            return;
        };
        let [a, b] = &bucket.0;
        let empty = |slot: &Slot| slot.tag[0].load(Ordering::Relaxed) == 0;
        let (slot, seen) = match (empty(a), empty(b)) {
            (true, _) => (a, epoch.0[0]),
            (false, true) => (b, epoch.0[1]),
            // Both full: either may go; the versions change with every write, so a bit of
            // their sum picks one without bias or any state of its own.
            _ if (epoch.0[0].wrapping_add(epoch.0[1]) >> 1) & 1 == 0 => (a, epoch.0[0]),
            _ => (b, epoch.0[1]),
        };
        if slot.try_lock(seen) {
            fence(Ordering::Release);
            slot.write(tag, &encode(&loc));
            slot.unlock();
        }
    }

    /// Records a committed change of `key`: its new location, or `None` when removed.
    /// A slot holding the key is updated; either way the bucket's versions move, so a fill
    /// that began before this change is refused.
    pub fn update(&self, key: &[u8], loc: Option<EntryLoc>) {
        let Some((tag, bucket)) = self.bucket(key) else {
            return;
        };
        for slot in &bucket.0 {
            slot.lock();
            let held: Tag = std::array::from_fn(|i| slot.tag[i].load(Ordering::Relaxed));
            if held == tag {
                match &loc {
                    Some(loc) => slot.write(tag, &encode(loc)),
                    None => slot.write([0; 2], &[0; LOC_WORDS]),
                }
            }
            slot.unlock();
        }
    }

    /// Drops what is cached for `key` (a read found that it does not lead to `key`).
    pub fn forget(&self, key: &[u8]) {
        self.update(key, None);
    }

    /// Locations cached now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let slots = self.buckets.as_slice().iter().flat_map(|b| &b.0);
        slots
            .filter(|s| s.tag[0].load(Ordering::Relaxed) != 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(segment: u32) -> EntryLoc {
        EntryLoc {
            segment,
            offset: 7,
            stored_len: 1 << 20,
            raw_len: 3,
            crc: 0xdead_beef,
            codec: 1,
            key_len: 513,
            head_len: 11,
            expires_at: u64::MAX - 1,
        }
    }

    #[test]
    fn locations_round_trip_through_words() {
        assert_eq!(decode(encode(&loc(9))), loc(9));
    }

    #[test]
    fn a_fill_after_a_change_is_refused() {
        let cache = LocCache::new(100);
        let epoch = cache.get(b"k").unwrap_err();
        cache.update(b"k", Some(loc(2)));
        cache.fill(b"k", loc(1), epoch);
        assert!(cache.get(b"k").is_err(), "stale location cached");
        let epoch = cache.get(b"k").unwrap_err();
        cache.fill(b"k", loc(2), epoch);
        assert_eq!(cache.get(b"k"), Ok(loc(2)));
        cache.update(b"k", Some(loc(3)));
        assert_eq!(cache.get(b"k"), Ok(loc(3)));
        cache.forget(b"k");
        assert!(cache.get(b"k").is_err());
    }

    #[test]
    fn stays_bounded_and_keeps_recent_fills() {
        let cache = LocCache::new(1000);
        for i in 0..100_000u32 {
            let key = i.to_le_bytes();
            let epoch = cache.get(&key).unwrap_err();
            cache.fill(&key, loc(i), epoch);
            assert_eq!(cache.get(&key), Ok(loc(i)));
        }
        assert_eq!(cache.len(), 1024, "every slot in use, no more");
    }

    /// Of `keys` keys read three times over, how many a cache of 4096 ends up holding.
    fn held_of(keys: u32) -> u32 {
        let cache = LocCache::new(4096);
        let keys: Vec<[u8; 4]> = (0..keys).map(|i| i.to_le_bytes()).collect();
        for _ in 0..3 {
            for (i, key) in keys.iter().enumerate() {
                if let Err(epoch) = cache.get(key) {
                    cache.fill(key, loc(i as u32), epoch);
                }
            }
        }
        keys.iter().filter(|k| cache.get(&k[..]).is_ok()).count() as u32
    }

    #[test]
    fn holds_nearly_all_of_a_working_set_a_quarter_its_size() {
        // Two slots per bucket: a key misses only in a bucket three or more keys share.
        let held = held_of(1024);
        assert!(held >= 1024 * 95 / 100, "{held} of 1024 held");
        let held = held_of(2048);
        assert!(held >= 2048 * 85 / 100, "{held} of 2048 held");
    }

    #[test]
    fn readers_never_see_a_torn_location() {
        let cache = LocCache::new(2);
        let (a, b) = (
            loc(1),
            EntryLoc {
                offset: 99,
                ..loc(2)
            },
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..20_000 {
                    cache.update(b"k", Some(if i % 2 == 0 { a } else { b }));
                }
            });
            s.spawn(|| {
                for _ in 0..20_000 {
                    match cache.get(b"k") {
                        Ok(found) => assert!(found == a || found == b, "torn: {found:?}"),
                        Err(epoch) => cache.fill(b"k", a, epoch),
                    }
                }
            });
        });
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let cache = LocCache::new(0);
        let epoch = cache.get(b"k").unwrap_err();
        cache.fill(b"k", loc(1), epoch);
        assert!(cache.get(b"k").is_err());
    }
}
