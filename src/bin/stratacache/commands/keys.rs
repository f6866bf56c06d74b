//! Keys are bytes: how they come from arguments and paths, and how they are shown.

use std::borrow::Cow;
use std::ffi::OsStr;

/// The bytes of a key given on the command line (non-UTF-8 arguments are kept as is).
pub fn from_arg(arg: &OsStr) -> &[u8] {
    arg.as_encoded_bytes()
}

/// A key for display: lossy UTF-8.
pub fn show(key: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(key)
}
