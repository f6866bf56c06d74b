//! How a command ends: the exit codes scripts rely on, and the one-line fatal error.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | a key was not found (`get`, `rm`) |
//! | 2 | error (bad usage, no store, I/O, some files of an import/export failed) |
//! | 3 | corruption found (`verify`, or a read during `export`) |
//! | 4 | the store is busy: another process holds it (`--wait` waits for it) |

use std::fmt;
use std::process::ExitCode;

/// A command that ran to its end, and what its exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done: exit 0.
    Done,
    /// Some key asked for does not exist: exit 1.
    NotFound,
    /// The command went on past failures it already reported: exit 2.
    PartlyFailed,
    /// Corrupt records were found: exit 3.
    Corrupt,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Done => 0,
            Outcome::NotFound => 1,
            Outcome::PartlyFailed => 2,
            Outcome::Corrupt => 3,
        })
    }
}

/// Exit code of a [`Fatal`] error.
pub const ERROR_CODE: u8 = 2;

/// Exit code when another process holds the store.
pub const BUSY_CODE: u8 = 4;

/// An error that stops the command: printed as `stratacache: <message>`, exit 2.
#[derive(Debug)]
pub enum Fatal {
    /// Something went wrong; the message says what and where.
    Message(String),
    /// Standard output was closed by the reader (`stratacache ls | head`): stop quietly.
    BrokenPipe,
    /// Another process holds the store: exit [`BUSY_CODE`].
    Busy(String),
}

impl Fatal {
    /// A fatal error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Fatal::Message(message.into())
    }

    /// An I/O error on `path` while doing `op`.
    pub fn io(op: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Fatal::Message(format!("{op} {}: {err}", path.display()))
    }

    /// An error writing to standard output.
    pub fn stdout(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Fatal::BrokenPipe
        } else {
            Fatal::Message(format!("write to standard output: {err}"))
        }
    }
}

impl Fatal {
    /// The process exit code of this error.
    pub fn code(&self) -> ExitCode {
        match self {
            Fatal::Busy(_) => ExitCode::from(BUSY_CODE),
            Fatal::BrokenPipe => ExitCode::SUCCESS,
            Fatal::Message(_) => ExitCode::from(ERROR_CODE),
        }
    }
}

impl From<stratacache::Error> for Fatal {
    fn from(err: stratacache::Error) -> Self {
        match err {
            stratacache::Error::Locked { .. } => Fatal::Busy(format!(
                "{err}; wait for it with --wait DURATION (e.g. --wait 30s)"
            )),
            err => Fatal::Message(err.to_string()),
        }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::Message(m) | Fatal::Busy(m) => f.write_str(m),
            Fatal::BrokenPipe => f.write_str("standard output was closed"),
        }
    }
}

/// What every command returns.
pub type CmdResult = Result<Outcome, Fatal>;
