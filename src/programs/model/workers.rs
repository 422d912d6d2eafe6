//! The models that give each connection its own process or thread, and
//! the pools. Each connection is served by `conn::serve_conn`, unchanged
//! from the iterative server (so `--once`, `--lines`, `--naive`,
//! `--timeout`, `--sockopt ...@accepted` and `--names` behave the same).
//!
//! fork: SIGCHLD is caught (without SA_RESTART): a child's exit interrupts
//! `accept4` (EINTR) and the parent reaps it at once.
//! Steps: [`wait4(-1, WNOHANG)` while children have ended], `accept4`,
//! `clone` (fork); the child: `close(listener)`, serve_conn, `exit_group`; the
//! parent: `close(conn)`, and again until `--once`/`--max-conns`; then
//! `wait4` for each child left, `close(listener)`.
//!
//! thread: 1. `accept4`; 2. a thread runs serve_conn (pthread_create
//! fails: reported, `close(conn)`, that connection alone fails); back to 1
//! until `--once`/`--max-conns`; 3. wait for the connections to close (a
//! stop signal ends the wait: pause.rs `all_closed`), join the threads;
//! `close(listener)`.
//!
//! prefork:N: 1. `getpid`; N times `clone`; each child:
//! `prctl(PR_SET_PDEATHSIG, SIGTERM)`, `getppid` (the parent is gone
//! already: die by SIGTERM), then loops: `accept4` on the shared listener,
//! serve_conn; 2. `listening on`; the parent waits: `wait4(-1, 0)` per
//! child; a worker that ends badly (killed, exit status not 0) is
//! reported; when none is left after such an end the server fails (exit
//! 1, not a respawn: a worker that failed would fail again, in a loop);
//! 3. `close(listener)`.
//!
//! prethread:N: N-1 threads are started, then `listening on`; the N
//! threads (the main thread is one) loop: `accept4` on the shared
//! listener, serve_conn; then join them and `close(listener)`. A worker
//! thread that fails is reported as it ends.
//!
//! Out of fds (`accept4`: EMFILE, ENFILE) in thread, prethread and
//! prefork: reported once, accepting pauses until a connection closes (or
//! 1 s), the live connections are served (pause.rs).
//!
//! `--max-conns N` (`--once`: 1) is a count shared by all workers: each
//! takes a ticket before `accept4`; a worker whose ticket is past N stops,
//! so exactly N connections are accepted and the server exits when they
//! are done. SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR2 (fork, prefork): the parent blocks
//! SIGCHLD (`rt_sigprocmask`), sends SIGTERM to each child (`kill`), waits
//! up to 2 s (`children::GRACE`) for them (`wait4(-1, WNOHANG)`,
//! `rt_sigtimedwait([CHLD], time left)`), then SIGKILLs those left and
//! reaps them before it cleans up; threads end with the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::output::Output;
use crate::programs::conn::{accept_error_is_the_peers, serve_conn};
use crate::programs::server_opts::ServerOpts;
use crate::socket::modes;
use crate::sys::{Socket, Sys, shared_counter};
use crate::sys::{signals, untraced};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

use super::children::{abnormal_end, reap_all, reap_ended, sigchld_note};
use super::pause::{self, Conns};
use crate::sys::pthread::{self, Worker};

/// `accept4` as the iterative server makes it: None when the failure was
/// the new connection's (accept(2): reported, the listener is fine).
fn accept(sys: &Sys, listener: Socket, opts: &ServerOpts) -> Result<Option<(Socket, Addr)>> {
    match modes::accept(sys, listener, opts.setup.wait) {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.errno().is_some_and(accept_error_is_the_peers) => {
            crate::output::report(&e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn limit(opts: &ServerOpts) -> Option<u64> {
    if opts.once { Some(1) } else { opts.max_conns }
}

/// A child process's end: exit 0, 1 after a failure (reported), or die
/// by the stop signal that ended it. Never returns to the parent's code
/// (which would, for a UNIX server, remove the socket file).
fn exit_child(sys: &Sys, result: Result<()>) -> ! {
    let code = match result {
        Ok(()) => 0,
        Err(Error::Signal(sig)) => {
            signals::reraise(sig);
            128 + sig as i32
        }
        Err(e) => {
            crate::output::report(&e);
            e.exit_code()
        }
    };
    // Output is written line by line, flushed; nothing is left to run at
    // exit, and skipping exit(3)'s handlers spares the child the page
    // faults of code it has not touched yet (a forked child maps each code
    // page afresh): a third of the fork model's CPU per connection. The
    // exit is traced (strace -f's `exit_group(0) = ?`): a record's
    // process actor ends there.
    sys.exit_group(code)
}

/// `--model fork`.
pub fn fork(sys: &Sys, out: &Output, listener: Socket, me: &Addr, opts: &ServerOpts) -> Result<()> {
    signals::catch_stop_signals(sys)?;
    signals::catch_child_exits(sys)?;
    out.listening(me);
    modes::set_wait(sys, out, listener, opts.setup.wait)?;
    let mut children = Vec::new();
    let mut accepted = 0u64;
    // The children's receive buffer, allocated here once: a child that
    // allocated its own would make malloc consolidate the parent's heap,
    // a copy-on-write fault per page it walks.
    let mut buf = crate::socket::buffer::buffer(opts.bufsize, "--bufsize")?;
    let result = loop {
        if let Err(e) = reap_ended(sys, &mut children) {
            break Err(e);
        }
        let (conn, peer) = match accept(sys, listener, opts) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            // SIGCHLD: a child has ended; reap it (above) and accept again.
            Err(e) if e.errno() == Some(Errno::EINTR) => continue,
            Err(e) => break Err(e),
        };
        accepted += 1;
        match sys.fork() {
            Ok(None) => {
                let served = sys
                    .close(listener)
                    .and_then(|()| serve_conn(sys, out, conn, &peer, opts, &mut buf));
                exit_child(sys, served)
            }
            Ok(Some(pid)) => children.push(pid),
            Err(e) => crate::output::report(&e),
        }
        // The descriptor is gone even when close fails: say so, go on.
        if let Err(e) = sys.close(conn) {
            crate::output::report(&e);
        }
        if limit(opts).is_some_and(|max| accepted >= max) {
            break Ok(());
        }
    };
    reap_all(sys, &mut children, result)?;
    sys.close(listener)
}

/// `--model prefork:N`.
pub fn prefork(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
    n: u32,
) -> Result<()> {
    signals::catch_stop_signals(sys)?;
    let tickets = shared_counter()?;
    let parent = sys.getpid()?;
    let mut children = Vec::new();
    let mut result = Ok(());
    for _ in 0..n {
        match sys.fork() {
            Ok(None) => exit_child(sys, pool_child(sys, out, listener, opts, tickets, parent)),
            Ok(Some(pid)) => children.push(pid),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // The workers take connections from here on (set_wait's line after it).
    out.listening(me);
    if result.is_ok() {
        result = modes::set_wait(sys, out, listener, opts.setup.wait);
    }
    // The parent waits for its workers; a stop signal interrupts it. Each
    // worker that ends badly is reported; when none is left, the server
    // fails: a pool that cannot accept is not a server (no respawn: a
    // worker that failed once, e.g. out of fds, would fail again, in a
    // loop, and hide it).
    let mut failed = 0;
    while result.is_ok() && !children.is_empty() {
        match sys.wait4(-1, false) {
            Ok(Some(r)) => {
                sys.tracer().signal(&sigchld_note(r.pid, r.status));
                children.retain(|&pid| pid != r.pid);
                if let Some(how) = abnormal_end(r.status) {
                    failed += 1;
                    crate::output::report(&Error::Runtime(format!(
                        "prefork worker {} {how} ({} of {n} left)",
                        r.pid,
                        children.len()
                    )));
                }
            }
            Ok(None) => {}
            Err(e) if e.errno() == Some(Errno::EINTR) => {}
            Err(e) => result = Err(e),
        }
    }
    if result.is_ok() && failed > 0 {
        result = Err(Error::Runtime(format!(
            "all {n} prefork workers have ended ({failed} of them badly): none is left to accept connections"
        )));
    }
    reap_all(sys, &mut children, result)?;
    sys.close(listener)
}

/// A prefork worker: it ends with its parent.
/// 1. `prctl(PR_SET_PDEATHSIG, SIGTERM)`: the kernel sends it SIGTERM
///    when the parent ends (even by SIGKILL);
/// 2. `getppid()`: if the parent ended before step 1, stop now (as SIGTERM
///    would have made it);
/// 3. the pool worker's loop.
fn pool_child(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    opts: &ServerOpts,
    tickets: &AtomicU64,
    parent: i32,
) -> Result<()> {
    sys.prctl_set_pdeathsig(Signal::SIGTERM)?;
    if sys.getppid()? != parent {
        return Err(Error::Signal(Signal::SIGTERM));
    }
    worker(sys, out, listener, opts, tickets, &Conns::default())
}

/// A pool worker: take a ticket, `accept4` (out of fds: report, wait for a
/// free one: pause.rs), serve; until the tickets run out.
fn worker(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    opts: &ServerOpts,
    tickets: &AtomicU64,
    conns: &Conns,
) -> Result<()> {
    let max = limit(opts);
    let mut buf = crate::socket::buffer::buffer(opts.bufsize, "--bufsize")?;
    loop {
        let ticket = tickets.fetch_add(1, Ordering::SeqCst);
        if max.is_some_and(|max| ticket >= max) {
            return Ok(());
        }
        if let Some((conn, peer)) = pause::accept(sys, listener, opts, conns, true)? {
            let served = serve_conn(sys, out, conn, &peer, opts, &mut buf);
            conns.closed();
            served?;
        }
    }
}

/// Run `f` on a new thread that does not take the stop signals (the main
/// thread does: its blocking call is the one they interrupt).
fn spawn_quiet<F>(sys: &Sys, f: F) -> Result<Worker>
where
    F: FnOnce() -> Result<()> + Send + 'static,
{
    let mut stop = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR2,
        Signal::SIGALRM,
    ] {
        stop.add(sig);
    }
    let masked = untraced::sigmask(SigmaskHow::SIG_BLOCK, &stop);
    let worker = pthread::spawn(sys, f);
    if worker.is_ok() && masked.is_ok() && sys.tracer().enabled() {
        sys.tracer().signal(QUIET_MASK);
    }
    if let Ok(old) = masked {
        let _ = untraced::sigmask(SigmaskHow::SIG_SETMASK, &old);
    }
    worker
}

/// The note after a worker's clone3 (and glibc's note, sys/threads.rs):
/// socklab's own mask calls around it, not shown as lines.
const QUIET_MASK: &str = "# not shown around this clone3 (socklab's, untraced): \
     rt_sigprocmask(SIG_BLOCK, [HUP INT QUIT USR2 ALRM TERM], [...], 8) before it and \
     rt_sigprocmask(SIG_SETMASK, [...], [HUP INT QUIT USR2 ALRM TERM], 8) after it (the new \
     thread leaves the stop signals to the main thread)";

/// `--model thread`.
pub fn thread(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
) -> Result<()> {
    out.listening(me);
    modes::set_wait(sys, out, listener, opts.setup.wait)?;
    let shared = Arc::new(opts.clone());
    let conns = Arc::new(Conns::default());
    let mut threads: Vec<Worker> = Vec::new();
    let mut accepted = 0u64;
    loop {
        let Some((conn, peer)) = pause::accept(sys, listener, opts, &conns, false)? else {
            continue;
        };
        accepted += 1;
        let (sys2, opts2, conns2) = (sys.clone(), shared.clone(), conns.clone());
        let out2 = out.clone();
        // Threads that have ended are dropped (detached: already gone).
        threads.retain(|t| !t.is_finished());
        let spawned = spawn_quiet(sys, move || {
            // A buffer that cannot be allocated fails this connection only.
            let mut buf = match crate::socket::buffer::buffer(opts2.bufsize, "--bufsize") {
                Ok(buf) => buf,
                Err(e) => {
                    crate::output::report(&e);
                    conns2.closed();
                    return sys2.close(conn);
                }
            };
            let served = serve_conn(&sys2, &out2, conn, &peer, &opts2, &mut buf);
            conns2.closed();
            served
        });
        match spawned {
            Ok(t) => threads.push(t),
            // No thread for this connection (pthread_create: EAGAIN): it
            // alone fails; the others are served on.
            Err(e) => {
                crate::output::report(&e);
                if let Err(e) = sys.close(conn) {
                    crate::output::report(&e);
                }
                conns.closed();
            }
        }
        if limit(opts).is_some_and(|max| accepted >= max) {
            break;
        }
    }
    // A stop signal ends the wait for the last connections (then the
    // process dies by it, as the iterative server would in its recvfrom).
    conns.all_closed()?;
    for t in threads {
        if let Err(e) = t.join() {
            crate::output::report(&e);
        }
    }
    sys.close(listener)
}

/// `--model prethread:N`: `listening on` once the N-1 threads exist.
pub fn prethread(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
    n: u32,
) -> Result<()> {
    modes::set_wait(sys, out, listener, opts.setup.wait)?;
    let shared = Arc::new(opts.clone());
    let tickets = Arc::new(AtomicU64::new(0));
    let conns = Arc::new(Conns::default());
    let mut threads = Vec::new();
    for _ in 1..n {
        let (sys2, opts2, out2) = (sys.clone(), shared.clone(), out.clone());
        let (tickets2, conns2) = (tickets.clone(), conns.clone());
        threads.push(spawn_quiet(sys, move || {
            let result = worker(&sys2, &out2, listener, &opts2, &tickets2, &conns2);
            // A worker that fails says so as it ends: the pool shrinks
            // visibly (the main thread's own failure ends the process).
            if let Err(e) = &result
                && !matches!(e, Error::Signal(_))
            {
                crate::output::report(e);
            }
            result
        })?);
    }
    // The pool is ready: its workers take connections from here on.
    out.listening(me);
    worker(sys, out, listener, opts, &tickets, &conns)?;
    let mut failed = 0;
    for t in threads {
        if t.join().is_err() {
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Error::Runtime(format!(
            "{failed} of the {n} prethread workers failed (reported above)"
        )));
    }
    sys.close(listener)
}
