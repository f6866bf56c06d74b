//! `Cache.keys()`: an iterator that fetches keys a page at a time.

use std::collections::VecDeque;

use pyo3::prelude::*;

use crate::backend::Cursor;
use crate::cache::Cache;

/// Iterator over a cache's keys (from `Cache.keys(prefix)` or `iter(cache)`).
#[pyclass(module = "stratacache._native", name = "KeyIterator")]
pub struct KeyIter {
    cache: Py<Cache>,
    prefix: Vec<u8>,
    as_bytes: bool,
    buffered: VecDeque<Vec<u8>>,
    next: Option<Cursor>,
    started: bool,
}

impl KeyIter {
    /// Keys of `cache` starting with `prefix`; all as bytes with `as_bytes`.
    pub fn new(cache: Py<Cache>, prefix: Vec<u8>, as_bytes: bool) -> Self {
        KeyIter {
            cache,
            prefix,
            as_bytes,
            buffered: VecDeque::new(),
            next: None,
            started: false,
        }
    }
}

#[pymethods]
impl KeyIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        while self.buffered.is_empty() {
            if self.started && self.next.is_none() {
                return Ok(None);
            }
            let (prefix, from) = (&self.prefix, self.next.take());
            let page = self
                .cache
                .get()
                .run(py, None, |b| b.key_page(prefix, from.as_ref()))?;
            self.started = true;
            self.buffered.extend(page.keys);
            self.next = page.next;
        }
        let key = self.buffered.pop_front().expect("a key is buffered");
        Ok(Some(Cache::text_or_bytes(py, &key, self.as_bytes)))
    }
}
