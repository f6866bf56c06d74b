//! `verify()`: check every record the index references.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use crate::engine::index::EntryLoc;
use crate::engine::index::tables::ENTRIES;
use crate::engine::read::check_record;
use crate::engine::state::{Counters, Engine};
use crate::error::Result;

/// Result of [`crate::DiskStore::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Records checked.
    pub checked: u64,
    /// Records that failed.
    pub bad: Vec<BadRecord>,
}

/// One record that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRecord {
    /// The key (lossy UTF-8).
    pub key: String,
    /// Segment id.
    pub segment: u32,
    /// Offset of the record in the segment.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

impl VerifyReport {
    /// True when no bad record was found.
    pub fn is_ok(&self) -> bool {
        self.bad.is_empty()
    }
}

impl Engine {
    /// Verifies every indexed record; removes the bad ones when `repair` is set.
    /// `progress` is called with (records checked, total records).
    pub fn verify(&self, repair: bool, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        self.checkpoint_unless_poisoned()?;
        let mut report = VerifyReport::default();
        let mut bad_keys: Vec<(Vec<u8>, EntryLoc)> = Vec::new();
        let segments = self.segments.snapshot();
        self.index.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            let total = table.len()?;
            for row in table.iter()? {
                let (key, loc) = row?;
                let (key, loc) = (key.value(), loc.value());
                let result = match segments.get(&loc.segment) {
                    Some(seg) => check_record(seg, &loc, key).map(|_| ()),
                    None => Err(format!("segment {} is missing", loc.segment)),
                };
                report.checked += 1;
                if let Err(reason) = result {
                    Counters::bump(&self.counters.corruptions);
                    report.bad.push(BadRecord {
                        key: String::from_utf8_lossy(key).into_owned(),
                        segment: loc.segment,
                        offset: loc.offset as u64,
                        reason,
                    });
                    bad_keys.push((key.to_vec(), loc));
                }
                if report.checked % 1024 == 0 {
                    progress(report.checked, total);
                }
            }
            progress(report.checked, total);
            Ok(())
        })?;
        if repair {
            for (key, loc) in &bad_keys {
                self.drop_if_at(key, loc);
            }
            self.flush()?;
        }
        Ok(report)
    }
}
