//! Out of file descriptors in the models whose workers block in `accept4`
//! (thread, prethread:N, prefork:N): as the event loops do (event.rs), an
//! `accept4` that fails with EMFILE or ENFILE is reported once and
//! accepting pauses, the live connections are served meanwhile:
//!
//! 1. `accept4` = -1 EMFILE: the error line, once per shortage (a pool's
//!    workers share it): not again until an `accept4` succeeds at its
//!    first try while no worker waits for an fd;
//! 2. `--model thread` with no connection live (nothing will free an fd):
//!    the server fails, as the event loops do. Not the pools: a worker
//!    blocked in `accept4` holds an fd for the connection to come (Linux
//!    reserves it before waiting), so `prethread:100` under `ulimit -n 64`
//!    has EMFILE in 40 workers before any connection;
//! 3. otherwise the worker waits until a connection is closed (the worker
//!    that served it says so, no syscall of ours: a futex) or [`RETRY`]
//!    passes (fds freed elsewhere), checking for a stop signal every
//!    [`SIGNAL_CHECK`]; then `accept4` again (1).
//!
//! No busy loop: one `accept4` per closed connection or per [`RETRY`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::programs::conn::accept_error_is_the_peers;
use crate::programs::server_opts::ServerOpts;
use crate::socket::modes;
use crate::strace::lock;
use crate::sys::signals;
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// The longest wait for a closed connection before `accept4` is tried again.
pub const RETRY: Duration = Duration::from_secs(1);
/// How often a paused worker looks for a stop signal (a futex wait is not
/// interrupted by one).
pub const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Connections opened and closed by the workers of one process.
pub struct Conns {
    opened: AtomicU64,
    closed: AtomicU64,
    waiters: AtomicUsize,
    /// Step 1's line is out and the shortage is not over.
    reported: AtomicBool,
    lock: Mutex<()>,
    freed: Condvar,
}

impl Default for Conns {
    fn default() -> Conns {
        Conns {
            opened: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            reported: AtomicBool::new(false),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        }
    }
}

impl Conns {
    /// A connection was accepted.
    pub fn opened(&self) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }

    /// A connection was closed: wake the workers waiting for a free fd
    /// (a lock and a futex wake only when one waits).
    pub fn closed(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _held = lock(&self.lock);
            self.freed.notify_all();
        }
    }

    fn live(&self) -> u64 {
        let closed = self.closed.load(Ordering::SeqCst);
        self.opened.load(Ordering::SeqCst).saturating_sub(closed)
    }

    /// Wait until every connection opened is closed, or Err(Signal) on a
    /// stop signal: `--model thread` before it joins its threads (a join
    /// is a futex wait, which a stop signal does not end: the server
    /// would stop only when its last client went).
    pub fn all_closed(&self) -> Result<()> {
        loop {
            let seen = self.closed.load(Ordering::SeqCst);
            if self.live() == 0 {
                return Ok(());
            }
            self.wait(seen)?;
        }
    }

    /// Step 3: wait until a connection closed after `seen` closes had been
    /// counted, or [`RETRY`]; Err(Signal) on a stop signal.
    fn wait(&self, seen: u64) -> Result<()> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + RETRY;
        let mut held = lock(&self.lock);
        let result = loop {
            if let Some(sig) = signals::pending() {
                break Err(Error::Signal(sig));
            }
            if self.closed.load(Ordering::SeqCst) != seen {
                break Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                break Ok(());
            }
            let slice = (deadline - now).min(SIGNAL_CHECK);
            held = match self.freed.wait_timeout(held, slice) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        };
        drop(held);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// `accept4` as the iterative server makes it, with steps 1 to 3 around
/// it (`pool`: without step 2). None: the failure was the new
/// connection's (reported; accept(2): the listener is fine). The accepted
/// connection is counted as open.
pub fn accept(
    sys: &Sys,
    listener: Socket,
    opts: &ServerOpts,
    conns: &Conns,
    pool: bool,
) -> Result<Option<(Socket, Addr)>> {
    let mut paused = false;
    loop {
        let seen = conns.closed.load(Ordering::SeqCst);
        match modes::accept(sys, listener, opts.setup.wait) {
            Ok(c) => {
                conns.opened();
                // Out of the pause: an accept4 that did not fail first,
                // while no worker waits for an fd.
                if !paused
                    && conns.reported.load(Ordering::Relaxed)
                    && conns.waiters.load(Ordering::SeqCst) == 0
                {
                    conns.reported.store(false, Ordering::SeqCst);
                }
                return Ok(Some(c));
            }
            Err(e) if e.errno().is_some_and(accept_error_is_the_peers) => {
                crate::output::report(&e);
                return Ok(None);
            }
            Err(e) if matches!(e.errno(), Some(Errno::EMFILE | Errno::ENFILE)) => {
                if !pool && conns.live() == 0 {
                    return Err(e);
                }
                paused = true;
                if !conns.reported.swap(true, Ordering::SeqCst) {
                    crate::output::report(&e);
                }
                conns.wait(seen)?;
            }
            Err(e) => return Err(e),
        }
    }
}
