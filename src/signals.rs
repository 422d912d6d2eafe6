//! SIGINT, SIGTERM and SIGHUP for programs that must clean up (a UNIX
//! server's socket file): the handler only records the signal; blocking
//! calls then fail with EINTR (no SA_RESTART), `sys` turns that into
//! `Error::Signal`, the program removes its file, and main re-raises the
//! signal with its default action so the exit status is 128+N.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction};

use crate::error::{Error, Result};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn record(signo: libc::c_int) {
    CAUGHT.store(signo, Ordering::SeqCst);
}

/// Catch the stop signals (without SA_RESTART, so blocking calls return).
pub fn catch_stop_signals() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in STOP_SIGNALS {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
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
