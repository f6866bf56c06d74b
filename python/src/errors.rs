//! stratacache's errors as Python exceptions. The exception classes live in
//! `stratacache/_errors.py` (so that they can have two bases, like `InvalidKeyError(Error,
//! ValueError)`); this module imports them and raises them with messages that name the
//! directory or key.

use std::path::Path;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Which exception class to raise.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `stratacache.Error`.
    Error,
    /// `stratacache.InvalidKeyError` (a `ValueError`).
    InvalidKey,
    /// `stratacache.SerializationError` (a `TypeError`).
    Serialization,
    /// `stratacache.ValueTooLargeError` (a `ValueError`).
    ValueTooLarge,
    /// `stratacache.ClosedError`.
    Closed,
    /// `stratacache.InvalidArgumentError` (a `ValueError`).
    InvalidArgument,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Error => "Error",
            Kind::InvalidKey => "InvalidKeyError",
            Kind::Serialization => "SerializationError",
            Kind::ValueTooLarge => "ValueTooLargeError",
            Kind::Closed => "ClosedError",
            Kind::InvalidArgument => "InvalidArgumentError",
        }
    }
}

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("stratacache._errors")?.getattr(name)
}

/// A `kind` exception with `message`.
pub fn raise(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| match class(py, kind.class_name()) {
        Ok(class) => PyErr::from_value(match class.call1((message.clone(),)) {
            Ok(instance) => instance,
            Err(e) => return e,
        }),
        Err(e) => e,
    })
}

/// A `TypeError` (for arguments of the wrong type).
pub fn type_error(message: impl Into<String>) -> PyErr {
    PyTypeError::new_err(message.into())
}

/// The key as people read it in a message: text when it is UTF-8, else escaped bytes;
/// long keys are cut.
pub fn show_key(key: &[u8]) -> String {
    const MAX: usize = 80;
    let shown = &key[..key.len().min(MAX)];
    let more = if key.len() > MAX { "..." } else { "" };
    match std::str::from_utf8(shown) {
        Ok(text) => format!("{text:?}{more}"),
        Err(_) => format!("b\"{}\"{more}", shown.escape_ascii()),
    }
}

/// A library error as the exception a Python user expects, naming `dir`, and `key` when
/// the error is about one key.
pub fn from_store(error: stratacache::Error, dir: &Path, key: Option<&[u8]>) -> PyErr {
    use stratacache::Error as E;
    let about = match key {
        Some(key) => format!("key {} in {}", show_key(key), dir.display()),
        None => dir.display().to_string(),
    };
    match error {
        E::Locked { dir, holder } => locked(&dir, holder),
        e @ (E::EmptyKey | E::KeyTooLong { .. }) => {
            raise(Kind::InvalidKey, format!("{about}: {e}"))
        }
        e @ E::ValueTooLarge { .. } => raise(Kind::ValueTooLarge, format!("{about}: {e}")),
        E::Server { message, .. } if message.starts_with("ERR value of") => {
            raise(Kind::ValueTooLarge, format!("{about}: {message}"))
        }
        E::InvalidInput(message) => raise(Kind::InvalidArgument, format!("{about}: {message}")),
        e @ E::Serialization { .. } => raise(Kind::Serialization, format!("{about}: {e}")),
        e => raise(Kind::Error, format!("{about}: {e}")),
    }
}

/// `LockedError` for a directory another process holds.
pub fn locked(dir: &Path, holder: Option<u32>) -> PyErr {
    let by = holder.map_or("another process".to_string(), |pid| {
        format!("process {pid}")
    });
    let message = format!(
        "{} is held by {by}, which is not a stratacache server; only one process opens a \
         store directly. To share it between processes, run `stratacache --dir {} serve` \
         (every Cache({:?}) then talks to the server)",
        dir.display(),
        dir.display(),
        dir.display().to_string(),
    );
    Python::attach(|py| {
        let made = class(py, "LockedError").and_then(|class| {
            let args = PyTuple::new(
                py,
                [
                    message.into_pyobject(py)?.into_any(),
                    dir.display().to_string().into_pyobject(py)?.into_any(),
                    holder.into_pyobject(py)?.into_any(),
                ],
            )?;
            class.call1(args)
        });
        match made {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        }
    })
}
