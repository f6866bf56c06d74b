//! Writing files under a directory without ever following a symbolic link, for `export`.
//!
//! Each key is written by walking its path one component at a time from an open handle on
//! the export root (`openat` with `O_NOFOLLOW | O_DIRECTORY`), creating missing directories
//! with `mkdirat`. A component that is a symbolic link is refused, so neither a planted
//! link to a directory nor one to a file can send a write outside the root. The file is
//! written to a new temporary name (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renamed over the
//! target, so an existing hard link to a file elsewhere is replaced, not written through.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An open export root.
pub struct Root {
    dir: OwnedFd,
}

/// Why a key was not written.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A component of the path is a symbolic link (never followed).
    Symlink(String),
    /// Something that is not a directory stands where a directory is needed, or the
    /// target is not a regular file.
    NotAFile(String),
    /// The operating system refused (permissions, space...).
    Io(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Symlink(at) => write!(f, "{at} is a symbolic link (not followed)"),
            Refused::NotAFile(why) => f.write_str(why),
            Refused::Io(why) => f.write_str(why),
        }
    }
}

impl Root {
    /// Opens `dir` (which must exist and be a real directory, not a link).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let path = cstring(dir.as_os_str().as_bytes())?;
        // SAFETY: `path` is a valid NUL-terminated string; the returned fd, when not -1, is
        // a new descriptor that we own.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        Ok(Self { dir: owned(fd)? })
    }

    /// Writes `value` to the relative path `rel` (`/`-separated components, already
    /// checked to hold no empty, `.` or `..` component), creating directories as needed.
    pub fn write(&self, rel: &[u8], value: &[u8]) -> Result<(), Refused> {
        let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
        let (name, dirs) = parts.split_last().expect("split yields at least one part");
        let mut walked = Vec::new();
        let mut current: Option<OwnedFd> = None;
        for dir in dirs {
            walked.push(String::from_utf8_lossy(dir).into_owned());
            let at = current.as_ref().unwrap_or(&self.dir);
            current = Some(enter(at, dir, &walked.join("/"))?);
        }
        let at = current.as_ref().unwrap_or(&self.dir);
        write_file(at, name, value, &String::from_utf8_lossy(rel))
    }
}

/// Opens the directory `name` under `at`, creating it when missing; refuses a link.
fn enter(at: &OwnedFd, name: &[u8], shown: &str) -> Result<OwnedFd, Refused> {
    let c = cstring(name).map_err(|e| Refused::Io(e.to_string()))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    for _ in 0..2 {
        // SAFETY: `at` is an open directory fd and `c` a valid C string.
        let fd = unsafe { libc::openat(at.as_raw_fd(), c.as_ptr(), flags) };
        match owned(fd) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                // SAFETY: as above; mkdirat creates one directory entry, no fd.
                let made = unsafe { libc::mkdirat(at.as_raw_fd(), c.as_ptr(), 0o777) };
                if made != 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(Refused::Io(format!("create directory {shown}: {e}")));
                    }
                }
            }
            Err(e) => return Err(classify(at, &c, shown, e, true)),
        }
    }
    Err(Refused::Io(format!("directory {shown} keeps changing")))
}

/// Writes a regular file `name` under `at` through a temporary name and a rename.
fn write_file(at: &OwnedFd, name: &[u8], value: &[u8], shown: &str) -> Result<(), Refused> {
    let c = cstring(name).map_err(|e| Refused::Io(e.to_string()))?;
    if let Some(kind) = kind_of(at, &c) {
        match kind {
            libc::S_IFREG => {}
            libc::S_IFLNK => return Err(Refused::Symlink(shown.into())),
            libc::S_IFDIR => {
                return Err(Refused::NotAFile(format!(
                    "{shown} is a directory (another key has it as a prefix)"
                )));
            }
            _ => return Err(Refused::NotAFile(format!("{shown} is not a regular file"))),
        }
    }
    let mut tmp_name = b".stratacache-export-".to_vec();
    tmp_name.extend_from_slice(std::process::id().to_string().as_bytes());
    let tmp = cstring(&tmp_name).map_err(|e| Refused::Io(e.to_string()))?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `at` is an open directory fd and `tmp` a valid C string.
    let fd = unsafe { libc::openat(at.as_raw_fd(), tmp.as_ptr(), flags, 0o666 as libc::c_uint) };
    let fd = owned(fd).map_err(|e| Refused::Io(format!("create {shown}: {e}")))?;
    let mut file = File::from(fd);
    let written = file.write_all(value).and_then(|()| file.flush());
    drop(file);
    // SAFETY: both names are valid C strings relative to the open directory `at`.
    let renamed = written.and_then(|()| {
        match unsafe { libc::renameat(at.as_raw_fd(), tmp.as_ptr(), at.as_raw_fd(), c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    });
    renamed.map_err(|e| {
        // SAFETY: as above; removes the temporary name only.
        unsafe { libc::unlinkat(at.as_raw_fd(), tmp.as_ptr(), 0) };
        Refused::Io(format!("write {shown}: {e}"))
    })
}

/// The file type (`S_IFMT` bits) of `name` under `at`, not following a link; `None` when
/// it does not exist (or cannot be examined).
fn kind_of(at: &OwnedFd, name: &CString) -> Option<libc::mode_t> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer for one `stat`; it is read only on success.
    let rc = unsafe {
        libc::fstatat(
            at.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: fstatat returned 0, so it filled `st`.
    (rc == 0).then(|| unsafe { st.assume_init() }.st_mode & libc::S_IFMT)
}

/// Turns a failed `openat` of a directory component into a clear refusal.
fn classify(at: &OwnedFd, name: &CString, shown: &str, e: std::io::Error, dir: bool) -> Refused {
    match kind_of(at, name) {
        Some(libc::S_IFLNK) => Refused::Symlink(shown.into()),
        Some(kind) if dir && kind != libc::S_IFDIR => Refused::NotAFile(format!(
            "{shown} is a file, but another key needs it to be a directory"
        )),
        _ => Refused::Io(format!("open {shown}: {e}")),
    }
}

fn cstring(bytes: &[u8]) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", OsStr::from_bytes(bytes)),
        )
    })
}

fn owned(fd: libc::c_int) -> std::io::Result<OwnedFd> {
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor a successful open/openat just returned to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
