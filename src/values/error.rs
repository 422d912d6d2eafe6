//! socklab's one error type, its hints and its exit codes (DESIGN.md §3).

use std::fmt;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::strace::errno_text;

/// Exit code of a syscall or runtime failure.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of a usage error (clap's own code for bad arguments).
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug)]
pub enum Error {
    /// A syscall failed. `line` is the call as strace prints it, without the
    /// result: `connect(3, {sa_family=AF_INET, ...}, 16)`.
    Sys {
        call: &'static str,
        line: String,
        errno: Errno,
        unix: bool,
    },
    /// A `--timeout` deadline passed while `line` was waiting (Python's
    /// `socket.timeout: timed out`).
    Timeout { line: String, secs: f64 },
    /// A C library call that is not one syscall failed with an errno (it
    /// returns it, as `pthread_create` does): `call: ENAME (text)`. Its
    /// syscalls (clone3, mmap of the stack) are glibc's, not in the trace.
    Lib { call: &'static str, errno: Errno },
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

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Sys {
                call, errno, unix, ..
            } => hint(call, *errno, *unix),
            Error::Lib { call, errno } => hint(call, *errno, false),
            Error::Timeout { line, .. } if line.starts_with("sendto(") => Some(
                "the peer took nothing before the deadline: its receive queue stayed full (a UNIX datagram peer or a TCP peer that does not read)",
            ),
            Error::Timeout { .. } => Some(
                "nothing arrived before the deadline; the peer may be waiting too (an empty TCP send puts nothing on the wire)",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    /// The message after `socklab: `; the hint, if any, is printed by main.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { line, errno, .. } => write!(f, "{line} = -1 {}", errno_text(*errno)),
            Error::Timeout { line, secs } => write!(f, "{line}: timed out after {secs}s"),
            Error::Lib { call, errno } => write!(f, "{call}: {}", errno_text(*errno)),
            Error::Signal(sig) => write!(f, "stopped by {}", sig.as_str()),
            Error::Usage(msg) | Error::Runtime(msg) => f.write_str(msg),
        }
    }
}

/// The one `(call, errno) -> hint` table. A row for one errno of all calls
/// (`_`) comes after the rows of the calls for which that errno means
/// something else (EAGAIN: a full queue for a socket call, a process limit
/// for fork's clone and for pthread_create).
fn hint(call: &str, errno: Errno, unix: bool) -> Option<&'static str> {
    use Errno::*;
    Some(match (call, errno) {
        ("clone" | "clone3" | "fork", EAGAIN) => {
            "no process can be made: this user's process limit (RLIMIT_NPROC, ulimit -u) or the system's (sysctl kernel.threads-max, kernel.pid_max) is reached; wait for some to end, or raise the limit"
        }
        ("pthread_create", EAGAIN) => {
            "no thread can be made: this user's process limit (RLIMIT_NPROC, ulimit -u; threads count), the system's (sysctl kernel.threads-max), or no memory for the thread's stack (ulimit -v)"
        }
        ("clone" | "clone3" | "fork" | "pthread_create", ENOMEM) => {
            "out of memory for a new process or thread (ulimit -v, or the machine's memory)"
        }
        ("connect", EAGAIN) if unix => {
            "the UNIX server's listen backlog is full (a non-blocking connect fails instead of waiting); retry later, or raise the server's --backlog"
        }
        ("bind", ENOENT) if unix => {
            "a directory on the socket's path does not exist (bind creates the socket file, not its directories)"
        }
        ("bind", EADDRINUSE) if unix => {
            "the path is taken; a server still listening there, or a socket file left behind (remove it, or use --unlink-stale)"
        }
        ("bind", EADDRINUSE) => {
            "another socket holds this address, maybe a connection in TIME_WAIT; retry with --reuseaddr, or use port 0"
        }
        (_, EADDRINUSE) => "the local address is taken; use port 0 for an ephemeral port",
        ("bind", EACCES) if !unix => {
            "ports below 1024 need root or CAP_NET_BIND_SERVICE (see sysctl net.ipv4.ip_unprivileged_port_start); use a port >= 1024"
        }
        (_, EACCES) if unix => {
            "no permission on the socket file or a directory on its path (connect needs write permission on the socket)"
        }
        ("connect", ECONNREFUSED) if unix => {
            "no server is listening on it: a stale socket file left by a server that died, or an abstract name nobody holds"
        }
        (_, ECONNREFUSED) => {
            "no server is listening on this address and port (the peer answered with RST, or ICMP port unreachable for UDP)"
        }
        ("openat", ENOENT) => {
            "the socket file's directory does not exist: create it first, or choose another path"
        }
        ("openat", ENOTDIR | ELOOP) => {
            "a component of the socket file's directory is not a directory (or is a symbolic link: use the real path, or --follow-symlinks)"
        }
        (_, ENOENT) if unix => {
            "no socket file at this path: is the server running, and is the path the same on both sides?"
        }
        (_, ENAMETOOLONG) => {
            "a UNIX socket path holds at most 107 bytes (sun_path is 108 with its NUL)"
        }
        (_, EPIPE) => {
            "the connection is closed for writing: the peer closed it, or it was never connected (check connect's result)"
        }
        (_, ECONNRESET) => {
            "the peer reset the connection (RST): it closed with unread data, or exited, or used SO_LINGER 0"
        }
        ("sendto", EAGAIN) if unix => {
            "the receiver's queue is full: a UNIX datagram peer that does not read holds at most net.unix.max_dgram_qlen datagrams; this one was not sent"
        }
        (_, EAGAIN) => {
            "the call would block (non-blocking socket, or SO_RCVTIMEO/SO_SNDTIMEO expired); wait with poll and retry"
        }
        (_, EINPROGRESS) => {
            "a non-blocking connect is under way; poll for POLLOUT, then read SO_ERROR"
        }
        (_, EADDRNOTAVAIL) => {
            "this address is not configured on any local interface (only loopback is here: 127.0.0.1, ::1)"
        }
        (_, ENOTCONN) => "the socket is not connected: connect first, or name the peer with sendto",
        (_, EAFNOSUPPORT) => "this address family is not available in this kernel or namespace",
        ("socket", EPERM) => {
            "capturing needs root or CAP_NET_RAW (sudo, or setcap cap_net_raw+ep on the binary); run without --wire/--pcap otherwise"
        }
        (_, EMFILE) | (_, ENFILE) => {
            "out of file descriptors: raise ulimit -n, or close sockets you no longer use"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            call: "pthread_create",
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
    fn exit_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::Runtime("x".into()).exit_code(), 1);
        assert_eq!(Error::Signal(Signal::SIGINT).exit_code(), 130);
    }
}
