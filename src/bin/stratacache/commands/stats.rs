//! `stats [--json]`: sizes and lifetime counters of the store.

use stratacache::Stats;

use crate::store::Store;

use crate::cli::JsonArgs;
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::output;
use crate::units::{grouped, human_size};

/// Prints the store's stats: the library's `Stats` as one JSON object, or aligned lines.
pub fn run(store: &Store, args: JsonArgs) -> CmdResult {
    let stats = store.stats()?;
    let text = if args.json {
        serde_json::to_string(&stats).map_err(|e| Fatal::msg(e.to_string()))? + "\n"
    } else {
        human(&stats)
    };
    output::write(text.as_bytes())?;
    Ok(Outcome::Done)
}

/// The human form: one `label  value` line per field, values aligned.
fn human(s: &Stats) -> String {
    let share = if s.capacity_bytes > 0 {
        format!(
            "  ({:.1}% of capacity)",
            s.disk_bytes as f64 * 100.0 / s.capacity_bytes as f64
        )
    } else {
        String::new()
    };
    // Below the capacity only while the file system holds less than it.
    let capacity =
        if s.effective_capacity_bytes > 0 && s.effective_capacity_bytes < s.capacity_bytes {
            format!(
                "{}  (the file system holds only {} of it now)",
                human_size(s.capacity_bytes),
                human_size(s.effective_capacity_bytes)
            )
        } else {
            human_size(s.capacity_bytes)
        };
    let lines = [
        ("entries", grouped(s.entries)),
        ("live data", human_size(s.live_bytes)),
        ("on disk", format!("{}{share}", human_size(s.disk_bytes))),
        ("capacity", capacity),
        ("segments", grouped(s.segments)),
        ("hits", grouped(s.hits)),
        ("misses", grouped(s.misses)),
        ("inserts", grouped(s.inserts)),
        ("removes", grouped(s.removes)),
        ("evictions", grouped(s.evictions)),
        ("eviction policy", policy_line(s)),
        ("memory", memory_line(s)),
        ("expirations", grouped(s.expirations)),
        ("corruptions", grouped(s.corruptions)),
    ];
    let width = lines
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|(label, value)| format!("{label:<width$}  {value}\n"))
        .collect()
}

/// The engine's memory against its budget, and what holds it.
fn memory_line(s: &stratacache::Stats) -> String {
    format!(
        "{} of {} budget  (index cache {}, locations {}, staged {}, policy {})",
        human_size(s.memory_bytes),
        human_size(s.memory_budget_bytes),
        human_size(s.memory_index_cache_bytes),
        human_size(s.memory_location_cache_bytes),
        human_size(s.memory_staged_bytes),
        human_size(s.memory_policy_bytes),
    )
}

/// The policy, and under S3-FIFO what its probation log holds.
fn policy_line(s: &stratacache::Stats) -> String {
    match s.probation_bytes {
        0 => s.eviction_policy.clone(),
        bytes => format!(
            "{}  ({} on probation)",
            s.eviction_policy,
            human_size(bytes)
        ),
    }
}
