//! Finding the files an import stores: every regular file under a root, in name order,
//! with its relative path as key bytes (`/`-separated).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A regular file to import.
#[derive(Debug)]
pub struct Found {
    /// Where it is.
    pub path: PathBuf,
    /// Its path relative to the root, components joined with `/`, as bytes.
    pub rel: Vec<u8>,
    /// Its length when the walk saw it.
    pub len: u64,
}

/// Something under the root that will not be imported, and why.
#[derive(Debug)]
pub struct Problem {
    /// Where it is.
    pub path: PathBuf,
    /// Why it is left out.
    pub reason: String,
    /// True for an error (unreadable directory), false for a deliberate skip (a symlink).
    pub failed: bool,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files, in order.
    pub files: Vec<Found>,
    /// Entries left out.
    pub problems: Vec<Problem>,
}

/// Walks `root` depth-first in name order without following symbolic links. The
/// directory `exclude` (the store itself, when it lies under the root) is left out.
pub fn walk(root: &Path, exclude: &Path) -> Walk {
    let excluded = fs::metadata(exclude).ok().map(|m| (m.dev(), m.ino()));
    let mut out = Walk::default();
    let mut stack = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries = match fs::read_dir(&dir) {
            Ok(iter) => match iter.collect::<Result<Vec<_>, _>>() {
                Ok(entries) => entries,
                Err(e) => {
                    out.problems
                        .push(failed(&dir, format!("cannot list directory: {e}")));
                    continue;
                }
            },
            Err(e) => {
                out.problems
                    .push(failed(&dir, format!("cannot list directory: {e}")));
                continue;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let mut key = rel.clone();
            if !key.is_empty() {
                key.push(b'/');
            }
            key.extend_from_slice(entry.file_name().as_encoded_bytes());
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    out.problems.push(failed(&path, e.to_string()));
                    continue;
                }
            };
            let kind = meta.file_type();
            if kind.is_dir() {
                if excluded != Some((meta.dev(), meta.ino())) {
                    subdirs.push((path, key));
                }
            } else if kind.is_file() {
                out.files.push(Found {
                    path,
                    rel: key,
                    len: meta.len(),
                });
            } else {
                let what = if kind.is_symlink() {
                    "symbolic link (not followed)"
                } else {
                    "not a regular file"
                };
                out.problems.push(Problem {
                    path,
                    reason: what.into(),
                    failed: false,
                });
            }
        }
        // Popped in reverse, so the first subdirectory is walked first.
        stack.extend(subdirs.into_iter().rev());
    }
    out
}

fn failed(path: &Path, reason: String) -> Problem {
    Problem {
        path: path.to_path_buf(),
        reason,
        failed: true,
    }
}
