//! The threads that run refresh-ahead reloads: a small pool per cache, fed through a
//! bounded queue, so however many hot keys come due at once, a cache never runs more than
//! [`WORKERS`] background loaders nor keeps more than [`QUEUE`] waiting.
//!
//! A job that finds the queue full is handed back to the caller, which drops it (and with
//! it the flight's leader: the flight ends as abandoned, so the key's next hit may ask
//! again). The workers stop once the pool is dropped and the queue is drained; dropping
//! never waits for them, because the last handle of a cache may be dropped by a worker.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use parking_lot::Mutex;

/// Threads per cache that run reloads.
pub const WORKERS: usize = 2;
/// Reloads waiting for a worker, at most; past this a refresh is dropped.
pub const QUEUE: usize = 64;
/// Name of the worker threads (Linux shows its first 15 bytes, `stratacache-ref`).
pub const THREAD_NAME: &str = "stratacache-refresh";

/// One background reload.
pub type Job = Box<dyn FnOnce() + Send>;

/// The pool: the sending side of the queue the workers share.
pub struct Refresher {
    queue: Option<SyncSender<Job>>,
}

impl Refresher {
    /// Starts the workers. When no thread could be started, every job is refused.
    pub fn start() -> Self {
        let (queue, jobs) = sync_channel::<Job>(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        let mut started = 0;
        for _ in 0..WORKERS {
            let jobs = jobs.clone();
            match std::thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || work(&jobs))
            {
                Ok(_) => started += 1,
                Err(e) => log::warn!("stratacache: could not start a refresh thread: {e}"),
            }
        }
        Self {
            queue: (started > 0).then_some(queue),
        }
    }

    /// Queues `job` for a worker; hands it back when the queue is full.
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        let Some(queue) = &self.queue else {
            return Err(job);
        };
        queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
        })
    }
}

/// Runs jobs until the pool is gone and the queue is empty. A panicking job (the user's
/// loader) unwinds only itself; its panic is counted by the job.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // One worker waits in `recv` holding the lock, the other waits for the lock.
        let job = jobs.lock().recv();
        match job {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_full_queue_hands_jobs_back() {
        let pool = Refresher::start();
        let (release, gate) = channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (done, finished) = channel::<()>();
        let mut queued = 0;
        let mut refused = 0;
        for _ in 0..WORKERS + QUEUE + 10 {
            let (gate, done) = (gate.clone(), done.clone());
            let job: Job = Box::new(move || {
                let _ = gate.lock().recv();
                let _ = done.send(());
            });
            match pool.submit(job) {
                Ok(()) => queued += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(refused >= 10, "queued {queued}, refused {refused}");
        for _ in 0..queued {
            release.send(()).unwrap();
        }
        for _ in 0..queued {
            finished.recv().unwrap();
        }
    }

    #[test]
    fn a_panicking_job_keeps_its_worker() {
        let pool = Refresher::start();
        let (done, finished) = channel::<u32>();
        for i in 0..WORKERS as u32 * 2 {
            let done = done.clone();
            let job: Job = Box::new(move || {
                let _ = done.send(i);
                panic!("loader panic {i}");
            });
            pool.submit(job).ok().expect("room in the queue");
        }
        let mut seen: Vec<u32> = (0..WORKERS * 2).map(|_| finished.recv().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..WORKERS as u32 * 2).collect::<Vec<_>>());
    }
}
