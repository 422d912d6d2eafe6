//! The stop signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2) for
//! programs that must clean up (a UNIX server's socket file, a fork
//! server's children, a `--wire` capture) and, from their start, for every
//! tcp, udp and unix program (`catch_stop_signals_at_start`), so that its
//! trace shows a stop signal as strace -f does (the cut call, `--- SIG...
//! ---`, the re-raise, `+++ killed by ... +++`) instead of just stopping:
//! the handler records the signal (and arms a one-second alarm against a
//! lost wake-up); blocking calls then fail with EINTR (no SA_RESTART),
//! `sys` turns that into `Error::Signal`, the program cleans up, and main
//! re-raises the signal with its default action so the exit status is
//! 128+N. Installed once per process (a second install makes no call).
//!
//! The same programs catch SIGUSR1 with a handler that does nothing: it is
//! the signal a pause asks for (`--pause-*`, `--step`, taken there by
//! sigwaitinfo), and one sent at another time must not kill a server that
//! has a file to remove (the call it interrupts is made again). Every
//! program ignores SIGXFSZ (`ignore_file_size_signal`): a write past
//! `ulimit -f` then fails with EFBIG and is reported, instead of killing.
//!
//! A pause waits through [`sleep`], [`read_line`] or [`wait_for_sigusr1`]:
//! each ends early when a stop signal arrives, and `sys` acts on it at the
//! program's next blocking call.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};

use crate::values::error::{Error, Result};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

/// How many times one of socklab's handlers has run: a call that
/// returns EINTR while it changed was interrupted by a handler (strace's
/// `= ? ERESTARTSYS`), not failed with EINTR (an injected fault).
static HANDLED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The count of handler runs so far (see `HANDLED`).
pub fn handled() -> u32 {
    HANDLED.load(Ordering::SeqCst)
}

const STOP_SIGNALS: [Signal; 5] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR2,
];

extern "C" fn record(signo: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
    CAUGHT.store(signo, Ordering::SeqCst);
    // SAFETY: the kernel's siginfo and ucontext for this delivery.
    unsafe { super::delivered::record(info, ctx) };
    // The signal may land after `sys` checked for it and before the
    // blocking syscall started: that call would then wait forever. A
    // SIGALRM one second later interrupts it in that case (alarm(2) is
    // async-signal-safe); in the usual case the process is gone by then.
    // SAFETY: alarm only arms a timer.
    unsafe { libc::alarm(1) };
}

/// SIGALRM only interrupts a blocking call (see `record`); SIGUSR1 outside
/// a pause is caught by it too, and so does nothing but keep its siginfo
/// for the trace (SA_SIGINFO: `--- SIGALRM {si_signo=SIGALRM,
/// si_code=SI_KERNEL} ---`, `--- SIGUSR1 {..., si_code=SI_USER, si_pid=N,
/// si_uid=U} ---`).
extern "C" fn wake(_: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel's siginfo and ucontext for this delivery.
    unsafe { super::delivered::record(info, ctx) };
}

/// The note where socklab installs its stop handlers (strace -f's lines
/// there, measured with strace 6.1; the old action is the inherited one).
pub const STOP_HANDLERS: &str = "# not shown: rt_sigaction(SIGALRM, {sa_handler=0x..., \
     sa_mask=[], sa_flags=SA_RESTORER|SA_SIGINFO, sa_restorer=0x...}, {...}, 8) = 0, the same for \
     SIGUSR1, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2 (socklab's own handlers: a stop signal \
     ends the blocking call, the program cleans up and dies by it; their alarm(1) is not shown \
     either); not lines: a script refuses rt_sigaction in its main actor, so a --record would not \
     replay";

/// The note before a traced program's first line: the dispositions set
/// before it (strace -f's lines, measured with strace 6.1).
pub const AT_START: &str = "# not shown before this: rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, \
     sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x...}, {...}, 8) = 0 (Rust's \
     runtime, before main: a send's EPIPE does not kill), rt_sigaction(SIGSEGV, ...) and \
     rt_sigaction(SIGBUS, ...) (its stack-overflow handler), rt_sigaction(SIGXFSZ, \
     {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x...}, {...}, 8) = 0 \
     (socklab's: a write past ulimit -f fails with EFBIG, reported, instead of killing)";

/// [`AT_START`] is to be written before the program's first line.
static START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Write [`AT_START`] before a traced program's first line (if it makes
/// a call: a usage error found before any is one line alone).
pub fn note_start(sys: &super::Sys) {
    START.store(sys.tracer().enabled(), Ordering::SeqCst);
}

/// [`STOP_HANDLERS`] is to be written after [`AT_START`] (the handlers
/// were installed before the program's first line).
static STOP_NOTE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The stop handlers are installed (once: a program that installs them
/// again makes no call, so strace shows one set, and one note says so).
static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Before a traced line of `sys`: [`AT_START`], if still to come, and
/// [`STOP_HANDLERS`] when they were installed before it.
pub(super) fn start_before(sys: &super::Sys) {
    if START.swap(false, Ordering::SeqCst) && sys.tracer().enabled() {
        sys.tracer().note(AT_START);
    }
    if STOP_NOTE.swap(false, Ordering::SeqCst) && sys.tracer().enabled() {
        sys.tracer().signal(STOP_HANDLERS);
    }
}

/// Catch the stop signals (without SA_RESTART, so blocking calls return),
/// and SIGUSR1 with a handler that does nothing; [`STOP_HANDLERS`] in
/// `sys`'s trace. Installed once: a second call does nothing.
pub fn catch_stop_signals(sys: &super::Sys) -> Result<()> {
    if install()? {
        start_before(sys);
        if sys.tracer().enabled() {
            sys.tracer().signal(STOP_HANDLERS);
        }
    }
    Ok(())
}

/// [`catch_stop_signals`] before a program starts (every tcp, udp and
/// unix program: a stop signal then shows in its trace as strace -f
/// shows it, the cut call, `--- SIG... ---`, the re-raise and `+++ killed
/// by ... +++`, instead of the trace just stopping); [`STOP_HANDLERS`]
/// is written after [`AT_START`], before the program's first line (a
/// usage error found before any call stays one line alone).
pub fn catch_stop_signals_at_start() -> Result<()> {
    if install()? {
        STOP_NOTE.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// Install the handlers unless they are: whether this call did.
fn install() -> Result<bool> {
    if INSTALLED.load(Ordering::SeqCst) {
        return Ok(false);
    }
    catch_quietly()?;
    INSTALLED.store(true, Ordering::SeqCst);
    Ok(true)
}

fn catch_quietly() -> Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(record),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    let nothing = SigAction::new(
        SigHandler::SigAction(wake),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    for sig in [Signal::SIGALRM, Signal::SIGUSR1] {
        // SAFETY: the handler does nothing.
        unsafe { sigaction(sig, &nothing) }.map_err(|e| {
            Error::Runtime(format!(
                "sigaction({}): {}",
                sig.as_str(),
                crate::strace::errno_text(e)
            ))
        })?;
    }
    for sig in STOP_SIGNALS {
        // SAFETY: the handler stores to an atomic and calls alarm(2), both
        // async-signal-safe.
        unsafe { sigaction(sig, &action) }.map_err(|e| {
            Error::Runtime(format!(
                "sigaction({}): {}",
                sig.as_str(),
                crate::strace::errno_text(e)
            ))
        })?;
    }
    Ok(())
}

/// SIGXFSZ ignored: a write beyond `ulimit -f` (stdout or `--trace-file`
/// redirected to a file) fails with EFBIG, which is reported, instead of
/// killing socklab (and leaving a UNIX server's socket file behind).
pub fn ignore_file_size_signal() -> Result<()> {
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: ignoring a signal installs no code.
    unsafe { sigaction(Signal::SIGXFSZ, &ignore) }.map_err(|e| {
        Error::Runtime(format!(
            "sigaction(SIGXFSZ): {}",
            crate::strace::errno_text(e)
        ))
    })?;
    Ok(())
}

/// The stop signal that arrived, if any.
pub fn pending() -> Option<Signal> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// The layer a re-raise is traced through (see [`trace_reraise`]).
static DYING: std::sync::Mutex<Option<super::Sys>> = std::sync::Mutex::new(None);

/// Trace [`reraise`] through `sys` (the program's layer): its getpid and
/// tgkill, and strace's `--- SIGTERM {...} ---`, `+++ killed by SIGTERM +++`.
pub fn trace_reraise(sys: &super::Sys) {
    if let Ok(mut held) = DYING.lock() {
        *held = Some(sys.clone());
    }
}

/// Die by `sig` with its default action (exit status 128+N): the signal
/// unblocked (rt_sigprocmask), then glibc's raise's calls (gettid,
/// getpid, tgkill), traced when the program's
/// layer was given ([`trace_reraise`]).
pub fn reraise(sig: Signal) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default action is always sound.
    let _ = unsafe { sigaction(sig, &default) };
    let sys = DYING.lock().ok().and_then(|held| held.clone());
    match sys {
        Some(sys) if sys.tracer().enabled() => {
            // A signal taken in an untraced wait (a client's stdin line)
            // prints before the handler is taken off, as strace has it.
            sys.delivered_before();
            sys.tracer().signal(&format!(
                "# not shown: rt_sigaction({}, {{sa_handler=SIG_DFL, sa_mask=[], \
                 sa_flags=SA_RESTORER, sa_restorer=0x...}}, {{...}}, 8) = 0 (socklab's stop \
                 handler taken off, so that the signal kills; its gettid() before getpid is socklab's too, \
                 for tgkill's tid)",
                sig.as_str()
            ));
            sys.die_by(sig)
        }
        _ => {
            // Unblocked first, as the traced re-raise (and the C twins).
            let mut set = SigSet::empty();
            set.add(sig);
            let _ = nix::sys::signal::sigprocmask(
                nix::sys::signal::SigmaskHow::SIG_UNBLOCK,
                Some(&set),
                None,
            );
            let _ = raise(sig);
        }
    }
}

/// Forget the stop signal that arrived (a server that has acted on it and
/// must still wait for its children).
pub fn clear() {
    CAUGHT.store(0, Ordering::SeqCst);
}

static CHILD_EXITED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn child_exited(_: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
    CHILD_EXITED.store(true, Ordering::SeqCst);
    // SAFETY: the kernel's siginfo and ucontext for this delivery.
    unsafe { super::delivered::record(info, ctx) };
}

/// `--model fork`: SIGCHLD interrupts the parent's blocking call (no
/// SA_RESTART; SA_SIGINFO: the trace shows the siginfo, see
/// delivered.rs); `sys` then returns that call's EINTR instead of
/// retrying it, so the server reaps the child at once (no zombie waits
/// for the next connection). Traced (x86-64): `rt_sigaction(SIGCHLD,
/// {sa_handler=0x..., sa_mask=[], sa_flags=SA_RESTORER|SA_SIGINFO|
/// SA_NOCLDSTOP, sa_restorer=0x...}, NULL, 8) = 0`, strace's line (the
/// restorer is socklab's, `Sys::rt_sigaction_sigchld`; no old action asked for, as the C
/// twin's `sigaction(SIGCHLD, &sa, NULL)`).
pub fn catch_child_exits(sys: &super::Sys) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        // The handler stores to an atomic and records the siginfo.
        sys.rt_sigaction_sigchld(child_exited as *const () as usize as u64)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = sys;
        let action = SigAction::new(
            SigHandler::SigAction(child_exited),
            SaFlags::SA_NOCLDSTOP | SaFlags::SA_SIGINFO,
            SigSet::empty(),
        );
        // SAFETY: the handler stores to an atomic.
        unsafe { sigaction(Signal::SIGCHLD, &action) }.map_err(|e| {
            Error::Runtime(format!(
                "sigaction(SIGCHLD): {}",
                crate::strace::errno_text(e)
            ))
        })?;
        Ok(())
    }
}

/// Whether a child has exited since the last call (and forget it).
pub fn take_child_exit() -> bool {
    CHILD_EXITED.swap(false, Ordering::SeqCst)
}

/// After EINTR: does the signal end the call (a stop signal, or a child's
/// exit in the fork model) rather than the call being made again?
pub fn interrupts() -> bool {
    pending().is_some() || take_child_exit()
}

// The waits of a pause (`--pause-*`, `--step`). Each ends early when a
// stop signal has arrived (see `pending`): before the wait, or during it
// (the handler interrupts it with EINTR; a signal that lands between the
// check and the wait is caught by the handler's one-second alarm). Other
// interruptions (SIGCHLD, SIGALRM, SIGUSR1 outside sigwait) wait on.
// Programs that do not catch the stop signals (bench, demo) die by them
// at once.

/// Sleep `d` (nanosleep, resumed with the time left after an EINTR).
pub fn sleep(d: std::time::Duration) {
    let mut left = libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    loop {
        if pending().is_some() {
            return;
        }
        let ask = left;
        // SAFETY: both pointers are to live timespecs.
        if unsafe { libc::nanosleep(&ask, &mut left) } == 0 {
            return;
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return;
        }
    }
}

/// Read stdin up to a newline or its end, through std's buffer (so a
/// client that reads its messages from stdin too loses nothing). std's
/// `read_line` makes the read again after EINTR: `fill_buf` does not.
pub fn read_line() {
    use std::io::BufRead;
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    loop {
        if pending().is_some() {
            return;
        }
        let (used, done) = match lock.fill_buf() {
            Ok([]) => return,
            Ok(buf) => match buf.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buf.len(), false),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        lock.consume(used);
        if done {
            return;
        }
    }
}

/// Wait for SIGUSR1 (blocked since the start, see `Inspect::new`) with
/// sigwaitinfo, which, unlike glibc's sigwait, returns on EINTR.
pub fn wait_for_sigusr1() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGUSR1);
    loop {
        if pending().is_some() {
            return;
        }
        // SAFETY: `set` is a live sigset_t; a null siginfo is allowed.
        let r = unsafe { libc::sigwaitinfo(set.as_ref(), std::ptr::null_mut()) };
        if r == Signal::SIGUSR1 as i32 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return;
        }
    }
}
