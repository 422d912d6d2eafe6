//! SIGINT, SIGTERM and SIGHUP for programs that must clean up (a UNIX
//! server's socket file): the handler records the signal (and arms a
//! one-second alarm against a lost wake-up); blocking calls then fail with
//! EINTR (no SA_RESTART), `sys` turns that into
//! `Error::Signal`, the program removes its file, and main re-raises the
//! signal with its default action so the exit status is 128+N.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};

use crate::error::{Error, Result};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn record(signo: libc::c_int) {
    CAUGHT.store(signo, Ordering::SeqCst);
    // The signal may land after `sys` checked for it and before the
    // blocking syscall started: that call would then wait forever. A
    // SIGALRM one second later interrupts it in that case (alarm(2) is
    // async-signal-safe); in the usual case the process is gone by then.
    // SAFETY: alarm only arms a timer.
    unsafe { libc::alarm(1) };
}

/// SIGALRM only interrupts a blocking call (see `record`).
extern "C" fn wake(_: libc::c_int) {}

/// Catch the stop signals (without SA_RESTART, so blocking calls return).
pub fn catch_stop_signals() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let alarm = SigAction::new(SigHandler::Handler(wake), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler does nothing.
    unsafe { sigaction(Signal::SIGALRM, &alarm) }.map_err(|e| {
        Error::Runtime(format!(
            "sigaction(SIGALRM): {}",
            crate::trace::errno_text(e)
        ))
    })?;
    for sig in STOP_SIGNALS {
        // SAFETY: the handler stores to an atomic and calls alarm(2), both
        // async-signal-safe.
        unsafe { sigaction(sig, &action) }.map_err(|e| {
            Error::Runtime(format!(
                "sigaction({}): {}",
                sig.as_str(),
                crate::trace::errno_text(e)
            ))
        })?;
    }
    Ok(())
}

/// The stop signal that arrived, if any.
pub fn pending() -> Option<Signal> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// Die by `sig` with its default action (exit status 128+N).
pub fn reraise(sig: Signal) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default action is always sound.
    let _ = unsafe { sigaction(sig, &default) };
    let _ = raise(sig);
}

/// Forget the stop signal that arrived (a server that has acted on it and
/// must still wait for its children).
pub fn clear() {
    CAUGHT.store(0, Ordering::SeqCst);
}

static CHILD_EXITED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn child_exited(_: libc::c_int) {
    CHILD_EXITED.store(true, Ordering::SeqCst);
}

/// `--model fork`: SIGCHLD interrupts the parent's blocking call (no
/// SA_RESTART); `sys` then returns that call's EINTR instead of retrying
/// it, so the server reaps the child at once (no zombie waits for the next
/// connection).
pub fn catch_child_exits() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(child_exited),
        SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    // SAFETY: the handler stores to an atomic.
    unsafe { sigaction(Signal::SIGCHLD, &action) }.map_err(|e| {
        Error::Runtime(format!(
            "sigaction(SIGCHLD): {}",
            crate::trace::errno_text(e)
        ))
    })?;
    Ok(())
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
