//! `compact [--all]` and `sweep`: run the store's maintenance now.

use stratacache::CompactReport;

use crate::store::Store;

use crate::cli::CompactArgs;
use crate::exit::{CmdResult, Outcome};
use crate::output;
use crate::progress;
use crate::units::{count, grouped, human_size};

/// Compacts sparse segments (every segment with `--all`) and prints what was done.
pub fn compact(store: &Store, args: CompactArgs) -> CmdResult {
    let spinner = progress::spinner("compacting");
    let report = store.compact(args.all)?;
    spinner.finish_and_clear();
    output::line(&describe(&report))?;
    Ok(Outcome::Done)
}

/// Deletes expired entries now and prints how many.
pub fn sweep(store: &Store) -> CmdResult {
    let removed = store.sweep_expired()?;
    store.flush()?;
    let noun = if removed == 1 { "entry" } else { "entries" };
    output::line(&format!("removed {} expired {noun}", grouped(removed)))?;
    Ok(Outcome::Done)
}

/// `compacted 3 segments: moved 120 records (4.5 MiB); disk 30.0 MiB -> 12.1 MiB`.
fn describe(r: &CompactReport) -> String {
    let index = if r.index_compacted {
        "; index compacted"
    } else {
        ""
    };
    format!(
        "compacted {}: moved {} ({}); disk {} -> {}{index}",
        count(r.segments_compacted, "segment"),
        count(r.records_moved, "record"),
        human_size(r.bytes_moved),
        human_size(r.disk_bytes_before),
        human_size(r.disk_bytes_after),
    )
}
