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
//! Here: the `Sys` handle and its `Socket`; `call.rs`: the one traced
//! `call` wrapper, and `close`. The calls themselves, one file per family
//! (each file's doc lists its calls): `setup.rs`, `exchange.rs`, `fd.rs`, `files.rs`, `epoll.rs`,
//! `process.rs`, `security.rs`, `packet.rs` (`--wire`), `netns.rs` (`socklab net`; the
//! ifreq both name an interface by: `ifreq.rs`), `resources.rs`,
//! `uring.rs`/`uring_ring.rs`, `untraced.rs` (made without a trace line);
//! a script's (every argument as written, flags by `values::xlat`):
//! `raw.rs`, `transfer.rs`, `msg.rs`, `mmsg.rs`, `options.rs`,
//! `sigsets.rs`. Each call's row is in `values::calls`; `observer.rs`:
//! how the tracer and inspect.rs watch the calls (`Observer`);
//! `pthread.rs`: threads; `sigpipe.rs`: the note for an ignored SIGPIPE.
//!
//! With tracing off (and no `--show-state`, pauses or timeline), no
//! observer is plugged in and a call is the syscall and an EINTR check
//! (branches on two cached bools): no clock read, no rendering, no
//! allocation; its arguments are rendered only if it fails.
#![allow(clippy::disallowed_methods)]

mod call;
mod cmsg;
mod credentials;
mod delivered;
mod epoll;
mod exchange;
mod fd;
mod files;
pub mod handler;
mod ifreq;
mod mmsg;
mod msg;
mod netns;
mod observer;
mod options;
mod packet;
mod process;
pub mod pthread;
mod raw;
#[cfg(test)]
mod rendered;
#[cfg(test)]
mod rendered_msg;
#[cfg(test)]
mod rendered_raw;
mod security;
mod setup;
pub mod signals;
pub mod sigpipe;
mod sigsets;
mod threads;
#[cfg(test)]
mod traced_lines;
mod transfer;
pub mod untraced;
mod uring;
mod uring_ring;

use call::{Call, Rendered, plain, with_addr};
pub use cmsg::Cmsg;
pub use epoll::EpollOp;
pub use files::{FileId, PathFd};
pub use mmsg::Batch;
pub use msg::Received;
pub use observer::Observer;
pub use packet::Frame;
pub use process::{Reaped, shared_counter};
pub use security::PeerCred;
pub use sigsets::mask_of;
pub use uring::{Cqe, Sqe};
pub use uring_ring::{CQE_F_BUFFER, CQE_F_MORE, Ring};

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

use crate::strace::{self, ArgVal, Event, STRACE_MAX_STRLEN, Tracer, quote, render as row_args};
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

    /// An fd as a script wrote it (`close(3)`): any number, open or not;
    /// a call on one that is not open fails with EBADF, as in C.
    pub fn raw(fd: RawFd) -> Socket {
        Socket(fd)
    }

    fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: a Socket holds an fd returned by socket/accept4 that stays
        // open until Sys::close consumes the Socket (a script's
        // Socket::raw may name a closed fd: the kernel then answers
        // EBADF or POLLNVAL, no memory is involved).
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

/// The syscall layer: its observers (the tracer, the inspector when one is
/// asked for), and the tracer itself, for the layers above to print
/// through (`crate::output::Output`) and for its notes.
#[derive(Clone)]
pub struct Sys {
    tracer: Tracer,
    /// The tracer as an [`Observer`]: None when it has nothing to do
    /// (not tracing, no `--wire` timeline).
    trace: Option<Arc<dyn Observer>>,
    /// Who else watches each call (`--show-state`, `--pause-*`, `--step`:
    /// inspect.rs): None when nobody does.
    observer: Option<Arc<dyn Observer>>,
    /// Cached: some observer is plugged in. When not, a call is the
    /// syscall and an EINTR check.
    observed: bool,
    /// Cached: some observer wants each call timed and rendered.
    renders: bool,
    /// Cached: some observer wants each call's arguments before it is
    /// made ([`Observer::entering`]).
    entry: bool,
    /// net.core.somaxconn, for the note after a listen it caps.
    somaxconn: Option<i32>,
}

impl Sys {
    pub fn new(tracer: Tracer) -> Sys {
        threads::read_tids();
        Sys {
            trace: observer::tracing(&tracer),
            tracer,
            observer: None,
            observed: false,
            renders: false,
            entry: false,
            somaxconn: None,
        }
        .cached()
    }

    /// The same layer, traced through `tracer` (a program's `--wire`
    /// capture, its lines tagged in a record: `Tracer::record_tagged`).
    pub fn retraced(&self, tracer: Tracer) -> Sys {
        Sys {
            trace: observer::tracing(&tracer),
            tracer,
            ..self.clone()
        }
        .cached()
    }

    /// The same layer with its cached flags set from its observers.
    fn cached(mut self) -> Sys {
        let observers = || self.trace.iter().chain(self.observer.iter());
        self.observed = observers().next().is_some();
        self.renders = observers().any(|o| o.renders());
        self.entry = observers().any(|o| o.wants_entry());
        self
    }

    /// The same layer, reading net.core.somaxconn now (before the first
    /// socket call, so that the file's open and close come before the
    /// traced calls, not among them) when `backlog` is above 128, the
    /// smallest default a Linux kernel has had: a traced listen beyond it
    /// is followed by a note saying the kernel caps it.
    pub fn with_somaxconn(mut self, backlog: Option<i32>) -> Sys {
        if self.tracer.enabled() && backlog.is_some_and(|b| !(0..=128).contains(&b)) {
            self.somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
                .ok()
                .and_then(|s| s.trim().parse().ok());
        }
        self
    }

    /// The same layer, with `observer` watching each call (None: nobody).
    pub fn with_observer(mut self, observer: Option<Arc<dyn Observer>>) -> Sys {
        self.observer = observer;
        self.cached()
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
            Some(rest) => self.clone().with_observer(rest),
            None => self.clone(),
        }
    }

    /// The same layer without its observer, for the calls the observer makes.
    fn plain(&self) -> Sys {
        self.clone().with_observer(None)
    }

    /// The tracer the calls are traced through, for the layers above to
    /// print through the same streams (`crate::output::Output::new`), so
    /// that their lines keep their order among the trace lines.
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}
