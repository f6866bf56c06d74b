//! Progress bars for long commands, drawn on stderr only when it is a terminal.

use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::units::{human_duration, human_rate, human_size};

/// Whether progress should be drawn at all.
fn wanted() -> bool {
    std::io::stderr().is_terminal()
}

/// Until this much time has passed, the rate and the time left are not shown: the first
/// moments of a command (opening files, a first slow write) say little about the rest.
const SETTLE: Duration = Duration::from_secs(1);

/// A bar counting bytes toward `total`, e.g. for import and export.
pub fn bytes(total: u64, message: &'static str) -> ProgressBar {
    bar(
        total,
        message,
        "{msg} [{wide_bar}] {done_bytes}/{total_bytes_} {byte_rate} {left}",
    )
}

/// A bar counting items (records) toward `total`, e.g. for verify.
pub fn items(total: u64, message: &'static str) -> ProgressBar {
    bar(
        total,
        message,
        "{msg} [{wide_bar}] {human_pos}/{human_len} {item_rate} {left}",
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

/// A bar drawn across the terminal's width: `{wide_bar}` takes what the other fields
/// leave, and those take at most 62 columns, so a line never wraps at 80.
fn bar(total: u64, message: &'static str, template: &str) -> ProgressBar {
    if !wanted() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total).with_message(message);
    if let Ok(style) = ProgressStyle::with_template(template) {
        let style = style
            .progress_chars("=> ")
            .with_key("done_bytes", |s: &ProgressState, w: &mut dyn Write| {
                let _ = w.write_str(&human_size(s.pos()));
            })
            .with_key("total_bytes_", |s: &ProgressState, w: &mut dyn Write| {
                let _ = w.write_str(&human_size(s.len().unwrap_or(0)));
            })
            .with_key("byte_rate", |s: &ProgressState, w: &mut dyn Write| {
                if let Some(rate) = settled_rate(s.pos(), s.elapsed()) {
                    let _ = write!(w, "{}/s", human_size(rate as u64));
                }
            })
            .with_key("item_rate", |s: &ProgressState, w: &mut dyn Write| {
                if let Some(rate) = settled_rate(s.pos(), s.elapsed()) {
                    let _ = w.write_str(&human_rate(rate));
                }
            })
            .with_key("left", |s: &ProgressState, w: &mut dyn Write| {
                let total = s.len().unwrap_or(0);
                if let Some(left) = time_left(s.pos(), total, s.elapsed()) {
                    let _ = write!(w, "eta {}", human_duration(left.as_millis() as u64));
                }
            });
        pb.set_style(style);
    }
    pb
}

/// The average rate since the start, once it means something (see [`SETTLE`]).
fn settled_rate(pos: u64, elapsed: Duration) -> Option<f64> {
    (elapsed >= SETTLE && pos > 0).then(|| pos as f64 / elapsed.as_secs_f64())
}

/// The time left at the average rate so far, once that rate means something.
fn time_left(pos: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    let rate = settled_rate(pos, elapsed)?;
    let left = total.saturating_sub(pos) as f64 / rate;
    Some(Duration::from_secs_f64(left.min(1e9)))
}

/// Prints one `stratacache: ...` line on stderr without tearing the bar.
pub fn note(pb: &ProgressBar, line: &str) {
    pb.suspend(|| eprintln!("stratacache: {line}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_or_time_left_in_the_first_second() {
        let early = Duration::from_millis(300);
        assert_eq!(settled_rate(1_000, early), None);
        assert_eq!(time_left(1, 1_000_000, early), None);
        assert_eq!(time_left(0, 1_000, Duration::from_secs(5)), None);
    }

    #[test]
    fn time_left_at_the_average_rate() {
        let left = time_left(250, 1_000, Duration::from_secs(2));
        assert_eq!(left, Some(Duration::from_secs(6)));
        assert_eq!(settled_rate(3_000, Duration::from_secs(2)), Some(1_500.0));
    }
}
