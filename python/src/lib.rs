//! The native module of the `stratacache` Python package (`stratacache._native`): the
//! `Cache` class over the Rust library, opened in this process or reached through a
//! running `stratacache serve`. The pure-Python part of the package (`memoize`,
//! `get_or_set`, key helpers, the exceptions) is in `stratacache/`.

mod args;
mod backend;
mod cache;
mod errors;
mod handle;
mod keys;
mod redis_options;
mod values;

use pyo3::prelude::*;

/// The module.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<cache::PyCache>()?;
    module.add_class::<keys::KeyIter>()?;
    module.add_function(wrap_pyfunction!(handle::_after_fork, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
