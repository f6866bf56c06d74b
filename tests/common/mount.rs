//! A real small file system for disk-full tests: a tmpfs of a few MiB, mounted for the test
//! and unmounted when dropped. Needs root (CI is): without it a test prints a loud SKIP,
//! or fails when `STRATACACHE_REQUIRE_MOUNT=1` (CI sets it).

use std::path::Path;
use std::process::Command;

/// A mounted tmpfs; unmounted on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB for `test`, or `None` (after a loud SKIP) when this
    /// process cannot mount.
    pub fn mount(test: &str, mib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(Self { dir });
        }
        if std::env::var("STRATACACHE_REQUIRE_MOUNT").is_ok_and(|v| v == "1") {
            panic!("{test}: cannot mount a tmpfs (needs root), and STRATACACHE_REQUIRE_MOUNT=1");
        }
        eprintln!("\n*** SKIP {test}: cannot mount a tmpfs here (needs root) ***\n");
        None
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
