//! One module per command (or pair of closely related commands).

pub mod expiry;
pub mod export;
pub mod import;
pub mod keys;
pub mod ls;
pub mod maintenance;
pub mod put_get;
pub mod rm;
pub mod serve;
pub mod stats;
pub mod tags;
pub mod verify;
pub mod walk;
