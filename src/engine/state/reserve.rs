//! A little disk space held back for the index, so that a full file system fails one write
//! and not the store.
//!
//! When an append meets a full file system, the write fails alone, but the next checkpoint
//! must still commit the index (redb needs a few pages), or what was acknowledged before
//! could not be made durable. So while the file system is getting full (less than
//! [`LOW_SPACE`] free), the store keeps a file, `DIR/reserve`, of a fixed size: it is
//! deleted the moment a write finds the disk full, which gives the checkpoint room, and
//! made again once a checkpoint finds the space back. With plenty of free space there is
//! no reserve at all. It counts in the capacity like every other file of the store.
//!
//! Its size follows the index: redb grows its file by doubling, so the commit that must go
//! through on a full disk (the one that lets evicted segments go) may need as much room as
//! the index file already takes.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{free_bytes, io_err};
use crate::permissions::Sharing;

/// Name of the reserve file in the store directory.
const RESERVE_FILE: &str = "reserve";

/// Below this much free space on the file system, the store holds its reserve.
pub const LOW_SPACE: u64 = 256 << 20;

/// The reserve file: its size, and whether it is there.
pub struct SpaceReserve {
    path: PathBuf,
    size: u64,
    sharing: Sharing,
    held: bool,
    /// Released because a write found the disk full, and not made again yet: until it is,
    /// writes leave its size free for the index.
    spent: bool,
}

impl SpaceReserve {
    /// The reserve of a store with `capacity` bytes in `dir`: 1/64 of the capacity, between
    /// 256 KiB and 1 MiB. Made now if the file system is getting full (a failure to make
    /// it is not an error: the store runs without it, as if it had been spent).
    pub fn open(dir: &Path, capacity: u64, sharing: Sharing) -> Self {
        let mut reserve = Self {
            path: dir.join(RESERVE_FILE),
            size: reserve_size(capacity),
            sharing,
            held: false,
            spent: false,
        };
        // A reserve left by an earlier open counts at its own length, whatever the capacity
        // now (or half written when a crash hit `make`): releasing it frees what it holds.
        if let Ok(meta) = reserve.path.metadata() {
            reserve.size = reserve.size.max(meta.len());
            reserve.held = meta.len() > 0;
        }
        reserve.keep_up();
        reserve
    }

    /// Bytes it holds on disk now.
    pub fn bytes(&self) -> u64 {
        if self.held {
            self.path.metadata().map_or(0, |m| m.len())
        } else {
            0
        }
    }

    /// Bytes of its size it does not hold on disk now (all of it when released).
    pub fn shortfall(&self) -> u64 {
        self.size.saturating_sub(self.bytes())
    }

    /// The index file is `index_len` bytes now: the reserve grows to match (see the module
    /// doc). A held reserve smaller than that is made again at the new size.
    pub fn follow_index(&mut self, capacity: u64, index_len: u64) {
        let size = reserve_size(capacity).max(index_len);
        if size > self.size {
            self.size = size;
            if self.held && self.bytes() < size {
                self.held = self.make().is_ok();
            }
        }
    }

    /// Gives the space back to the file system (a write found it full).
    pub fn release(&mut self) {
        self.spent = true;
        let removed = std::fs::remove_file(&self.path).is_ok();
        if self.held || removed {
            self.held = false;
            log::warn!(
                "stratacache: the file system holding {} is full; released the {} byte reserve so \
                 the index can still commit",
                self.path.display(),
                self.size
            );
        }
    }

    /// Makes the reserve if the file system is getting full but still has room for it
    /// several times over (after a release, once the space is back).
    pub fn keep_up(&mut self) {
        if self.held {
            return;
        }
        let free = free_bytes(&self.path);
        if free < LOW_SPACE && free >= 4 * self.size {
            self.held = self.make().is_ok();
        }
        // Without a reserve on a nearly full file system, writes keep its size free.
        self.spent = !self.held && free < LOW_SPACE;
    }

    /// Before an index commit: when the file system has less free than the reserve holds,
    /// release it, so the commit has room.
    pub fn release_if_low(&mut self) {
        if self.held && free_bytes(&self.path) < self.size {
            self.release();
        }
    }

    /// While the reserve is spent, a write of `need` bytes must leave its size free on the
    /// file system, or the next checkpoint could not commit: `Err(free bytes)` refuses it.
    pub fn check_room(&self, need: u64) -> Result<(), u64> {
        if !self.spent {
            return Ok(());
        }
        let free = free_bytes(&self.path);
        if free >= need.saturating_add(self.size) {
            Ok(())
        } else {
            Err(free)
        }
    }

    fn make(&self) -> crate::error::Result<()> {
        let file: File = self
            .sharing
            .file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.path)
            .map_err(io_err("create reserve", &self.path))?;
        self.sharing
            .created_file(&self.path)
            .map_err(io_err("set permissions of reserve", &self.path))?;
        // Written, not only sized: a sparse file would hold no space at all.
        let block = vec![0u8; 64 << 10];
        let mut at = 0;
        while at < self.size {
            let n = block.len().min((self.size - at) as usize);
            std::os::unix::fs::FileExt::write_all_at(&file, &block[..n], at).map_err(|e| {
                let _ = std::fs::remove_file(&self.path);
                io_err("write reserve", &self.path)(e)
            })?;
            at += n as u64;
        }
        file.sync_all().map_err(io_err("sync reserve", &self.path))
    }
}

fn reserve_size(capacity: u64) -> u64 {
    (capacity / 64).clamp(256 << 10, 1 << 20)
}
