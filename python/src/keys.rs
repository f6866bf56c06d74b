//! `Cache.keys()`: an iterator that fetches keys a page at a time.

use std::collections::VecDeque;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::backend::Cursor;
use crate::handle::Handle;

/// Iterator over a cache's keys (from `Cache.keys(prefix)` or `iter(cache)`).
#[pyclass(module = "stratacache._native", name = "KeyIterator")]
pub struct KeyIter {
    handle: Arc<Handle>,
    prefix: Vec<u8>,
    as_bytes: bool,
    buffered: VecDeque<Vec<u8>>,
    next: Option<Cursor>,
    started: bool,
}

impl KeyIter {
    /// Keys of the store of `handle` starting with `prefix`; all as bytes with `as_bytes`.
    pub fn new(handle: Arc<Handle>, prefix: Vec<u8>, as_bytes: bool) -> Self {
        KeyIter {
            handle,
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
                .handle
                .run(py, None, |b| b.key_page(prefix, from.as_ref()))?;
            self.started = true;
            self.buffered.extend(page.keys);
            self.next = page.next;
        }
        let key = self.buffered.pop_front().expect("a key is buffered");
        Ok(Some(text_or_bytes(py, &key, self.as_bytes)))
    }
}

/// A key for Python: `str` when it is UTF-8 (and `as_bytes` is not asked), else `bytes`.
fn text_or_bytes<'py>(py: Python<'py>, key: &[u8], as_bytes: bool) -> Bound<'py, PyAny> {
    match std::str::from_utf8(key) {
        Ok(text) if !as_bytes => PyString::new(py, text).into_any(),
        _ => PyBytes::new(py, key).into_any(),
    }
}
