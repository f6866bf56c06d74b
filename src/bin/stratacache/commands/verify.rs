//! `verify [--json] [--repair]`: check every record the index references.

use stratacache::VerifyReport;

use crate::store::Store;

use crate::cli::VerifyArgs;
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::output;
use crate::progress;
use crate::units::count;

/// Verifies the store; `Corrupt` (exit 3) when any record is bad, with `--repair` too
/// (after the bad entries were removed, durably).
pub fn run(store: &Store, args: VerifyArgs) -> CmdResult {
    let pb = progress::items(0, "verify");
    let report = store.verify_with_progress(args.repair, &mut |checked, total| {
        pb.set_length(total);
        pb.set_position(checked);
    })?;
    pb.finish_and_clear();
    let text = if args.json {
        serde_json::to_string(&report).map_err(|e| Fatal::msg(e.to_string()))? + "\n"
    } else {
        human(&report, args.repair)
    };
    output::write(text.as_bytes())?;
    Ok(if report.is_ok() {
        Outcome::Done
    } else {
        Outcome::Corrupt
    })
}

/// One line per bad record, then a summary line.
fn human(report: &VerifyReport, repaired: bool) -> String {
    let mut out = String::new();
    for bad in &report.bad {
        out += &format!(
            "bad: {:?} (segment {}, offset {}): {}\n",
            bad.key, bad.segment, bad.offset, bad.reason
        );
    }
    let checked = count(report.checked, "record");
    out += &match (report.bad.len(), repaired) {
        (0, _) => format!("checked {checked}: all good\n"),
        (n, false) => {
            let them = if n == 1 { "it" } else { "them" };
            format!("checked {checked}: {n} bad (run verify --repair to remove {them})\n")
        }
        (n, true) => format!("checked {checked}: {n} bad, removed\n"),
    };
    out
}
