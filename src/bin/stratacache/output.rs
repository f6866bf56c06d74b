//! Writing results to standard output; a reader that went away (`| head`) ends the
//! command quietly instead of a panic.

use std::io::Write;

use crate::exit::Fatal;

/// Writes `bytes` to standard output and flushes.
pub fn write(bytes: &[u8]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)
}

/// Writes one line of text to standard output.
pub fn line(text: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)
}
