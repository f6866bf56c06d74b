//! `stratacache.Cache`'s native half: every method that touches the store. The Python
//! subclass in `stratacache/__init__.py` adds `memoize`, `get_or_set` and the context
//! manager on top.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::args::{self, Key};
use crate::backend::{Backend, OpenOptions, Value, Write};
use crate::errors::{self, Kind, raise};
use crate::handle::Handle;
use crate::keys::KeyIter;
use crate::redis_options::RedisOptions;
use crate::values::{Codecs, Serializer};

/// The memory tier budget when `memory=` is not given: 64 MiB.
const DEFAULT_MEMORY: u64 = 64 << 20;

/// A persistent cache in a directory: opened in this process, or, when a
/// `stratacache serve` holds the directory, reached through the server. Thread safe.
#[pyclass(subclass, frozen, module = "stratacache._native", name = "Cache")]
pub struct PyCache {
    handle: Arc<Handle>,
    codecs: Codecs,
    remote: bool,
    /// The TTL of values set without one, applied here when a server stores them (a
    /// local cache applies its own).
    remote_default_ttl: Option<std::time::Duration>,
}

impl PyCache {
    fn decode<'py>(
        &self,
        py: Python<'py>,
        key: &[u8],
        value: &Value,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.codecs.decode(py, key, value.kind(), value.bytes())
    }

    /// Encodes `value` and hands one write of it under `key` to `store` (`Backend::set`
    /// or `Backend::add`), with the GIL released.
    fn write<T: Send>(
        &self,
        py: Python<'_>,
        (key, value): (&Bound<'_, PyAny>, &Bound<'_, PyAny>),
        ttl: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
        store: fn(&Backend, &Write<'_>) -> stratacache::Result<T>,
    ) -> PyResult<T> {
        let key = Key::borrow(key)?;
        let ttl = args::ttl(ttl, "ttl")?.or(self.remote_default_ttl);
        let tags = args::tags(tags)?;
        let encoded = self.codecs.encode(py, key.bytes(), value)?;
        let write = Write {
            key: key.bytes(),
            kind: encoded.kind(),
            payload: encoded.bytes(),
            ttl,
            tags: &tags,
        };
        self.handle.run(py, Some(key.bytes()), |b| store(b, &write))
    }
}

#[pymethods]
impl PyCache {
    /// Opens (creating when missing) the cache in `directory`.
    ///
    /// When a `stratacache serve` holds the directory, the cache talks to it through its
    /// socket (then `memory` is the server's). `capacity` (disk bytes, or text like
    /// `"10GiB"`) applies to a new store (10 GiB when not given) and changes an existing
    /// one's when given; `memory` is the in-process memory tier (`"64MiB"` by default, 0
    /// for none); `default_ttl` (seconds or `timedelta`) applies to values set without a
    /// TTL; `serializer` (`"json"` or `"pickle"`) is how values other than `bytes` and
    /// `str` are stored; `compression` (`"lz4"` or None) whether values are compressed on
    /// disk (lz4 saves 2.5-3.5x on OCR text; None makes large reads and writes faster).
    #[new]
    #[pyo3(signature = (directory, *, capacity=None, memory=None, default_ttl=None, serializer="json", compression=Some("lz4"), redis=None, redis_master=None, redis_user=None, redis_password=None, redis_ca=None, redis_cert=None, redis_key=None, redis_prefix="stratacache:", redis_read_from_replicas=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        directory: PathBuf,
        capacity: Option<&Bound<'_, PyAny>>,
        memory: Option<&Bound<'_, PyAny>>,
        default_ttl: Option<&Bound<'_, PyAny>>,
        serializer: &str,
        compression: Option<&str>,
        redis: Option<&Bound<'_, PyAny>>,
        redis_master: Option<String>,
        redis_user: Option<String>,
        redis_password: Option<String>,
        redis_ca: Option<PathBuf>,
        redis_cert: Option<PathBuf>,
        redis_key: Option<PathBuf>,
        redis_prefix: &str,
        redis_read_from_replicas: bool,
    ) -> PyResult<Self> {
        let redis = RedisOptions {
            redis,
            master: redis_master,
            user: redis_user,
            password: redis_password,
            ca: redis_ca,
            cert: redis_cert,
            key: redis_key,
            prefix: redis_prefix.to_string(),
            read_from_replicas: redis_read_from_replicas,
        }
        .config()?;
        let compression = match compression {
            Some("lz4") => stratacache::Compression::Lz4,
            None => stratacache::Compression::None,
            Some(other) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "compression is \"lz4\" or None, not {other:?}"
                )));
            }
        };
        let options = OpenOptions {
            compression,
            capacity: args::size(capacity, "capacity")?,
            memory: args::size(memory, "memory")?.unwrap_or(DEFAULT_MEMORY),
            default_ttl: args::ttl(default_ttl, "default_ttl")?,
            redis,
        };
        let codecs = Codecs::new(py, Serializer::from_name(serializer)?)?;
        let handle = Handle::open(py, directory, &options)?;
        let remote = handle.is_remote();
        Ok(PyCache {
            remote,
            remote_default_ttl: options.default_ttl.filter(|_| remote),
            handle: Arc::new(handle),
            codecs,
        })
    }

    /// The value under `key`, or `default` when there is none.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = Key::borrow(key)?;
        match self.handle.lookup(py, key.bytes())? {
            Some(value) => self.decode(py, key.bytes(), &value),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    /// Stores `value` under `key`: `bytes` as they are, `str` as UTF-8, other values as
    /// JSON (or pickle). `ttl` (seconds or `timedelta`) makes it expire; `tags` let
    /// `invalidate_tag` retire it.
    #[pyo3(signature = (key, value, *, ttl=None, tags=None))]
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.write(py, (key, value), ttl, tags, Backend::set)
    }

    /// Stores `value` under `key` like `set`, but only when `key` holds no live value.
    /// True when it was stored. Through a server, of many processes adding one key at
    /// once exactly one succeeds.
    #[pyo3(signature = (key, value, *, ttl=None, tags=None))]
    fn add(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.write(py, (key, value), ttl, tags, Backend::add)
    }

    /// Removes `key`; True when it was there.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::borrow(key)?;
        self.handle
            .run(py, Some(key.bytes()), |b| b.remove(key.bytes()))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::borrow(key)?;
        self.handle
            .run(py, Some(key.bytes()), |b| b.contains(key.bytes()))
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let borrowed = Key::borrow(key)?;
        match self.handle.lookup(py, borrowed.bytes())? {
            Some(value) => self.decode(py, borrowed.bytes(), &value),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.set(py, key, value, None, None)
    }

    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let borrowed = Key::borrow(key)?;
        if self
            .handle
            .run(py, Some(borrowed.bytes()), |b| b.remove(borrowed.bytes()))?
        {
            Ok(())
        } else {
            Err(PyKeyError::new_err(key.clone().unbind()))
        }
    }

    /// Number of live entries on disk.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let stats = self.handle.run(py, None, |b| b.disk_stats())?;
        Ok(stats.entries as usize)
    }

    fn __iter__(&self) -> KeyIter {
        KeyIter::new(self.handle.clone(), Vec::new(), false)
    }

    /// The values of those `keys` that have one, as a dict keyed like `keys`.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let objects: Vec<Bound<'py, PyAny>> =
            if keys.is_instance_of::<PyString>() || keys.is_instance_of::<PyBytes>() {
                return Err(errors::type_error(
                    "get_many takes an iterable of keys (a list), not a single key",
                ));
            } else {
                keys.try_iter()?.collect::<PyResult<_>>()?
            };
        let owned: Vec<Vec<u8>> = objects
            .iter()
            .map(|k| Key::borrow(k).map(|k| k.bytes().to_vec()))
            .collect::<PyResult<_>>()?;
        let values = self.handle.run(py, None, |b| b.get_many(&owned))?;
        let out = PyDict::new(py);
        for ((object, key), value) in objects.iter().zip(&owned).zip(values) {
            if let Some(value) = value {
                out.set_item(object, self.decode(py, key, &value)?)?;
            }
        }
        Ok(out)
    }

    /// Stores every key and value of `mapping` (a dict, or any object with `items()`) in
    /// one batch, expiring after `ttl` when given.
    #[pyo3(signature = (mapping, *, ttl=None))]
    fn set_many(
        &self,
        py: Python<'_>,
        mapping: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let ttl = args::ttl(ttl, "ttl")?.or(self.remote_default_ttl);
        if !mapping.hasattr("items")? {
            return Err(errors::type_error(format!(
                "set_many takes a mapping (a dict), not {}",
                args::type_name(mapping)
            )));
        }
        let mut items = Vec::new();
        for pair in mapping.call_method0("items")?.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            let key = Key::borrow(&key)?.bytes().to_vec();
            let (kind, payload) = self.codecs.encode(py, &key, &value)?.into_owned();
            items.push((key, kind, payload));
        }
        if items.is_empty() {
            return Ok(());
        }
        self.handle.run(py, None, |b| b.set_many(&items, ttl))
    }

    /// Seconds left before `key` expires, None when it never does; KeyError when absent.
    fn ttl(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
        let borrowed = Key::borrow(key)?;
        match self
            .handle
            .run(py, Some(borrowed.bytes()), |b| b.ttl(borrowed.bytes()))?
        {
            None => Err(PyKeyError::new_err(key.clone().unbind())),
            Some(left) => Ok(left.map(|d| d.as_secs_f64())),
        }
    }

    /// Makes `key` expire `ttl` (seconds or `timedelta`) from now; False when absent.
    fn expire(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let key = Key::borrow(key)?;
        let Some(ttl) = args::ttl(Some(ttl), "ttl")? else {
            return Err(errors::type_error(
                "expire takes a ttl (seconds or timedelta); to remove an expiry use persist",
            ));
        };
        self.handle
            .run(py, Some(key.bytes()), |b| b.expire(key.bytes(), ttl))
    }

    /// Removes the expiry of `key`; True when it had one.
    fn persist(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::borrow(key)?;
        self.handle
            .run(py, Some(key.bytes()), |b| b.persist(key.bytes()))
    }

    /// Retires every value carrying `tag` (at once, whatever their number).
    fn invalidate_tag(&self, py: Python<'_>, tag: &Bound<'_, PyAny>) -> PyResult<()> {
        let tag = args::tags(Some(tag))?.remove(0);
        self.handle.run(py, None, |b| b.invalidate_tag(&tag))
    }

    /// Removes every key starting with `prefix` (str or bytes); how many went.
    fn remove_prefix(&self, py: Python<'_>, prefix: &Bound<'_, PyAny>) -> PyResult<u64> {
        let prefix = prefix_bytes(prefix)?;
        self.handle.run(py, None, |b| b.remove_prefix(&prefix))
    }

    /// Removes every entry; how many went.
    fn clear(&self, py: Python<'_>) -> PyResult<u64> {
        self.handle.run(py, None, |b| b.remove_prefix(b""))
    }

    /// The live keys starting with `prefix`, in key order, a page at a time (memory stays
    /// small however many there are). Keys come back as `str` when they are UTF-8, else
    /// `bytes`; with a `bytes` prefix, always as `bytes`.
    #[pyo3(signature = (prefix=None))]
    fn keys(&self, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<KeyIter> {
        let (prefix, as_bytes) = match prefix {
            None => (Vec::new(), false),
            Some(p) => (prefix_bytes(p)?, p.is_instance_of::<PyBytes>()),
        };
        Ok(KeyIter::new(self.handle.clone(), prefix, as_bytes))
    }

    /// `{"disk": <the fields of `stratacache stats --json`>, "cache": <hits, misses,
    /// latencies, and per tier>}`; the server's when the cache talks to one.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (disk, cache) = self.handle.run(py, None, |b| b.stats())?;
        let text = serde_json::to_string(&serde_json::json!({ "disk": disk, "cache": cache }))
            .map_err(|e| raise(Kind::Error, format!("stats as JSON: {e}")))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Makes every write so far durable (on a server: everything it acknowledged).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.run(py, None, |b| b.flush())
    }

    /// Flushes and releases the directory (a server's connections are closed). Further
    /// calls raise `ClosedError`; closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.close(py)
    }

    /// True once `close()` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// The store directory (absolute).
    #[getter]
    fn directory(&self) -> String {
        self.handle.dir().display().to_string()
    }

    /// `"local"` when this process opened the store, `"server"` when it talks to a
    /// `stratacache serve`.
    #[getter]
    fn mode(&self) -> &'static str {
        if self.remote { "server" } else { "local" }
    }

    /// `"json"` or `"pickle"`.
    #[getter]
    fn serializer(&self) -> &'static str {
        self.codecs.serializer().name()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        let class = slf.get_type().name()?;
        let state = if this.closed() { ", closed" } else { "" };
        Ok(format!(
            "{class}({:?}, mode={:?}{state})",
            this.directory(),
            this.mode()
        ))
    }
}

fn prefix_bytes(prefix: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    args::str_or_bytes(prefix, "a prefix is").map(<[u8]>::to_vec)
}
