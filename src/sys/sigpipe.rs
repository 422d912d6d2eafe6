//! An ignored SIGPIPE, which strace -f shows and socklab cannot see. A
//! send on a TCP socket that may no longer send (shut down, reset: `-1
//! EPIPE`) without MSG_NOSIGNAL makes the kernel send SIGPIPE to the
//! writer (sk_stream_error). Ignored (Rust's runtime ignores it before
//! `main`; a script's `rt_sigaction(SIGPIPE, ...)` may change that), the
//! kernel drops it as it is sent, unless a tracer is attached: then it
//! is queued all the same and strace prints `--- SIGPIPE {...} ---`
//! after the call. socklab writes a note line there saying so.
//!
//! Only TCP sockets (the ones `sys` made or accepted; measured on Linux
//! 6: a UNIX stream socket's EPIPE raises SIGPIPE too, a UNIX datagram or
//! seqpacket socket's and a UDP socket's do not): `sys` knows whether a
//! socket is TCP, not whether a UNIX one is a stream.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nix::errno::Errno;

use super::Sys;
use crate::strace::Event;

/// The TCP sockets among fds 0 to 1023 (a bit each), set as `sys` makes
/// or accepts them (not cleared on close: every new fd sets its bit).
static TCP: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// Whether SIGPIPE is ignored in this process.
static IGNORED: AtomicBool = AtomicBool::new(true);

/// The note after such a call (the signal's pid and uid are the
/// writer's: strace's `si_code=SI_USER`).
const NOTE: &str = "# not shown: --- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, ...} --- \
    (strace -f's line here: the kernel sent SIGPIPE with this EPIPE; ignored, it is \
    dropped as it is sent, and only a tracer sees it)";

/// `fd` was made or accepted by `sys`: TCP or not.
pub(super) fn opened(fd: i32, tcp: bool) {
    let Some((word, bit)) = slot(fd) else {
        return;
    };
    match tcp {
        true => word.fetch_or(bit, Ordering::Relaxed),
        false => word.fetch_and(!bit, Ordering::Relaxed),
    };
}

/// Whether `sys` made or accepted `fd` as a TCP socket.
pub(super) fn is_tcp(fd: i32) -> bool {
    slot(fd).is_some_and(|(word, bit)| word.load(Ordering::Relaxed) & bit != 0)
}

fn slot(fd: i32) -> Option<(&'static AtomicU64, u64)> {
    let fd = usize::try_from(fd).ok()?;
    Some((TCP.get(fd / 64)?, 1 << (fd % 64)))
}

/// A disposition `sys` set (rt_sigaction's handler: SIG_IGN, SIG_DFL or
/// a function).
pub(super) fn disposition(sig: i32, handler: u64) {
    if sig == libc::SIGPIPE {
        IGNORED.store(handler == libc::SIG_IGN as u64, Ordering::Relaxed);
    }
}

/// Whether the call `ev` raised SIGPIPE (`ignored`: whether it is).
fn raised_ignored(ev: &Event, ignored: bool) -> bool {
    let sends = matches!(ev.call.name, "sendto" | "sendmsg" | "sendmmsg" | "write");
    let fd = ev
        .args
        .split(',')
        .next()
        .and_then(|f| f.trim().parse().ok());
    sends
        && *ev.ret == Err(Errno::EPIPE)
        && !ev.args.contains("MSG_NOSIGNAL")
        && ignored
        && fd.is_some_and(is_tcp)
}

impl Sys {
    /// After a call's line: the note, if it raised an ignored SIGPIPE.
    /// (A script's actors report their calls to the runner, which
    /// prints them: their note is the lab's, lab/shutdowns.rs, teardown.rs.)
    pub(super) fn sigpipe_note(&self, ev: &Event) {
        if raised_ignored(ev, IGNORED.load(Ordering::Relaxed)) {
            // A note with the task's `[pid N]`, as a signal's line has it.
            self.tracer.signal(NOTE);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::values::calls;

    fn sendto(args: &str, ret: &Result<i64, Errno>, ignored: bool) -> bool {
        let ev = Event {
            call: &calls::SENDTO,
            args,
            ret,
            ret_note: "",
            addr: None,
            start: SystemTime::now(),
            duration: Duration::ZERO,
        };
        raised_ignored(&ev, ignored)
    }

    /// The note's cases, as measured under strace -f (TCP: `--- SIGPIPE`
    /// after EPIPE unless MSG_NOSIGNAL; a UDP or UNIX datagram socket's
    /// EPIPE raises none).
    #[test]
    fn an_ignored_sigpipe_is_noted_after_a_tcp_sockets_epipe_only() {
        let epipe = Err(Errno::EPIPE);
        opened(1000, true);
        opened(1001, false);
        assert!(sendto("1000, \"x\", 1, 0, NULL, 0", &epipe, true));
        assert!(!sendto(
            "1000, \"x\", 1, MSG_NOSIGNAL, NULL, 0",
            &epipe,
            true
        ));
        assert!(!sendto("1000, \"x\", 1, 0, NULL, 0", &epipe, false));
        assert!(!sendto(
            "1000, \"x\", 1, 0, NULL, 0",
            &Err(Errno::ECONNRESET),
            true
        ));
        assert!(!sendto("1001, \"x\", 1, 0, NULL, 0", &epipe, true));
        opened(1000, false);
        assert!(!sendto("1000, \"x\", 1, 0, NULL, 0", &epipe, true));
        assert!(!sendto("5000, \"x\", 1, 0, NULL, 0", &epipe, true));
    }
}
