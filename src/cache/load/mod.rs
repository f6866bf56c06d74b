//! Loading on a miss: single-flight (one loader run per key, however many callers wait),
//! the error every waiter receives, and the threads that run refresh-ahead reloads.

mod error;
mod flight;
mod refresher;

pub use error::LoadError;
pub(crate) use flight::{Flights, Leader, Outcome, Role};
pub(crate) use refresher::{Job, Refresher};
