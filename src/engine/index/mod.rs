//! The redb index: the only source of truth for what exists. Table definitions with their
//! fixed-width records, and the database handle through which every transaction runs.

mod db;
pub mod tables;

pub use db::{IndexDb, Outcome};
pub use tables::EntryLoc;
