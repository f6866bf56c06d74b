//! What reaches stderr besides command output: the library's warnings, and panics turned
//! into one line instead of a backtrace.

use std::sync::Mutex;

/// Prints the library's warnings and errors (e.g. a corrupt entry met by a read) as
/// `stratacache: warning: ...` lines.
struct WarnLogger;

impl log::Log for WarnLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn && metadata.target().starts_with("stratacache")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                log::Level::Error => "error",
                _ => "warning",
            };
            eprintln!("stratacache: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: WarnLogger = WarnLogger;

/// The message of the last panic, kept for [`panic_message`].
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs the warning logger and a quiet panic hook.
///
/// The hook only records the message: the library catches some panics of its
/// dependencies on purpose (a damaged index file), and those must stay silent. A panic
/// that reaches `main` is printed there as a single line.
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    std::panic::set_hook(Box::new(|info| {
        let text = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!("{text}{place}").replace('\n', " ");
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(line);
        }
    }));
}

/// The message of the panic that unwound to `main`.
pub fn panic_message() -> String {
    LAST_PANIC
        .lock()
        .ok()
        .and_then(|m| m.clone())
        .unwrap_or_else(|| "unknown panic".into())
}
