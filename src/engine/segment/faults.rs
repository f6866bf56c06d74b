//! A seam for tests: make the N-th write, sync or mmap of a store fail, as a full disk, a
//! dying one or an exhausted address space would. The engine asks [`Faults::check`] before
//! each segment write (appends and segment creation), each sync (segments and the segments
//! directory) and each mapping of a new segment; nothing is armed in normal use. (The
//! engine renames no files: segments are created under their final names, so there is no
//! rename to fail.)

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// What the engine is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Write to a segment file (an append, or creating a segment).
    Write,
    /// `fdatasync` a segment or sync the segments directory.
    Sync,
    /// Map a new segment into memory.
    Map,
}

/// Armed failures, shared between a test and the store it opened.
#[derive(Debug, Default)]
pub struct Faults {
    write_in: AtomicU64,
    write_errno: AtomicI32,
    sync_in: AtomicU64,
    sync_errno: AtomicI32,
    map_in: AtomicU64,
    map_errno: AtomicI32,
}

impl Faults {
    /// Makes the `nth` next write (1 = the very next) fail with `errno`.
    pub fn fail_write(&self, nth: u64, errno: i32) {
        self.write_errno.store(errno, Ordering::Relaxed);
        self.write_in.store(nth, Ordering::Relaxed);
    }

    /// Makes the `nth` next sync (1 = the very next) fail with `errno`.
    pub fn fail_sync(&self, nth: u64, errno: i32) {
        self.sync_errno.store(errno, Ordering::Relaxed);
        self.sync_in.store(nth, Ordering::Relaxed);
    }

    /// Makes the `nth` next mapping of a new segment (1 = the very next) fail with `errno`.
    pub fn fail_map(&self, nth: u64, errno: i32) {
        self.map_errno.store(errno, Ordering::Relaxed);
        self.map_in.store(nth, Ordering::Relaxed);
    }

    /// Makes the `nth` next operation at `point` fail with `errno`.
    pub fn fail(&self, point: FaultPoint, nth: u64, errno: i32) {
        match point {
            FaultPoint::Write => self.fail_write(nth, errno),
            FaultPoint::Sync => self.fail_sync(nth, errno),
            FaultPoint::Map => self.fail_map(nth, errno),
        }
    }

    /// Disarms every armed failure.
    pub fn disarm(&self) {
        self.write_in.store(0, Ordering::Relaxed);
        self.sync_in.store(0, Ordering::Relaxed);
        self.map_in.store(0, Ordering::Relaxed);
    }

    /// True while an armed failure has not fired yet.
    pub fn armed(&self) -> bool {
        [&self.write_in, &self.sync_in, &self.map_in]
            .iter()
            .any(|n| n.load(Ordering::Relaxed) > 0)
    }

    /// Counts one operation at `point`; the error armed for it when its turn has come.
    pub fn check(&self, point: FaultPoint) -> std::io::Result<()> {
        let (countdown, errno) = match point {
            FaultPoint::Write => (&self.write_in, &self.write_errno),
            FaultPoint::Sync => (&self.sync_in, &self.sync_errno),
            FaultPoint::Map => (&self.map_in, &self.map_errno),
        };
        let fired = countdown
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok_and(|before| before == 1);
        if fired {
            return Err(std::io::Error::from_raw_os_error(
                errno.load(Ordering::Relaxed),
            ));
        }
        Ok(())
    }
}

/// Checks `faults`, when a test armed any.
pub fn check(faults: Option<&Faults>, point: FaultPoint) -> std::io::Result<()> {
    faults.map_or(Ok(()), |f| f.check(point))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_operation_fails_once() {
        let faults = Faults::default();
        faults.fail_write(2, libc::ENOSPC);
        assert!(faults.check(FaultPoint::Write).is_ok());
        assert!(faults.check(FaultPoint::Sync).is_ok());
        let err = faults.check(FaultPoint::Write).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert!(faults.check(FaultPoint::Write).is_ok());
    }
}
