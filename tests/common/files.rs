//! What a store leaves in its directory.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use stratacache::DiskStore;

/// Number of `.seg` files in `DIR/segments`.
pub fn seg_files(dir: &Path) -> Result<u64, std::io::Error> {
    let mut n = 0;
    for e in fs::read_dir(dir.join("segments"))? {
        if e?.file_name().to_string_lossy().ends_with(".seg") {
            n += 1;
        }
    }
    Ok(n)
}

/// No leftover segment files: the files in `segments/` are exactly the ones the store
/// counts. Background compaction may be deleting drained files at this moment, so this
/// polls (up to 5 s) for the two to agree.
pub fn assert_no_leftover_files(
    store: &DiskStore,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counted = store.stats()?.segments;
        let files = seg_files(dir)?;
        if files == counted {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{files} segment files, but the store counts {counted}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
