//! `export DIR [--prefix P]`: write every live entry to `DIR/<full key>`.
//!
//! A key becomes a relative path by its `/`-separated components. Keys that could land
//! outside DIR (a leading `/`, a `.` or `..` component, an empty component) or inside the
//! store itself are refused, reported and counted; the exit code is then 2. Symbolic links
//! already in DIR are never followed (see `nofollow`): a key whose path meets one is
//! refused the same way. A record found corrupt while reading makes the exit code 3.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::store::Store;

use crate::cli::ExportArgs;
use crate::commands::keys;
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::nofollow::Root;
use crate::progress;
use crate::units::{count, counted, grouped, human_size};

/// Exports the live entries under a prefix.
pub fn run(store: &Store, args: ExportArgs) -> CmdResult {
    let started = Instant::now();
    let own = store
        .dir()
        .canonicalize()
        .map_err(|e| Fatal::io("resolve", store.dir(), e))?;
    // Checked before anything is created, so a refused export leaves no trace in the store.
    if planned_path(&args.target)?.starts_with(&own) {
        return Err(Fatal::msg(format!(
            "refusing to export into the store directory {}",
            own.display()
        )));
    }
    std::fs::create_dir_all(&args.target).map_err(|e| Fatal::io("create", &args.target, e))?;
    let out = args
        .target
        .canonicalize()
        .map_err(|e| Fatal::io("resolve", &args.target, e))?;
    let root = Root::open(&out).map_err(|e| Fatal::io("open", &out, e))?;
    let corruptions_before = store.stats()?.corruptions;
    let prefix = keys::from_arg(&args.prefix);
    // Two passes over the index, a page at a time: the first only adds up the sizes for the
    // progress bar, so that memory stays bounded however many entries there are.
    let mut total = 0u64;
    store.for_each_page(prefix, |page| -> Result<(), Fatal> {
        total += page.iter().map(|e| e.size).sum::<u64>();
        Ok(())
    })?;
    let pb = progress::bytes(total, "export");
    let (mut files, mut bytes, mut vanished, mut failed) = (0u64, 0u64, 0u64, 0u64);
    store.for_each_page(prefix, |entries| -> Result<(), Fatal> {
        for entry in &entries {
            pb.inc(entry.size);
            let shown = keys::show(&entry.key);
            let target = match relative_path(&entry.key) {
                Ok(rel) => out.join(rel),
                Err(why) => {
                    progress::note(&pb, &format!("refused key {shown:?}: {why}"));
                    failed += 1;
                    continue;
                }
            };
            if target.starts_with(&own) {
                progress::note(
                    &pb,
                    &format!("refused key {shown:?}: it would write into the store"),
                );
                failed += 1;
                continue;
            }
            let Some(value) = store.get(&entry.key)? else {
                progress::note(
                    &pb,
                    &format!("skipped key {shown:?}: expired or unreadable"),
                );
                vanished += 1;
                continue;
            };
            match root.write(&entry.key, &value) {
                Ok(()) => {
                    files += 1;
                    bytes += value.len() as u64;
                }
                Err(why) => {
                    progress::note(&pb, &format!("failed key {shown:?}: {why}"));
                    failed += 1;
                }
            }
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    eprintln!(
        "stratacache: exported {} ({}) in {secs:.1}s ({}/s); skipped {}; failed {}",
        count(files, "file"),
        human_size(bytes),
        human_size((bytes as f64 / secs) as u64),
        grouped(vanished),
        grouped(failed)
    );
    let corrupt = store.stats()?.corruptions - corruptions_before;
    if corrupt > 0 {
        let entries = counted(corrupt, "corrupt entry was", "corrupt entries were");
        eprintln!("stratacache: {entries} found and dropped");
        return Ok(Outcome::Corrupt);
    }
    Ok(if failed > 0 {
        Outcome::PartlyFailed
    } else {
        Outcome::Done
    })
}

/// The relative path for a key, or why the key cannot be a path under the export root.
pub fn relative_path(key: &[u8]) -> Result<&Path, &'static str> {
    if key.starts_with(b"/") {
        return Err("it starts with '/' and would escape the export directory");
    }
    if key.contains(&0) {
        return Err("it contains a NUL byte");
    }
    for part in key.split(|&b| b == b'/') {
        match part {
            b"" => return Err("it has an empty path component ('//' or a trailing '/')"),
            b"." => return Err("it has a '.' component"),
            b".." => return Err("it has a '..' component and would escape the export directory"),
            _ => {}
        }
    }
    Ok(Path::new(OsStr::from_bytes(key)))
}

/// Where `target` will be once created: its deepest existing ancestor, resolved, joined
/// with the components that do not exist yet.
fn planned_path(target: &Path) -> Result<PathBuf, Fatal> {
    let absolute = std::path::absolute(target).map_err(|e| Fatal::io("resolve", target, e))?;
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    while std::fs::symlink_metadata(existing).is_err() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
            break;
        };
        missing.push(name.to_owned());
        existing = parent;
    }
    let mut resolved = existing
        .canonicalize()
        .map_err(|e| Fatal::io("resolve", existing, e))?;
    resolved.extend(missing.iter().rev());
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn keys_that_stay_inside() {
        assert!(relative_path(b"a").is_ok());
        assert!(relative_path(b"scans/2024/p1.txt").is_ok());
        assert!(relative_path(b"..hidden/x..y").is_ok());
    }

    #[test]
    fn keys_that_would_escape() {
        assert!(relative_path(b"/etc/passwd").is_err());
        assert!(relative_path(b"../x").is_err());
        assert!(relative_path(b"a/../../x").is_err());
        assert!(relative_path(b"a/..").is_err());
        assert!(relative_path(b"a//b").is_err());
        assert!(relative_path(b"a/").is_err());
        assert!(relative_path(b"./a").is_err());
        assert!(relative_path(b"a\0b").is_err());
    }
}
