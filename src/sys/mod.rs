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
//! filter and recvmsg) for `--wire`; `resources.rs` (getrusage,
//! sched_setaffinity: CPU time and placement, for `socklab bench`);
//! `untraced.rs` (pthread_create, _exit, geteuid, sysconf, SIGPIPE's
//! disposition: made without a trace line). Each call's row is in
//! `values::calls`; `Observer` is how inspect.rs watches the calls.
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
pub mod untraced;

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

use crate::strace::{self, Event, STRACE_MAX_STRLEN, Tracer, len_in_out, quote};
use crate::values::addr::Addr;
use crate::values::calls::{self, Syscall};
use crate::values::error::{Error, Result};
use crate::values::sockopt::{Opt, Value};

// CPU time and placement: getrusage, sched_setaffinity.
mod resources;
pub use resources::CpuTime;

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
    /// Who watches each call (`--show-state`, `--pause-*`, `--step`:
    /// inspect.rs): None when nobody does.
    observer: Option<Arc<dyn Observer>>,
    /// net.core.somaxconn, for the note after a listen it caps.
    somaxconn: Option<i32>,
}

/// Something that watches each call from outside the layer (the
/// `--show-state`/pause inspector of inspect.rs): `sys` knows only this
/// trait. It is called with the layer to make its own calls through
/// (without the observer, so they are not observed in turn).
pub trait Observer: Send + Sync {
    /// Before `call` (on `fd`, if it is on a socket).
    fn before(&self, sys: &Sys, call: &'static Syscall, fd: Option<Socket>);
    /// After `call` returned `ret` (EINTR included, before a retry).
    fn after(
        &self,
        sys: &Sys,
        call: &'static Syscall,
        fd: Option<Socket>,
        ret: &std::result::Result<i64, Errno>,
    );
    /// A new descriptor: from socket (`tcp`: a TCP socket) or accept4
    /// (`from`: the listener).
    fn opened(&self, _fd: Socket, _from: Option<Socket>, _tcp: bool) {}
    /// A descriptor closed.
    fn closed(&self, _fd: Socket) {}
    /// For a check-then-act pair: what to do before the check of `call`
    /// (see [`Sys::pause_before_check`]); returns None to keep this
    /// observer for `call`, or Some(the observer to make it with).
    fn before_check(
        &self,
        _sys: &Sys,
        _call: &'static Syscall,
    ) -> Option<Option<Arc<dyn Observer>>> {
        None
    }
}

/// Which syscall `Sys::call` makes: its row, the socket it is on (for
/// `--show-state` and pauses), and whether its address is AF_UNIX (hints).
struct Call {
    row: &'static Syscall,
    fd: Option<Socket>,
    unix: bool,
}

/// How a call's arguments and return value render once it has returned,
/// and the address that names one of the program's own ports (bind,
/// getsockname, connect, sendto), for the wire.
struct Rendered {
    args: String,
    note: String,
    addr: Option<Addr>,
}

impl Sys {
    pub fn new(tracer: Tracer) -> Sys {
        Sys {
            tracer,
            observer: None,
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

    /// The same layer, with `observer` watching each call (None: nobody).
    pub fn with_observer(mut self, observer: Option<Arc<dyn Observer>>) -> Sys {
        self.observer = observer;
        self
    }

    /// For a check-then-act pair (a UNIX server's newfstatat, then
    /// unlinkat): `--pause-before CALL` pauses now, before the check, so
    /// that the check sees whatever changed during the pause; returns the
    /// layer to make CALL with, which does not pause before it again.
    /// (`--step` still stops before each of the two calls.)
    pub fn pause_before_check(&self, call: &'static Syscall) -> Sys {
        let Some(observer) = &self.observer else {
            return self.clone();
        };
        match observer.before_check(&self.plain(), call) {
            Some(rest) => Sys {
                observer: rest,
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// The same layer without its observer, for the calls the observer makes.
    fn plain(&self) -> Sys {
        Sys {
            observer: None,
            ..self.clone()
        }
    }

    /// The tracer the calls are traced through, for the layers above to
    /// print through the same streams (`crate::output::Output::new`), so
    /// that their lines keep their order among the trace lines.
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
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
        let row = c.row;
        let name = row.name;
        // Tracing off and no inspection: no clock reads, no rendering.
        let watched = self.tracer.enabled() || self.observer.is_some();
        loop {
            // After a pause: a stop signal that ended it stops the program
            // here, at its next blocking call, where cleanup is arranged.
            if let Some(observer) = &self.observer {
                observer.before(&self.plain(), row, c.fd);
            }
            if row.blocks
                && let Some(sig) = signals::pending()
            {
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
                        let line = format!("{name}({})", r.args);
                        return Err(Error::sys(row, line, errno, c.unix));
                    }
                }
            }
            let mut held = self.tracer.hold(row.waits_for_peer);
            let start = SystemTime::now();
            let t0 = Instant::now();
            let ret = syscall();
            let duration = t0.elapsed();
            let r = render(&ret);
            let event = Event {
                call: row,
                args: &r.args,
                ret: &ret,
                ret_note: &r.note,
                addr: r.addr.as_ref(),
                start,
                duration,
            };
            self.tracer.emit(&event, held.as_mut());
            drop(held);
            if let Some(observer) = &self.observer {
                observer.after(&self.plain(), row, c.fd, &ret);
            }
            match ret {
                Ok(v) => return Ok(v),
                Err(Errno::EINTR) if !signals::interrupts() => continue,
                Err(Errno::EINTR) if let Some(sig) = signals::pending() => {
                    return Err(Error::Signal(sig));
                }
                Err(errno) => {
                    return Err(Error::sys(
                        row,
                        format!("{name}({})", r.args),
                        errno,
                        c.unix,
                    ));
                }
            }
        }
    }

    /// close(2). Consumes the socket: it cannot be used after this.
    pub fn close(&self, s: Socket) -> Result<()> {
        // Not retried on EINTR: on Linux the fd is gone either way (close(2)),
        // so EINTR counts as closed.
        if let Some(observer) = &self.observer {
            observer.before(&self.plain(), &calls::CLOSE, Some(s));
            observer.closed(s);
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
                call: &calls::CLOSE,
                args: &s.to_string(),
                ret: &ret,
                ret_note: "",
                addr: None,
                start,
                duration: t0.elapsed(),
            };
            self.tracer.emit(&event, held.as_mut());
        }
        drop(held);
        if let Some(observer) = &self.observer {
            observer.after(&self.plain(), &calls::CLOSE, Some(s), &ret);
        }
        // Linux releases the descriptor before close can be interrupted
        // (close(2), "Dealing with error returns"): EINTR means closed.
        if ret == Err(Errno::EINTR) {
            return Ok(());
        }
        ret.map(drop)
            .map_err(|errno| Error::sys(&calls::CLOSE, format!("close({s})"), errno, false))
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
        addr: None,
    }
}

/// Arguments naming one of the program's own addresses (for the wire).
fn with_addr(args: String, addr: Addr) -> Rendered {
    Rendered {
        args,
        note: String::new(),
        addr: Some(addr),
    }
}
