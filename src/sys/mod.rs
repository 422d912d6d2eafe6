//! The one traced syscall layer (DESIGN.md §1): every socket, I/O and
//! socket-file call socklab makes goes through a method here.
//!
//! One method is one kernel syscall, named as strace prints it, arguments in
//! C order. With tracing on, each call emits one event that renders exactly
//! like strace's line; a failure becomes an [`Error::Sys`] carrying the same
//! line and the errno. Calls interrupted by a signal (EINTR) are retried, as
//! Python does since PEP 475, unless the signal asks socklab to stop.
//!
//! nix is used where its wrapper passes exactly what the kernel should see;
//! `accept4`, `recvfrom`, `getsockname`, `getpeername`, `setsockopt` and
//! `getsockopt` go to libc because nix's wrappers drop what strace shows
//! (the peer address of accept4, the in/out address length, raw options).
//!
//! Here: the `Sys` handle, the one `call` wrapper, and `close`. The calls
//! themselves: `setup.rs` (socket, setsockopt, getsockopt, bind, listen,
//! shutdown), `exchange.rs` (accept4, connect, sendto, recvfrom,
//! getsockname, getpeername), `fd.rs` (poll, ioctl, unlink, newfstatat),
//! `files.rs` (getrandom, mkdirat, openat, newfstatat and unlinkat relative to a directory fd,
//! fchmodat, fchmod: private directories and the files socklab made),
//! `epoll.rs` (epoll_create1, epoll_ctl, epoll_wait, poll on many fds) and
//! `process.rs` (fork as strace's clone, wait4, kill, prctl, getpid, getppid,
//! rt_sigprocmask, rt_sigtimedwait, prlimit64) for the server models;
//! `security.rs` (umask, getsockopt SO_PEERCRED) for UNIX socket files and peers; `packet.rs` (the AF_PACKET socket, its
//! filter and recvmsg) for `--wire`; `bench_extra.rs` (getrusage,
//! sched_setaffinity) for `socklab bench`.
//!
//! With tracing off (and no `--show-state`, pauses or timeline), a call is
//! the syscall and an EINTR check: no clock read, no rendering, no
//! allocation; its arguments are rendered only if it fails.
#![allow(clippy::disallowed_methods)]

mod epoll;
mod exchange;
mod fd;
mod files;
mod packet;
mod process;
mod security;
mod setup;
pub mod signals;

pub use epoll::EpollOp;
pub use files::{FileId, PathFd};
pub use packet::Frame;
pub use process::{Reaped, shared_counter};
pub use security::PeerCred;

use std::cell::Cell;
use std::ffi::CString;
use std::fmt;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{self as ns, AddressFamily, MsgFlags, Shutdown, SockFlag, SockType};

use crate::inspect::Inspect;
use crate::strace::{self, Event, STRACE_MAX_STRLEN, Tracer, len_in_out, quote};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::values::sockopt::{Opt, Value};

// `socklab bench`'s other calls: poll on many sockets, getrusage,
// sched_setaffinity, prlimit64.
mod bench_extra;
pub use bench_extra::CpuTime;

/// A socket's file descriptor. Not closed on drop: socklab closes each socket
/// with an explicit, traced [`Sys::close`], as the C twin does; on a fatal
/// error the process exits and the kernel closes what is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Socket(RawFd);

impl Socket {
    pub fn fd(self) -> RawFd {
        self.0
    }

    fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: a Socket holds an fd returned by socket/accept4 that stays
        // open until Sys::close consumes the Socket.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

impl fmt::Display for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The type of a socket file found on disk by [`Sys::newfstatat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Socket,
    Symlink,
    Other,
}

/// The syscall layer: a tracer, and the inspector when one is asked for.
#[derive(Clone)]
pub struct Sys {
    tracer: Tracer,
    /// `--show-state`, `--pause-*`, `--step`: None when none is asked for.
    inspect: Option<Arc<Inspect>>,
    /// net.core.somaxconn, for the note after a listen it caps.
    somaxconn: Option<i32>,
}

/// Which syscall `Sys::call` makes: its name, the socket it is on (for
/// `--show-state` and pauses), and whether its address is AF_UNIX (hints).
struct Call {
    name: &'static str,
    fd: Option<Socket>,
    unix: bool,
}

/// How a call's arguments and return value render once it has returned.
struct Rendered {
    args: String,
    note: String,
}

impl Sys {
    pub fn new(tracer: Tracer) -> Sys {
        Sys {
            tracer,
            inspect: None,
            somaxconn: None,
        }
    }

    /// The same layer, reading net.core.somaxconn now (before the first
    /// socket call, so that the file's open and close come before the
    /// traced calls, not among them) when `backlog` is above 128, the
    /// smallest default a Linux kernel has had: a traced listen beyond it
    /// is followed by a note saying the kernel caps it.
    pub fn with_somaxconn(mut self, backlog: Option<i32>) -> Sys {
        if self.tracer.enabled() && backlog.is_some_and(|b| b > 128) {
            self.somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
                .ok()
                .and_then(|s| s.trim().parse().ok());
        }
        self
    }

    pub fn with_inspect(mut self, inspect: Inspect) -> Sys {
        self.inspect = inspect.is_active().then(|| Arc::new(inspect));
        self
    }

    /// For a check-then-act pair (a UNIX server's newfstatat, then
    /// unlinkat): `--pause-before CALL` pauses now, before the check, so
    /// that the check sees whatever changed during the pause; returns the
    /// layer to make CALL with, which does not pause before it again.
    /// (`--step` still stops before each of the two calls.)
    pub fn pause_before_check(&self, call: &str) -> Sys {
        let Some(inspect) = &self.inspect else {
            return self.clone();
        };
        match inspect.pause_before_now(&self.plain(), call) {
            Some(rest) => Sys {
                inspect: rest.is_active().then(|| Arc::new(rest)),
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// The same layer without inspection, for the calls inspection makes.
    fn plain(&self) -> Sys {
        Sys {
            inspect: None,
            ..self.clone()
        }
    }

    // Program output is `crate::output::Output`'s. These three stay for
    // `inspect.rs` and `wire/` (the call-table branch's files), which print
    // through them until they get an observer or an `Output` of their own.

    /// A comment line in the trace stream, or on stdout when not tracing.
    pub fn note(&self, text: &str) {
        if self.tracer.enabled() {
            self.tracer.note(text);
        } else {
            self.say(text);
        }
    }

    /// One line of program output on stdout.
    pub fn say(&self, text: &str) {
        self.tracer.say(text);
    }

    /// `what: text`, or `text` when the transcript's side tag is `what`.
    pub fn say_about(&self, what: &str, text: &str) {
        match self.tracer.side() {
            Some(side) if side == what => self.say(text),
            _ => self.say(&format!("{what}: {text}")),
        }
    }

    /// Make one syscall: trace it, retry it on EINTR, map a failure to an Error.
    /// Calls that can block first check for a stop signal that arrived
    /// before them (or during a pause, which it ends); `--step`, `--pause-*`
    /// and `--show-state` hook in here.
    fn call(
        &self,
        c: Call,
        mut syscall: impl FnMut() -> std::result::Result<i64, Errno>,
        render: impl Fn(&std::result::Result<i64, Errno>) -> Rendered,
    ) -> Result<i64> {
        let name = c.name;
        let blocking = matches!(
            name,
            "accept4"
                | "connect"
                | "sendto"
                | "recvfrom"
                | "poll"
                | "epoll_wait"
                | "wait4"
                | "rt_sigtimedwait"
        );
        // Tracing off and no inspection: no clock reads, no rendering.
        let watched = self.tracer.enabled() || self.inspect.is_some();
        loop {
            // After a pause: a stop signal that ended it stops the program
            // here, at its next blocking call, where cleanup is arranged.
            if let Some(inspect) = &self.inspect {
                inspect.before(&self.plain(), name, c.fd);
            }
            if blocking && let Some(sig) = signals::pending() {
                return Err(Error::Signal(sig));
            }
            let _entered = self.tracer.enter();
            if !watched {
                match syscall() {
                    Ok(v) => return Ok(v),
                    Err(Errno::EINTR) if !signals::interrupts() => continue,
                    Err(Errno::EINTR) if let Some(sig) = signals::pending() => {
                        return Err(Error::Signal(sig));
                    }
                    Err(errno) => {
                        let r = render(&Err(errno));
                        return Err(Error::Sys {
                            call: name,
                            line: format!("{name}({})", r.args),
                            errno,
                            unix: c.unix,
                        });
                    }
                }
            }
            let mut held = self.tracer.hold(matches!(
                name,
                "accept4" | "recvfrom" | "poll" | "epoll_wait" | "wait4"
            ));
            let start = SystemTime::now();
            let t0 = Instant::now();
            let ret = syscall();
            let duration = t0.elapsed();
            let r = render(&ret);
            let event = Event {
                call: name,
                args: &r.args,
                ret: &ret,
                ret_note: &r.note,
                start,
                duration,
            };
            self.tracer.emit(&event, held.as_mut());
            drop(held);
            if let Some(inspect) = &self.inspect {
                inspect.after(&self.plain(), name, c.fd);
            }
            match ret {
                Ok(v) => return Ok(v),
                Err(Errno::EINTR) if !signals::interrupts() => continue,
                Err(Errno::EINTR) if let Some(sig) = signals::pending() => {
                    return Err(Error::Signal(sig));
                }
                Err(errno) => {
                    return Err(Error::Sys {
                        call: name,
                        line: format!("{name}({})", r.args),
                        errno,
                        unix: c.unix,
                    });
                }
            }
        }
    }

    /// close(2). Consumes the socket: it cannot be used after this.
    pub fn close(&self, s: Socket) -> Result<()> {
        // Not retried on EINTR: on Linux the fd is gone either way (close(2)),
        // so EINTR counts as closed.
        if let Some(inspect) = &self.inspect {
            inspect.before(&self.plain(), "close", Some(s));
            inspect.track(s.0, false);
        }
        let _entered = self.tracer.enter();
        let mut held = self.tracer.hold(false);
        // The clocks only when the call is shown (a per-connection cost).
        let traced = self.tracer.enabled();
        let start = if traced {
            SystemTime::now()
        } else {
            std::time::UNIX_EPOCH
        };
        let t0 = traced.then(Instant::now);
        let ret = nix::unistd::close(s.0).map(|()| 0);
        if let Some(t0) = t0 {
            let event = Event {
                call: "close",
                args: &s.to_string(),
                ret: &ret,
                ret_note: "",
                start,
                duration: t0.elapsed(),
            };
            self.tracer.emit(&event, held.as_mut());
        }
        drop(held);
        if let Some(inspect) = &self.inspect {
            inspect.after(&self.plain(), "close", Some(s));
        }
        // Linux releases the descriptor before close can be interrupted
        // (close(2), "Dealing with error returns"): EINTR means closed.
        if ret == Err(Errno::EINTR) {
            return Ok(());
        }
        ret.map(drop).map_err(|errno| Error::Sys {
            call: "close",
            line: format!("close({s})"),
            errno,
            unix: false,
        })
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn plain(args: String) -> Rendered {
    Rendered {
        args,
        note: String::new(),
    }
}
