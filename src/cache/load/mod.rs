//! Loading on a miss: single-flight (one loader run per key, however many callers wait)
//! and the error every waiter receives.

mod error;
mod flight;

pub use error::LoadError;
pub(crate) use flight::{Flights, Leader, Outcome, Role};
