//! The error of a loading read: the loader's own, shared by every waiter, or the cache's.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// Why [`Cache::try_get_with`](crate::Cache::try_get_with) returned no value.
pub enum LoadError<E> {
    /// The loader failed; every caller that waited for that run gets the same error.
    Loader(Arc<E>),
    /// The cache refused the call (an invalid key, a value that would not serialize).
    Cache(Error),
}

impl<E> LoadError<E> {
    /// The loader's error, if that is what this is.
    pub fn loader_error(&self) -> Option<&Arc<E>> {
        match self {
            LoadError::Loader(e) => Some(e),
            LoadError::Cache(_) => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for LoadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Loader(e) => f.debug_tuple("Loader").field(e).finish(),
            LoadError::Cache(e) => f.debug_tuple("Cache").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for LoadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Loader(e) => write!(f, "loader failed: {e}"),
            LoadError::Cache(e) => write!(f, "{e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LoadError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Loader(e) => Some(&**e),
            LoadError::Cache(e) => Some(e),
        }
    }
}

impl<E> From<Error> for LoadError<E> {
    fn from(e: Error) -> Self {
        LoadError::Cache(e)
    }
}
