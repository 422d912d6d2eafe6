//! socklab's one error type, its hints and its exit codes (DESIGN.md §3).

use std::fmt;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::values::calls::{Context, Syscall, When};

/// Exit code of a syscall or runtime failure.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of a usage error (clap's own code for bad arguments).
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug)]
pub enum Error {
    /// A syscall failed. `line` is the call as strace prints it, without the
    /// result: `connect(3, {sa_family=AF_INET, ...}, 16)`.
    Sys {
        call: &'static Syscall,
        line: String,
        errno: Errno,
        /// What the hint may depend on: the socket and its options.
        ctx: Context,
    },
    /// A `--timeout` deadline passed while `line` was waiting (Python's
    /// `socket.timeout: timed out`).
    Timeout {
        line: String,
        secs: f64,
        ctx: Context,
    },
    /// A C library call that is not one syscall failed with an errno (it
    /// returns it, as `pthread_create` does): `call: ENAME (text)`. Its
    /// syscalls (clone3, mmap of the stack) are glibc's, not in the trace.
    Lib {
        func: &'static str,
        call: &'static Syscall,
        errno: Errno,
    },
    /// A stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2) arrived;
    /// the program cleaned up and main re-raises the signal so the exit
    /// status is 128+N.
    Signal(Signal),
    /// A bad command line or value: exit code 2.
    Usage(String),
    /// Any other runtime failure: exit code 1.
    Runtime(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A message about user input, safe to print as one line: control
/// characters in it (a newline, a terminal escape) are shown escaped, as
/// Rust's `{:?}` shows them (`\n`, `\u{1b}`), never passed to the terminal.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Error {
    /// A failed syscall: `line` is the call as strace prints it, without
    /// its result; `unix` says whether it was on an AF_UNIX socket (hints).
    pub fn sys(call: &'static Syscall, line: String, errno: Errno, unix: bool) -> Error {
        Error::Sys {
            call,
            line,
            errno,
            ctx: Context {
                unix,
                ..Context::default()
            },
        }
    }

    /// A `--timeout` deadline that passed while `line` waited.
    pub fn timeout(line: String, secs: f64) -> Error {
        Error::Timeout {
            line,
            secs,
            ctx: Context::default(),
        }
    }

    /// Tell the hint more about the socket of a failed call or timeout
    /// (the program's command knows its type and options); other errors
    /// pass unchanged.
    pub fn in_context(mut self, set: impl FnOnce(&mut Context)) -> Error {
        if let Error::Sys { ctx, .. } | Error::Timeout { ctx, .. } = &mut self {
            set(ctx);
        }
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Signal(sig) => 128 + *sig as i32,
            _ => EXIT_FAILURE,
        }
    }

    /// The errno of a failed syscall (None for the other kinds).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Sys {
                call, errno, ctx, ..
            } => call.hint(*errno, ctx),
            Error::Lib { call, errno, .. } => call.hint(*errno, &Context::default()),
            Error::Timeout { line, ctx, .. } => {
                let call = line.split('(').next().unwrap_or("");
                TIMEOUT_HINTS
                    .iter()
                    .find(|(name, when, _)| (name.is_empty() || *name == call) && when.holds(ctx))
                    .map(|(_, _, text)| (*text).to_string())
            }
            _ => None,
        }
    }
}

/// The hints of a `--timeout` that expired, by the call that waited (""
/// for any) and the socket: the first that holds.
static TIMEOUT_HINTS: &[(&str, When, &str)] = &[
    (
        "sendto",
        When::Unix,
        "the peer took nothing before the deadline: its receive queue stayed full (a UNIX peer that does not read; a datagram peer holds at most net.unix.max_dgram_qlen datagrams)",
    ),
    (
        "sendto",
        When::NotConnected,
        "no connection was set up before the deadline (connect_ex returned an error, and a TCP send waits for the connection first): nothing answered the SYN, or the server's listen backlog is full",
    ),
    (
        "sendto",
        When::Tcp,
        "the peer took nothing before the deadline: a TCP peer that does not read lets its receive buffer, then our send buffer, fill up",
    ),
    (
        "sendto",
        When::Any,
        "the send buffer (SO_SNDBUF) had no room for this message before the deadline",
    ),
    (
        "accept4",
        When::Any,
        "no client connected before the deadline",
    ),
    // Not UNIX: its non-blocking connect to a full backlog fails with
    // EAGAIN at once (Python's too), so --timeout never runs out there.
    (
        "connect",
        When::Inet,
        "the connection was not set up before the deadline: nothing answered the SYN (a host that is down or not there, or a firewall that drops it), or the server's listen backlog is full (Linux then drops the SYN, and connect sends it again)",
    ),
    (
        "",
        When::DgramServer,
        "no datagram came before the deadline: no client sent one to this address (a datagram server waits; it sends nothing first)",
    ),
    (
        "",
        When::UdpMore,
        "no datagram came before the deadline, and ours never left: --send-flags MSG_MORE corks a UDP socket, holding the data for a later send without MSG_MORE (one datagram), which this client does not make; close drops it. Send the last message without MSG_MORE",
    ),
    (
        "",
        When::Udp,
        "no datagram came before the deadline: the peer did not answer, or the datagram or its reply was lost (UDP does not retransmit), or nothing is bound there (an unconnected UDP socket is not told of the ICMP port unreachable; with --connect the next call fails with ECONNREFUSED)",
    ),
    (
        "",
        When::Dgram,
        "no datagram came before the deadline: the peer did not answer (UNIX datagrams are not lost; the reply goes to the address the peer saw: the client's --bind name, or else the autobind name it takes)",
    ),
    (
        "",
        When::StreamClientSentBytes,
        "nothing arrived before the deadline: our messages went into the connection and the peer has not answered: it may wait for more first (a line's end, or as many bytes as it expects), or not answer at all (a --sink server, nc -l); --no-reply sends without waiting for an answer",
    ),
    (
        "",
        When::Tcp,
        "nothing arrived before the deadline; the peer may be waiting too (an empty TCP send puts nothing on the wire)",
    ),
    (
        "",
        When::Any,
        "nothing arrived before the deadline; the peer may be waiting too (an empty send on a stream socket puts nothing on the wire)",
    ),
];

impl fmt::Display for Error {
    /// The message after `socklab: `; the hint, if any, is printed by main.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { line, errno, .. } => write!(f, "{line} = -1 {}", errno_text(*errno)),
            Error::Timeout { line, secs, .. } => write!(f, "{line}: timed out after {secs}s"),
            Error::Lib { func, errno, .. } => write!(f, "{func}: {}", errno_text(*errno)),
            Error::Signal(sig) => write!(f, "stopped by {}", sig.as_str()),
            Error::Usage(msg) | Error::Runtime(msg) => f.write_str(msg),
        }
    }
}

/// `ECONNREFUSED (Connection refused)`, as strace and socklab's errors print
/// it: the name, and glibc's `strerror` text (nix's own texts differ, e.g.
/// "Try again" for EAGAIN where strace says "Resource temporarily unavailable").
pub fn errno_text(e: Errno) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: buf is a live buffer of the length we pass; on success the
    // XSI strerror_r (libc's binding) leaves a NUL-terminated string in it.
    let text = unsafe {
        if libc::strerror_r(e as i32, buf.as_mut_ptr(), buf.len()) == 0 {
            std::ffi::CStr::from_ptr(buf.as_ptr())
                .to_string_lossy()
                .into_owned()
        } else {
            e.desc().to_string()
        }
    };
    format!("{e:?} ({text})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::calls;

    fn hint(call: &str, errno: Errno, unix: bool) -> Option<String> {
        let ctx = Context {
            unix,
            ..Context::default()
        };
        calls::hint(call, errno, &ctx)
    }

    #[test]
    fn unix_and_inet_refusals_get_different_hints() {
        let inet = hint("connect", Errno::ECONNREFUSED, false).unwrap();
        let unix = hint("connect", Errno::ECONNREFUSED, true).unwrap();
        assert!(inet.contains("port"), "{inet}");
        assert!(unix.contains("stale socket file"), "{unix}");
    }

    #[test]
    fn a_failed_fork_gets_the_process_limit_hint_not_the_socket_one() {
        let fork = hint("clone", Errno::EAGAIN, false).unwrap();
        assert!(fork.contains("RLIMIT_NPROC"), "{fork}");
        assert!(fork.contains("threads-max"), "{fork}");
        let thread = Error::Lib {
            func: "pthread_create",
            call: &calls::PTHREAD_CREATE,
            errno: Errno::EAGAIN,
        };
        assert!(thread.hint().unwrap().contains("RLIMIT_NPROC"));
        assert_eq!(
            thread.to_string(),
            "pthread_create: EAGAIN (Resource temporarily unavailable)"
        );
        // A socket call's EAGAIN keeps its own hint.
        let recv = hint("recvfrom", Errno::EAGAIN, false).unwrap();
        assert!(recv.contains("would block"), "{recv}");
        let unix_connect = hint("connect", Errno::EAGAIN, true).unwrap();
        assert!(unix_connect.contains("backlog"), "{unix_connect}");
        let unix_bind = hint("bind", Errno::ENOENT, true).unwrap();
        assert!(unix_bind.contains("directory"), "{unix_bind}");
    }

    #[test]
    fn a_udp_send_timeout_is_not_about_a_tcp_peer() {
        let sent = |dgram| {
            Error::timeout("sendto(3, ...)".into(), 1.0)
                .in_context(|c| c.dgram = Some(dgram))
                .hint()
                .unwrap()
        };
        assert!(sent(false).contains("a TCP peer"), "{}", sent(false));
        assert!(
            sent(true).starts_with("the send buffer (SO_SNDBUF)"),
            "{}",
            sent(true)
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::Runtime("x".into()).exit_code(), 1);
        assert_eq!(Error::Signal(Signal::SIGINT).exit_code(), 130);
    }

    #[test]
    fn errno_texts_are_glibcs() {
        assert_eq!(
            errno_text(Errno::EAGAIN),
            "EAGAIN (Resource temporarily unavailable)"
        );
        assert_eq!(
            errno_text(Errno::ECONNREFUSED),
            "ECONNREFUSED (Connection refused)"
        );
    }
}
