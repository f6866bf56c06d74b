//! Arguments as Python passes them: keys (`str` or `bytes`), TTLs (seconds or
//! `timedelta`), sizes (bytes or `"64MiB"`), tags.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::{Kind, raise, show_key, type_error};

/// A key borrowed from a Python `str` (its UTF-8) or `bytes`.
pub struct Key<'a>(&'a [u8]);

impl<'a> Key<'a> {
    /// Borrows the key in `object`, refusing other types, an empty key and one over the
    /// key limit.
    pub fn borrow(object: &'a Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes = str_or_bytes(object, "keys are")?;
        check(bytes)?;
        Ok(Key(bytes))
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// The bytes of a `str` (its UTF-8) or `bytes` object; a `TypeError` starting with `what`
/// for anything else.
pub fn str_or_bytes<'a>(object: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    if let Ok(text) = object.cast::<PyString>() {
        Ok(text.to_str()?.as_bytes())
    } else if let Ok(bytes) = object.cast::<PyBytes>() {
        Ok(bytes.as_bytes())
    } else {
        Err(type_error(format!(
            "{what} str or bytes, not {}",
            type_name(object)
        )))
    }
}

/// Refuses an empty key and one over the key limit (the same limit locally and on a
/// server, so that both modes raise the same error).
pub fn check(key: &[u8]) -> PyResult<()> {
    stratacache::limits::check_key(key, stratacache::limits::DEFAULT_MAX_KEY_LEN)
        .map_err(|e| raise(Kind::InvalidKey, format!("key {}: {e}", show_key(key))))
}

/// The name of an object's type, for messages.
pub fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A TTL: `None`, seconds (`int` or `float`, more than 0) or a `datetime.timedelta`.
pub fn ttl(object: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Duration>> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if object.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(format!(
            "{what} is seconds (int or float) or a timedelta, not bool"
        )));
    }
    let seconds: f64 = if object.hasattr("total_seconds")? {
        object.call_method0("total_seconds")?.extract()?
    } else {
        object.extract().map_err(|_| {
            type_error(format!(
                "{what} is seconds (int or float) or a timedelta, not {}",
                type_name(object)
            ))
        })?
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{what} must be more than 0 seconds, not {seconds}"
        )));
    }
    let ms = (seconds * 1000.0).ceil();
    if ms >= u64::MAX as f64 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{what} of {seconds} seconds is too large"
        )));
    }
    Ok(Some(Duration::from_millis(ms as u64)))
}

/// A size: bytes as an `int`, or text like the CLI takes (`"64MiB"`, `"10GiB"`).
pub fn size(object: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u64>> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(text) = object.cast::<PyString>() {
        let text = text.to_str()?;
        return stratacache::units::parse_size(text)
            .map(Some)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("{what} {text:?}: {e}")));
    }
    if object.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(format!(
            "{what} is an int of bytes or a string like \"64MiB\", not bool"
        )));
    }
    let n: i128 = object.extract().map_err(|_| {
        type_error(format!(
            "{what} is an int of bytes or a string like \"64MiB\", not {}",
            type_name(object)
        ))
    })?;
    u64::try_from(n).map(Some).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("{what} of {n} bytes is out of range"))
    })
}

/// Tags: an iterable of `str` (a single `str` is one tag).
pub fn tags(object: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(text) = object.cast::<PyString>() {
        out.push(text.to_str()?.to_string());
        stratacache::limits::check_tags(&out)
            .map_err(|e| raise(Kind::InvalidArgument, e.to_string()))?;
        return Ok(out);
    }
    let iter = object.try_iter().map_err(|_| {
        type_error(format!(
            "tags are a str or an iterable of str, not {}",
            type_name(object)
        ))
    })?;
    for tag in iter {
        let tag = tag?;
        let text = tag
            .cast::<PyString>()
            .map_err(|_| type_error(format!("tags are str, not {}", type_name(&tag))))?;
        out.push(text.to_str()?.to_string());
    }
    stratacache::limits::check_tags(&out)
        .map_err(|e| raise(Kind::InvalidArgument, e.to_string()))?;
    Ok(out)
}
