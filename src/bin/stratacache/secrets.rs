//! Passwords for `serve` (its own, and Redis's): the first line of a file, or an environment
//! variable; never a command-line argument, so that they do not show in `ps`.

use std::path::Path;

use crate::exit::Fatal;

/// The secret in the first line of `file`, else `from_env` (the value of the environment
/// variable `env_name`), else `None`. An empty one is an error naming where it came from;
/// `what` says whose password it is ("the password", "the Redis password").
pub fn read_secret(
    file: Option<&Path>,
    from_env: Option<&String>,
    env_name: &str,
    what: &str,
) -> Result<Option<String>, Fatal> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|e| Fatal::io("read", file, e))?;
        let first = text.lines().next().unwrap_or("").to_string();
        if first.is_empty() {
            return Err(Fatal::msg(format!(
                "{what} file {} is empty",
                file.display()
            )));
        }
        return Ok(Some(first));
    }
    match from_env {
        Some(p) if p.is_empty() => Err(Fatal::msg(format!("{env_name} is set but empty"))),
        other => Ok(other.cloned()),
    }
}
