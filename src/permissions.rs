//! Who may read a store: the permission bits of the directories and files it creates.
//!
//! A store holds whatever its users cached (OCR text of private documents, sessions), so by
//! default only its owner can read it, or take its lock: directories `0700`, files `0600`.
//! A store shared by a group of users gets `0770` / `0660` instead, set explicitly so that
//! a umask of `022` does not take the group's write bit away.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The permission bits a store creates its directories and files with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Owner only: directories `0700`, files `0600`.
    Owner,
    /// Owner and group: directories `0770`, files `0660` (whatever the umask).
    Group,
}

impl Sharing {
    /// Permission bits for a directory.
    pub fn dir_mode(self) -> u32 {
        match self {
            Sharing::Owner => 0o700,
            Sharing::Group => 0o770,
        }
    }

    /// Permission bits for a file.
    pub fn file_mode(self) -> u32 {
        match self {
            Sharing::Owner => 0o600,
            Sharing::Group => 0o660,
        }
    }

    /// Creates `dir` and any missing parents with this access (parents that exist keep
    /// theirs).
    pub(crate) fn create_dir_all(self, dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        DirBuilder::new()
            .recursive(true)
            .mode(self.dir_mode())
            .create(dir)?;
        self.widen(dir, self.dir_mode())
    }

    /// Options that create a file with this access.
    pub(crate) fn file_options(self) -> OpenOptions {
        let mut options = OpenOptions::new();
        options.mode(self.file_mode());
        options
    }

    /// Sets the group bits the umask may have taken away from a file this store created.
    pub(crate) fn created_file(self, path: &Path) -> io::Result<()> {
        self.widen(path, self.file_mode())
    }

    fn widen(self, path: &Path, mode: u32) -> io::Result<()> {
        match self {
            Sharing::Owner => Ok(()),
            Sharing::Group => std::fs::set_permissions(path, Permissions::from_mode(mode)),
        }
    }
}
