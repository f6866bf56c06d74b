//! Python values as stored bytes and back. `bytes` are stored as they are (so the CLI and
//! Redis clients see the same bytes), `str` as its UTF-8 (recorded as text, so it comes
//! back as `str`), anything else as JSON, or as a pickle when the cache was opened with
//! `serializer="pickle"`. What the bytes are is recorded beside them (`PayloadKind`), never
//! guessed from the bytes.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};
use stratacache::PayloadKind;

use crate::errors::{Kind, raise, show_key};

/// Values at least this large are copied into their `bytes` object with the GIL released.
const COPY_WITHOUT_GIL: usize = 16 << 10;

/// A `bytes` object holding a copy of `bytes`; a large copy runs without the GIL, so that
/// other threads run Python meanwhile.
fn new_bytes<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if bytes.len() < COPY_WITHOUT_GIL {
        return Ok(PyBytes::new(py, bytes));
    }
    PyBytes::new_with(py, bytes.len(), |buffer| {
        // The new object is not shared with any other thread yet.
        py.detach(|| buffer.copy_from_slice(bytes));
        Ok(())
    })
}

/// How values that are not `bytes` or `str` are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serializer {
    /// JSON (the default): readable by every language and by the CLI.
    Json,
    /// pickle: any Python object, read back only by caches opened with pickle.
    Pickle,
}

impl Serializer {
    /// From the `serializer=` argument.
    pub fn from_name(name: &str) -> PyResult<Self> {
        match name {
            "json" => Ok(Serializer::Json),
            "pickle" => Ok(Serializer::Pickle),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "serializer is \"json\" or \"pickle\", not {other:?}"
            ))),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::Pickle => "pickle",
        }
    }
}

/// The Python functions values go through, imported once per cache.
pub struct Codecs {
    serializer: Serializer,
    json_dumps: Py<PyAny>,
    json_loads: Py<PyAny>,
    pickle_dumps: Py<PyAny>,
    pickle_loads: Py<PyAny>,
}

/// A value ready to store: borrowed from a `bytes` or `str`, or encoded here.
pub enum Encoded<'a> {
    /// The bytes of a `bytes` or `str` object the caller holds.
    Borrowed(PayloadKind, &'a [u8]),
    /// Bytes made here (JSON, pickle, a copy of a `bytearray`).
    Owned(PayloadKind, Vec<u8>),
}

impl Encoded<'_> {
    /// What the bytes are.
    pub fn kind(&self) -> PayloadKind {
        match self {
            Encoded::Borrowed(kind, _) | Encoded::Owned(kind, _) => *kind,
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Encoded::Borrowed(_, bytes) => bytes,
            Encoded::Owned(_, bytes) => bytes,
        }
    }

    /// An owned copy (for batches).
    pub fn into_owned(self) -> (PayloadKind, Vec<u8>) {
        match self {
            Encoded::Borrowed(kind, bytes) => (kind, bytes.to_vec()),
            Encoded::Owned(kind, bytes) => (kind, bytes),
        }
    }
}

impl Codecs {
    /// Imports `json` and `pickle`.
    pub fn new(py: Python<'_>, serializer: Serializer) -> PyResult<Self> {
        let json = py.import("json")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("ensure_ascii", false)?;
        kwargs.set_item("separators", (",", ":"))?;
        kwargs.set_item("allow_nan", false)?;
        let encoder = json.getattr("JSONEncoder")?.call((), Some(&kwargs))?;
        let pickle = py.import("pickle")?;
        Ok(Codecs {
            serializer,
            json_dumps: encoder.getattr("encode")?.unbind(),
            json_loads: json.getattr("loads")?.unbind(),
            pickle_dumps: pickle.getattr("dumps")?.unbind(),
            pickle_loads: pickle.getattr("loads")?.unbind(),
        })
    }

    /// The serializer the cache was opened with.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// `value` as bytes to store under `key`.
    pub fn encode<'a>(
        &self,
        py: Python<'_>,
        key: &[u8],
        value: &'a Bound<'_, PyAny>,
    ) -> PyResult<Encoded<'a>> {
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Encoded::Borrowed(PayloadKind::Bytes, bytes.as_bytes()));
        }
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(Encoded::Borrowed(
                PayloadKind::Text,
                text.to_str()?.as_bytes(),
            ));
        }
        if let Ok(array) = value.cast::<PyByteArray>() {
            return Ok(Encoded::Owned(PayloadKind::Bytes, array.to_vec()));
        }
        if value.is_instance_of::<PyMemoryView>() {
            let bytes = value.call_method0("tobytes")?;
            let bytes = bytes.cast::<PyBytes>()?;
            return Ok(Encoded::Owned(
                PayloadKind::Bytes,
                bytes.as_bytes().to_vec(),
            ));
        }
        match self.serializer {
            Serializer::Json => {
                let text = self.json_dumps.bind(py).call1((value,)).map_err(|e| {
                    raise(
                        Kind::Serialization,
                        format!(
                            "value for key {} is not JSON serializable ({}); store bytes or \
                             str, convert it, or open the cache with serializer=\"pickle\"",
                            show_key(key),
                            e.value(py)
                        ),
                    )
                })?;
                let text = text.cast::<PyString>()?;
                Ok(Encoded::Owned(
                    PayloadKind::Typed(stratacache::ValueCodec::Json),
                    text.to_str()?.as_bytes().to_vec(),
                ))
            }
            Serializer::Pickle => {
                let pickled = self.pickle_dumps.bind(py).call1((value, 5)).map_err(|e| {
                    raise(
                        Kind::Serialization,
                        format!(
                            "value for key {} cannot be pickled ({})",
                            show_key(key),
                            e.value(py)
                        ),
                    )
                })?;
                let pickled = pickled.cast::<PyBytes>()?;
                Ok(Encoded::Owned(
                    PayloadKind::Pickle,
                    pickled.as_bytes().to_vec(),
                ))
            }
        }
    }

    /// The Python value of stored `bytes` recorded as `kind`, read under `key`.
    pub fn decode<'py>(
        &self,
        py: Python<'py>,
        key: &[u8],
        kind: PayloadKind,
        bytes: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let bad = |what: String| {
            raise(
                Kind::Serialization,
                format!("value of key {}: {what}", show_key(key)),
            )
        };
        match kind {
            PayloadKind::Bytes => Ok(new_bytes(py, bytes)?.into_any()),
            PayloadKind::Text => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(PyString::new(py, text).into_any()),
                Err(e) => Err(bad(format!("recorded as text but not UTF-8 ({e})"))),
            },
            PayloadKind::Typed(stratacache::ValueCodec::Json) => self
                .json_loads
                .bind(py)
                .call1((PyBytes::new(py, bytes),))
                .map_err(|e| {
                    bad(format!(
                        "recorded as JSON but does not parse ({})",
                        e.value(py)
                    ))
                }),
            PayloadKind::Typed(codec @ stratacache::ValueCodec::MessagePack) => {
                match codec.to_json(bytes) {
                    Some(json) => self.json_loads.bind(py).call1((PyBytes::new(py, &json),)),
                    None => Err(bad("recorded as MessagePack but does not decode".into())),
                }
            }
            PayloadKind::Typed(stratacache::ValueCodec::Bincode) => Err(bad(
                "written by a Rust program in bincode, which only a Rust reader of the same \
                 type decodes; read it from Rust, or store it as JSON"
                    .into(),
            )),
            PayloadKind::Pickle if self.serializer == Serializer::Pickle => {
                self.pickle_loads.bind(py).call1((PyBytes::new(py, bytes),))
            }
            PayloadKind::Pickle => Err(bad(
                "it is a pickle, and this cache was not opened with serializer=\"pickle\" \
                 (unpickling runs code named by the data: only do it for stores you trust)"
                    .into(),
            )),
        }
    }
}
