//! Loading on a miss: single-flight (one loader run per key, however many callers wait;
//! across processes too, through leases in the Redis tier), the error every waiter
//! receives, and the threads that run refresh-ahead reloads.

#[cfg(feature = "redis")]
mod across;
mod error;
mod flight;
mod refresher;
#[cfg(feature = "redis")]
mod remote_wait;

pub use error::LoadError;
pub(crate) use flight::{Flights, Leader, Outcome, Role};
pub(crate) use refresher::{Job, Refresher};
#[cfg(feature = "redis")]
pub(crate) use remote_wait::RemoteWaits;
