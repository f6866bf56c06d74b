//! The Redis serialization protocol: requests in, replies out (and replies in, for the
//! client).

pub mod reply;
pub mod request;
