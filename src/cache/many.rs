//! Several keys at once: `get_many` and `insert_many` ask each tier once for all keys, so a
//! remote tier answers in one round trip.

use crate::cache::value_codec::PayloadKind;
use quanta::Instant;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::core::{CacheInner, Found, Origin, Prepared};
use crate::cache::handle::Cache;
use crate::cache::policy::{InsertOptions, Placement};
use crate::cache::stats::{Op, bump};
use crate::cache::tier::CachedBytes;
use crate::cache::tier::{InsertItem, TierKind};
use crate::error::Result;

impl Cache {
    /// The typed values of `keys`, in order (`None` where absent). Each tier is asked once
    /// for all keys it still has to answer.
    pub fn get_many<T: DeserializeOwned, K: AsRef<[u8]>>(
        &self,
        keys: &[K],
    ) -> Result<Vec<Option<T>>> {
        let started = Instant::now();
        let keys = self.checked(keys)?;
        let found = self.inner.lookup_many(&keys);
        let values = keys
            .iter()
            .zip(found)
            .map(|(key, f)| {
                let f = f?;
                let value = self.inner.decode(key, f.kind, f.payload());
                if value.is_none() {
                    self.inner.recount_as_miss(&f);
                }
                value
            })
            .collect();
        self.inner.record(Op::Get, started);
        Ok(values)
    }

    /// The raw values of `keys`, in order (see [`Cache::get_bytes`]).
    pub fn get_many_bytes<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<CachedBytes>>> {
        let started = Instant::now();
        let keys = self.checked(keys)?;
        let found = self.inner.lookup_many(&keys);
        self.inner.record(Op::Get, started);
        Ok(found
            .into_iter()
            .map(|f| f.map(Found::into_bytes))
            .collect())
    }

    /// Stores several typed values with the default options, each tier written once for all
    /// of them.
    pub fn insert_many<K: AsRef<[u8]>, T: Serialize>(&self, items: &[(K, T)]) -> Result<()> {
        let started = Instant::now();
        let options = InsertOptions::default();
        let mut prepared = Vec::with_capacity(items.len());
        for (key, value) in items {
            let key = key.as_ref();
            self.inner.check_key(key)?;
            let p = self.inner.prepare_typed(key, &options, value)?;
            prepared.push((key, p));
        }
        self.store_prepared(&prepared, started)
    }

    /// Stores several raw values with the default options (see [`Cache::insert_bytes`]),
    /// each tier written once for all of them (on disk: one positional write per segment
    /// the batch lands in).
    pub fn insert_many_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        items: &[(K, V)],
    ) -> Result<()> {
        let items = items
            .iter()
            .map(|(k, v)| (k.as_ref(), PayloadKind::Bytes, v.as_ref()));
        self.insert_many_prepared(items, &InsertOptions::default())
    }

    /// Stores payloads the caller encoded, each recorded as its kind (see
    /// [`Cache::insert_payload`]), all with the same options; each tier is written once
    /// for all of them.
    pub fn insert_many_payloads<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        items: &[(K, PayloadKind, V)],
        options: &InsertOptions,
    ) -> Result<()> {
        let items = items
            .iter()
            .map(|(k, kind, v)| (k.as_ref(), *kind, v.as_ref()));
        self.insert_many_prepared(items, options)
    }

    fn insert_many_prepared<'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a [u8], PayloadKind, &'a [u8])>,
        options: &InsertOptions,
    ) -> Result<()> {
        let started = Instant::now();
        let mut prepared = Vec::with_capacity(items.len());
        for (key, kind, value) in items {
            self.inner.check_key(key)?;
            prepared.push((key, self.inner.prepare_payload(options, kind, value)?));
        }
        self.store_prepared(&prepared, started)
    }

    /// Writes prepared values and counts them (one insert each) and the call's latency.
    fn store_prepared(&self, prepared: &[(&[u8], Prepared)], started: Instant) -> Result<()> {
        let result = self.inner.store_many(prepared);
        for _ in prepared {
            bump(&self.inner.counters.inserts);
        }
        self.inner.record(Op::Insert, started);
        result
    }

    fn checked<'k, K: AsRef<[u8]>>(&self, keys: &'k [K]) -> Result<Vec<&'k [u8]>> {
        keys.iter()
            .map(|k| {
                let k = k.as_ref();
                self.inner.check_key(k).map(|()| k)
            })
            .collect()
    }
}

impl CacheInner {
    /// Writes prepared values: write-through goes tier by tier (lowest first), each tier
    /// once for all values; write-back goes value by value to memory.
    fn store_many(&self, items: &[(&[u8], Prepared)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        if self.write_back() {
            return items
                .iter()
                .try_for_each(|(k, p)| self.store(k, p, Placement::Default, Origin::Caller));
        }
        for (key, _) in items {
            self.clear_dirty(key);
        }
        for slot in self.slots.iter().rev() {
            let written = match (&self.memory, slot.tier.kind()) {
                (Some(memory), TierKind::Memory) => {
                    for (key, p) in items {
                        memory.insert_entry(key, self.mem_entry(&p.envelope, p.expires_at_ms));
                    }
                    Ok(())
                }
                _ => {
                    let batch: Vec<InsertItem<'_>> = items
                        .iter()
                        .map(|(k, p)| (*k, &p.envelope, p.expires_at_ms))
                        .collect();
                    slot.tier.insert_many(&batch)
                }
            };
            match self.absorb_or(slot, "insert_many", items[0].0, written) {
                Ok(Some(())) => {
                    for _ in items {
                        bump(&slot.counters.inserts);
                    }
                }
                // Redis failed or was skipped: counted as that, not as inserts.
                Ok(None) => {}
                Err(e) => {
                    if let Some(memory) = &self.memory {
                        for (key, _) in items {
                            let _ = crate::cache::tier::Tier::remove(&**memory, key);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}
