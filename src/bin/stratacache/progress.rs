//! Progress bars for long commands, drawn on stderr only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether progress should be drawn at all.
fn wanted() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar counting bytes toward `total`, e.g. for import and export.
pub fn bytes(total: u64, message: &'static str) -> ProgressBar {
    bar(
        total,
        message,
        "{msg:>9} [{bar:36}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
}

/// A bar counting items (records) toward `total`, e.g. for verify.
pub fn items(total: u64, message: &'static str) -> ProgressBar {
    bar(
        total,
        message,
        "{msg:>9} [{bar:36}] {human_pos}/{human_len} {per_sec} eta {eta}",
    )
}

/// A spinner for work whose size is unknown, e.g. compaction.
pub fn spinner(message: &'static str) -> ProgressBar {
    if !wanted() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner().with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn bar(total: u64, message: &'static str, template: &str) -> ProgressBar {
    if !wanted() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total).with_message(message);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// Prints one `stratacache: ...` line on stderr without tearing the bar.
pub fn note(pb: &ProgressBar, line: &str) {
    pb.suspend(|| eprintln!("stratacache: {line}"));
}
