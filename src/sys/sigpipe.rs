//! An ignored SIGPIPE, which strace -f shows and socklab cannot see. A
//! send on a stream socket that may no longer send (shut down, reset:
//! `-1 EPIPE`) without MSG_NOSIGNAL makes the kernel send SIGPIPE to the
//! writer (TCP: sk_stream_error; UNIX stream: unix_stream_sendmsg).
//! Ignored (Rust's runtime ignores it before `main`; a script's
//! `rt_sigaction(SIGPIPE, ...)` may change that), the kernel drops it as
//! it is sent, unless a tracer is attached: then it is queued all the
//! same and strace prints `--- SIGPIPE {...} ---` after the call.
//! socklab writes a note line there saying so, through each observer
//! (`Observer::signal_note`: the trace, or a script's actor, whose
//! runner prints it after the call's line and fills in the si_pid).
//!
//! Measured on Linux 6 under strace -f: a TCP or UNIX stream socket's
//! EPIPE comes with SIGPIPE; a UDP, UNIX datagram or seqpacket socket's
//! does not. `sys` knows a socket's type from the traced call that made
//! it (socket, socketpair; accept4 and dup take their source's), never
//! from a call of its own; a descriptor received with SCM_RIGHTS is not
//! known (no note). The calls are the rows with `sigpipe` set.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use nix::errno::Errno;

use super::Sys;
use crate::strace::Event;

/// The stream sockets among fds 0 to 1023 (a bit each), set or cleared
/// as `sys` makes, accepts or duplicates them.
static STREAM: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// Whether SIGPIPE is ignored in this process.
static IGNORED: AtomicBool = AtomicBool::new(true);

/// The real uid a setuid gave this process (-1: the one it started with).
static UID: AtomicI64 = AtomicI64::new(-1);

/// The note's head, up to the si_pid a script's runner fills in
/// ([`with_pid`]); the trace of a program leaves it `...` (its pid
/// would take a getpid of socklab's own).
const HEAD: &str = "# not shown: --- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=";

/// The note after such a call (the signal's pid and uid are the
/// writer's: strace's `si_code=SI_USER`).
fn note(uid: u32) -> String {
    format!(
        "{HEAD}..., si_uid={uid}}} --- (strace -f's line here: the kernel sent SIGPIPE with \
         this EPIPE; ignored, it is dropped as it is sent, and only a tracer sees it)"
    )
}

/// `note` with the writer's pid, when `text` is that note.
pub fn with_pid(text: &str, pid: i32) -> Option<String> {
    let rest = text.strip_prefix(HEAD)?.strip_prefix("...")?;
    Some(format!("{HEAD}{pid}{rest}"))
}

/// A socket of `domain` and `ty` (socket(2)'s, flags included): is its
/// EPIPE a SIGPIPE too (a stream of TCP or of a UNIX socket)?
pub(super) fn raises(domain: i32, ty: i32) -> bool {
    matches!(domain, libc::AF_INET | libc::AF_INET6 | libc::AF_UNIX)
        && ty & 0xf == libc::SOCK_STREAM
}

/// `fd` was made by `sys`: a stream socket or not ([`raises`]).
pub(super) fn opened(fd: i32, stream: bool) {
    let Some((word, bit)) = slot(fd) else {
        return;
    };
    match stream {
        true => word.fetch_or(bit, Ordering::Relaxed),
        false => word.fetch_and(!bit, Ordering::Relaxed),
    };
}

/// Whether `sys` made `fd` as a stream socket (accept4's and dup's copy
/// their source's).
pub(super) fn is_stream(fd: i32) -> bool {
    slot(fd).is_some_and(|(word, bit)| word.load(Ordering::Relaxed) & bit != 0)
}

fn slot(fd: i32) -> Option<(&'static AtomicU64, u64)> {
    let fd = usize::try_from(fd).ok()?;
    Some((STREAM.get(fd / 64)?, 1 << (fd % 64)))
}

/// A disposition `sys` set (rt_sigaction's handler: SIG_IGN, SIG_DFL or
/// a function).
pub(super) fn disposition(sig: i32, handler: u64) {
    if sig == libc::SIGPIPE {
        IGNORED.store(handler == libc::SIG_IGN as u64, Ordering::Relaxed);
    }
}

/// A traced setuid gave this process the real uid `uid` (the signal's
/// si_uid from then on).
pub(super) fn set_uid(uid: u32) {
    UID.store(i64::from(uid), Ordering::Relaxed);
}

/// The real uid: the last setuid's, else the one the process started
/// with (the auxiliary vector's: no syscall).
fn uid() -> u32 {
    match UID.load(Ordering::Relaxed) {
        n if n >= 0 => n as u32,
        // SAFETY: getauxval only reads the auxiliary vector.
        _ => (unsafe { libc::getauxval(libc::AT_UID) }) as u32,
    }
}

/// Whether the call `ev` raised SIGPIPE (`ignored`: whether it is).
fn raised_ignored(ev: &Event, ignored: bool) -> bool {
    let fd = ev
        .args
        .split(',')
        .next()
        .and_then(|f| f.trim().parse().ok());
    ev.call.sigpipe
        && *ev.ret == Err(Errno::EPIPE)
        && !ev.args.contains("MSG_NOSIGNAL")
        && ignored
        && fd.is_some_and(is_stream)
}

impl Sys {
    /// After a call's line: the note, if it raised an ignored SIGPIPE,
    /// to each observer (the trace writes it with the task's `[pid N]`,
    /// as a signal's line has it; a script's actor keeps it for the
    /// runner).
    pub(super) fn sigpipe_note(&self, ev: &Event) {
        if raised_ignored(ev, IGNORED.load(Ordering::Relaxed)) {
            let text = note(uid());
            for o in self.trace.iter().chain(self.observer.iter()) {
                o.signal_note(&text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::values::calls::{self, Syscall};

    fn sent(row: &'static Syscall, args: &str, ret: &Result<i64, Errno>, ignored: bool) -> bool {
        let ev = Event {
            call: row,
            args,
            ret,
            ret_note: "",
            addr: None,
            start: SystemTime::now(),
            duration: Duration::ZERO,
        };
        raised_ignored(&ev, ignored)
    }

    fn sendto(args: &str, ret: &Result<i64, Errno>, ignored: bool) -> bool {
        sent(&calls::SENDTO, args, ret, ignored)
    }

    /// The note's cases, as measured under strace -f (a TCP or UNIX
    /// stream socket: `--- SIGPIPE` after EPIPE unless MSG_NOSIGNAL; a
    /// UDP, UNIX datagram or seqpacket socket's EPIPE raises none).
    #[test]
    fn an_ignored_sigpipe_is_noted_after_a_stream_sockets_epipe_only() {
        let epipe = Err(Errno::EPIPE);
        opened(
            1000,
            raises(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC),
        );
        opened(1001, raises(libc::AF_INET, libc::SOCK_DGRAM));
        opened(1002, raises(libc::AF_UNIX, libc::SOCK_STREAM));
        opened(1003, raises(libc::AF_UNIX, libc::SOCK_SEQPACKET));
        opened(1004, raises(libc::AF_UNIX, libc::SOCK_DGRAM));
        assert!(sendto("1000, \"x\", 1, 0, NULL, 0", &epipe, true));
        assert!(sendto("1002, \"x\", 1, 0, NULL, 0", &epipe, true));
        assert!(sent(&calls::WRITE, "1002, \"x\", 1", &epipe, true));
        assert!(!sent(&calls::READ, "1002, \"x\", 1", &epipe, true));
        for fd in [1001, 1003, 1004] {
            assert!(!sendto(
                &format!("{fd}, \"x\", 1, 0, NULL, 0"),
                &epipe,
                true
            ));
        }
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
        opened(1000, false);
        assert!(!sendto("1000, \"x\", 1, 0, NULL, 0", &epipe, true));
        assert!(!sendto("5000, \"x\", 1, 0, NULL, 0", &epipe, true));
    }

    /// A script's runner puts the writer's pid into the note.
    #[test]
    fn the_runner_fills_in_the_writers_pid() {
        let filled = with_pid(&note(0), 42).unwrap();
        assert!(filled.contains("si_code=SI_USER, si_pid=42, si_uid=0} ---"));
        assert_eq!(with_pid("# another note", 42), None);
    }
}
