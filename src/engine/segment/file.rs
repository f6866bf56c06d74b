//! One open segment file and its read mapping.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapOptions};

use super::faults::{FaultPoint, Faults, check};
use super::format::{SEGMENT_HEADER_LEN, decode_segment_header, encode_segment_header};
use crate::error::{Error, io_err, write_err};
use crate::permissions::Sharing;

/// An open segment: the file (for positional writes and syncs) and a read-only mapping.
///
/// The mapping may be longer than the file (the active segment is mapped at its full
/// reserved size and grows into it); `readable_len` is the prefix known to be in the file,
/// and no read ever goes past it.
#[derive(Debug)]
pub struct Segment {
    id: u32,
    path: PathBuf,
    file: File,
    map: Option<Mmap>,
    readable_len: AtomicU64,
}

/// File name of segment `id` inside the segments directory.
pub fn segment_file_name(id: u32) -> String {
    format!("{id:08}.seg")
}

/// Parses a segment file name back to its id.
pub fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Segment {
    /// Creates a new segment file with its header, mapped at `reserve` bytes, readable by
    /// whom `sharing` says (`faults`: what a test armed).
    pub fn create(
        dir: &Path,
        id: u32,
        reserve: u64,
        sharing: Sharing,
        faults: Option<&Faults>,
    ) -> Result<Self, Error> {
        let path = dir.join(segment_file_name(id));
        let file = sharing
            .file_options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| write_err("create segment", &path, SEGMENT_HEADER_LEN as u64, e))?;
        let ready = sharing
            .created_file(&path)
            .map_err(io_err("set permissions of segment", &path))
            .and_then(|()| {
                file.write_all_at(&encode_segment_header(id as u64), 0)
                    .map_err(|e| {
                        write_err("write segment header", &path, SEGMENT_HEADER_LEN as u64, e)
                    })
            })
            .and_then(|()| {
                check(faults, FaultPoint::Map).map_err(io_err("mmap segment", &path))?;
                Self::map(&file, &path, reserve)
            });
        let map = match ready {
            Ok(map) => map,
            Err(e) => {
                // Not in the index yet: a half-made file is only in the way.
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok(Self {
            id,
            path,
            file,
            map: Some(map),
            readable_len: AtomicU64::new(SEGMENT_HEADER_LEN as u64),
        })
    }

    /// Opens an existing segment file. `expected_len` is the length the index recorded;
    /// a longer file is cut back to it when `truncate_tail` is set (bytes past the last
    /// durable commit are garbage). The mapping covers `reserve` bytes when the segment is
    /// active (writable), otherwise the file's length.
    pub fn open(
        dir: &Path,
        id: u32,
        expected_len: u64,
        reserve: Option<u64>,
    ) -> Result<Self, Error> {
        let path = dir.join(segment_file_name(id));
        let file = OpenOptions::new()
            .read(true)
            .write(reserve.is_some())
            .open(&path)
            .map_err(io_err("open segment", &path))?;
        let mut file_len = file
            .metadata()
            .map_err(io_err("stat segment", &path))?
            .len();
        if reserve.is_some() && file_len > expected_len {
            file.set_len(expected_len)
                .map_err(io_err("truncate segment tail", &path))?;
            file_len = expected_len;
        }
        let readable = file_len.min(expected_len);
        let map_len = reserve.unwrap_or(file_len).max(file_len);
        let map = if map_len == 0 {
            None
        } else {
            Some(Self::map(&file, &path, map_len)?)
        };
        let seg = Self {
            id,
            path,
            file,
            map,
            readable_len: AtomicU64::new(readable),
        };
        Ok(seg)
    }

    fn map(file: &File, path: &Path, len: u64) -> Result<Mmap, Error> {
        // SAFETY: the mapping is read-only. Segment files are append-only: bytes below
        // `readable_len` are never rewritten while mapped (a file is only truncated at open,
        // before mapping, and deleted only after no index entry refers to it; the deleted
        // file's pages stay valid for mappings still held). Reads never go past
        // `readable_len`, which is within the file, so the part of the mapping beyond the
        // end of the file is never touched.
        unsafe { MmapOptions::new().len(len as usize).map(file) }
            .map_err(io_err("mmap segment", path))
    }

    /// Checks the segment header; returns a reason when it is unusable.
    pub fn check_header(&self) -> Result<(), String> {
        let id = decode_segment_header(self.bytes(0, SEGMENT_HEADER_LEN).unwrap_or(&[]))
            .map_err(|e| format!("segment header: {e}"))?;
        if id != self.id as u64 {
            return Err(format!("segment header names segment {id}"));
        }
        Ok(())
    }

    /// Segment id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file, for positional writes and syncs.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Length of the mapping: writes must stay within it.
    pub fn reserved_len(&self) -> u64 {
        self.map.as_ref().map_or(0, |m| m.len() as u64)
    }

    /// Bytes known to be in the file.
    pub fn readable_len(&self) -> u64 {
        self.readable_len.load(Ordering::Acquire)
    }

    /// Records that the file now holds `len` bytes (after a completed write).
    pub fn set_readable_len(&self, len: u64) {
        self.readable_len.store(len, Ordering::Release);
    }

    /// `len` bytes at `offset`, or `None` if they are not (all) in the file.
    pub fn bytes(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len as u64)?;
        if end > self.readable_len() {
            return None;
        }
        let map = self.map.as_ref()?;
        map.get(offset as usize..end as usize)
    }

    /// All readable bytes from `offset` to the end of what is written.
    pub fn tail(&self, offset: u64) -> Option<&[u8]> {
        let len = self.readable_len().checked_sub(offset)?;
        self.bytes(offset, len as usize)
    }
}
