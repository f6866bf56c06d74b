//! A seam for tests: make the N-th write or sync of a store fail, as a full disk or a dying
//! one would. The engine asks [`Faults::check`] before each segment write (appends and
//! segment creation) and each sync; nothing is armed in normal use.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// What the engine is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Write to a segment file (an append, or creating a segment).
    Write,
    /// `fdatasync` a segment or sync the segments directory.
    Sync,
}

/// Armed failures, shared between a test and the store it opened.
#[derive(Debug, Default)]
pub struct Faults {
    write_in: AtomicU64,
    write_errno: AtomicI32,
    sync_in: AtomicU64,
    sync_errno: AtomicI32,
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

    /// Disarms every armed failure.
    pub fn disarm(&self) {
        self.write_in.store(0, Ordering::Relaxed);
        self.sync_in.store(0, Ordering::Relaxed);
    }

    /// Counts one operation at `point`; the error armed for it when its turn has come.
    pub fn check(&self, point: FaultPoint) -> std::io::Result<()> {
        let (countdown, errno) = match point {
            FaultPoint::Write => (&self.write_in, &self.write_errno),
            FaultPoint::Sync => (&self.sync_in, &self.sync_errno),
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
