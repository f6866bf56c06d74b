//! Group commit for `--durability always`: a write is answered only once it is durable, and
//! one flush makes the writes of every client waiting at that moment durable together.
//!
//! A connection takes a ticket after its writes ran and awaits it; a committer thread
//! flushes whenever tickets are waiting and publishes how far it got. No worker thread of
//! the server ever blocks on a flush.
//!
//! The committer lingers before it flushes: while tickets keep arriving less than
//! [`LINGER_GAP`] apart, and for no longer than the last flush took, it lets them join.
//! Without it, the first client answered after a flush wakes the committer at once, and the
//! next flush covers that client alone while the others' writes queue for the one after.
//! With 50 clients the linger lets a flush cover nearly all of them; it adds at most one
//! flush's time to a write's wait, where the writes it gathers would otherwise wait for a
//! whole flush more.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// While lingering, the committer waits this long for one more ticket: about the time a
/// worker takes to parse, run and answer a batch of writes on this kind of machine.
pub const LINGER_GAP: Duration = Duration::from_micros(100);

/// How far flushes got: every ticket up to `done` is durable, unless the flush covering it
/// failed (`failed`: up to which ticket, and why).
#[derive(Debug, Clone, Default)]
struct Durable {
    done: u64,
    failed: Option<(u64, String)>,
}

#[derive(Default)]
struct Issued {
    last: u64,
    stop: bool,
}

/// Coordinates durable acknowledgements between connections.
pub struct GroupCommit {
    issued: Mutex<Issued>,
    wake: Condvar,
    durable: watch::Sender<Durable>,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            issued: Mutex::default(),
            wake: Condvar::new(),
            durable: watch::Sender::new(Durable::default()),
        }
    }
}

impl GroupCommit {
    /// A ticket for the writes the caller has finished (wakes the committer).
    pub fn ticket(&self) -> u64 {
        let mut issued = self.issued.lock();
        issued.last += 1;
        self.wake.notify_one();
        issued.last
    }

    /// Resolves once `ticket` is durable; the error of the flush that covered it otherwise.
    pub async fn durable(&self, ticket: u64) -> Result<(), String> {
        let mut rx = self.durable.subscribe();
        let state = rx
            .wait_for(|d| d.done >= ticket)
            .await
            .map_err(|_| "the server is stopping".to_string())?;
        match &state.failed {
            Some((upto, why)) if *upto >= ticket => Err(why.clone()),
            _ => Ok(()),
        }
    }

    /// The committer: flushes whenever tickets wait, until [`GroupCommit::stop`].
    pub fn run(&self, flush: impl Fn() -> crate::Result<()>) {
        let mut done = 0;
        let mut last_flush = Duration::ZERO;
        loop {
            let target = {
                let mut issued = self.issued.lock();
                while issued.last == done && !issued.stop {
                    self.wake.wait(&mut issued);
                }
                if issued.last == done {
                    return;
                }
                self.linger(&mut issued, last_flush);
                issued.last
            };
            // Every ticket up to `target` was taken after its writes: this flush covers them.
            let started = Instant::now();
            let result = flush();
            last_flush = started.elapsed();
            done = target;
            self.durable.send_modify(|d| {
                d.done = target;
                d.failed = result.err().map(|e| (target, e.to_string()));
            });
        }
    }

    /// Waits while tickets keep coming less than [`LINGER_GAP`] apart, for at most `limit`
    /// (the last flush's time), so that one flush covers them.
    fn linger(&self, issued: &mut parking_lot::MutexGuard<'_, Issued>, limit: Duration) {
        let until = Instant::now() + limit;
        while !issued.stop {
            let gap = LINGER_GAP.min(until.saturating_duration_since(Instant::now()));
            if gap.is_zero() {
                return;
            }
            let seen = issued.last;
            self.wake.wait_for(issued, gap);
            if issued.last == seen {
                return;
            }
        }
    }

    /// Ends [`GroupCommit::run`] once the tickets taken so far are served.
    pub fn stop(&self) {
        self.issued.lock().stop = true;
        self.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn waiters_share_flushes_and_see_their_errors() {
        let commit = Arc::new(GroupCommit::default());
        let flushes = Arc::new(AtomicU64::new(0));
        let committer = {
            let (commit, flushes) = (commit.clone(), flushes.clone());
            std::thread::spawn(move || {
                commit.run(|| {
                    let n = flushes.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    if n == 0 {
                        Err(crate::Error::InvalidInput("first flush fails".into()))
                    } else {
                        Ok(())
                    }
                })
            })
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let first = commit.ticket();
        assert!(rt.block_on(commit.durable(first)).is_err());
        let tickets: Vec<u64> = (0..50).map(|_| commit.ticket()).collect();
        for t in tickets {
            rt.block_on(commit.durable(t)).unwrap();
        }
        commit.stop();
        committer.join().unwrap();
        assert!(flushes.load(Ordering::SeqCst) < 20);
    }

    #[test]
    fn a_steady_stream_of_tickets_does_not_hold_flushes_back() {
        let commit = Arc::new(GroupCommit::default());
        let committer = {
            let commit = commit.clone();
            std::thread::spawn(move || {
                commit.run(|| {
                    std::thread::sleep(Duration::from_millis(1));
                    Ok(())
                })
            })
        };
        // A ticket every 5 µs (a busy wait: a sleep that short oversleeps), far closer than
        // the linger gap, for up to 5 s.
        let feeding = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let feeder = {
            let (commit, feeding) = (commit.clone(), feeding.clone());
            std::thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(5);
                while feeding.load(Ordering::SeqCst) && Instant::now() < end {
                    commit.ticket();
                    let next = Instant::now() + Duration::from_micros(5);
                    while Instant::now() < next {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let started = Instant::now();
        // Several flushes in: each lingers for at most the last flush's time.
        for _ in 0..5 {
            let ticket = commit.ticket();
            rt.block_on(commit.durable(ticket)).unwrap();
        }
        let took = started.elapsed();
        feeding.store(false, Ordering::SeqCst);
        feeder.join().unwrap();
        commit.stop();
        committer.join().unwrap();
        assert!(took < Duration::from_secs(1), "5 flushes took {took:?}");
    }
}
