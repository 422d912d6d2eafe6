//! The one traced `call` wrapper every method of `Sys` makes its syscall
//! through (trace, EINTR, observers, the error with its hint), and
//! `close`, which is its own (EINTR means closed).

use super::*;

/// Which syscall `Sys::call` makes: its row, the socket it is on (for
/// `--show-state` and pauses), and whether its address is AF_UNIX (hints).
pub(super) struct Call {
    pub(super) row: &'static Syscall,
    pub(super) fd: Option<Socket>,
    pub(super) unix: bool,
}

/// How a call's arguments and return value render once it has returned,
/// and the address that names one of the program's own ports (bind,
/// getsockname, connect, sendto), for the wire.
pub(super) struct Rendered {
    pub(super) args: String,
    pub(super) note: String,
    pub(super) addr: Option<Addr>,
}

impl Sys {
    /// Make one syscall: trace it, retry it on EINTR, map a failure to an Error.
    /// Calls that can block first check for a stop signal that arrived
    /// before them (or during a pause, which it ends); `--step`, `--pause-*`
    /// and `--show-state` hook in here.
    pub(super) fn call(
        &self,
        c: Call,
        mut syscall: impl FnMut() -> std::result::Result<i64, Errno>,
        render: impl Fn(&std::result::Result<i64, Errno>) -> Rendered,
    ) -> Result<i64> {
        let row = c.row;
        let name = row.name;
        loop {
            // After a pause: a stop signal that ended it stops the program
            // here, at its next blocking call, where cleanup is arranged.
            self.each(|o, sys| o.before(sys, row, c.fd));
            if row.blocks
                && let Some(sig) = signals::pending()
            {
                return Err(Error::Signal(sig));
            }
            // Nobody watching, or no one who needs the call shown: no
            // clock reads, no rendering (a cached bool).
            let _entered = self.observed.then(|| self.enter());
            // The call's entry, to whoever wants it: rendered as if it
            // failed (what the kernel fills in shows as pointers, and
            // entry_len cuts it off anyway).
            let entering = || {
                if self.entry && self.entry_now() {
                    self.entering(row, &render(&Err(Errno::UnknownErrno)).args);
                }
            };
            if !self.renders {
                entering();
                let script_handled = handler::total();
                match syscall() {
                    Ok(v) => return Ok(v),
                    Err(Errno::EINTR) if handler::retries(script_handled) => continue,
                    Err(Errno::EINTR) if let Some(sig) = signals::pending() => {
                        return Err(Error::Signal(sig));
                    }
                    Err(errno) => {
                        let r = render(&Err(errno));
                        let line = format!("{name}({})", r.args);
                        return Err(failed(row, line, errno, c.unix, r.addr.as_ref()));
                    }
                }
            }
            // First the set-up note (before the first line), then a signal
            // taken since the last call (strace saw it before this entry).
            signals::start_before(self);
            self.delivered_before();
            entering();
            let mut held = self.hold(row.waits_for_peer);
            // strace -f's `[pid N]` is decided at the call's entry.
            strace::tasks::pin();
            let handled = signals::handled();
            let script_handled = handler::total();
            let start = SystemTime::now();
            let t0 = Instant::now();
            let ret = syscall();
            let duration = t0.elapsed();
            let mut r = render(&ret);
            // Interrupted by a handler: strace's `= ? ERESTARTSYS (...)`.
            let by_handler = signals::handled() != handled || handler::total() != script_handled;
            if ret == Err(Errno::EINTR) && by_handler && !row.restart.is_empty() {
                r.note = row.restart.to_string();
            }
            let event = Event {
                call: row,
                args: &r.args,
                ret: &ret,
                ret_note: &r.note,
                addr: r.addr.as_ref(),
                start,
                duration,
            };
            self.emit(&event, &mut held);
            drop(held);
            self.delivered(&ret);
            self.each(|o, sys| o.after(sys, row, c.fd, &ret));
            match ret {
                Ok(v) => return Ok(v),
                Err(Errno::EINTR) if handler::retries(script_handled) => continue,
                Err(Errno::EINTR) if let Some(sig) = signals::pending() => {
                    return Err(Error::Signal(sig));
                }
                Err(errno) => {
                    let line = format!("{name}({})", r.args);
                    return Err(failed(row, line, errno, c.unix, r.addr.as_ref()));
                }
            }
        }
    }

    /// close(2). Consumes the socket: it cannot be used after this.
    pub fn close(&self, s: Socket) -> Result<()> {
        // Not retried on EINTR: on Linux the fd is gone either way (close(2)),
        // so EINTR counts as closed.
        self.each(|o, sys| {
            o.before(sys, &calls::CLOSE, Some(s));
            o.closed(s);
        });
        let _entered = self.observed.then(|| self.enter());
        // The clocks only when the call is shown (a per-connection cost).
        let traced = self.renders;
        if traced {
            // Before the entry: strace saw the signal before the call.
            signals::start_before(self);
            self.delivered_before();
        }
        if self.entry && self.entry_now() {
            self.entering(&calls::CLOSE, &row_args(&calls::CLOSE, &[ArgVal::Fd(s.0)]));
        }
        let mut held = self.hold(false);
        let start = if traced {
            SystemTime::now()
        } else {
            std::time::UNIX_EPOCH
        };
        let t0 = traced.then(Instant::now);
        if traced {
            strace::tasks::pin();
        }
        let ret = nix::unistd::close(s.0).map(|()| 0);
        if let Some(t0) = t0 {
            let event = Event {
                call: &calls::CLOSE,
                args: &row_args(&calls::CLOSE, &[ArgVal::Fd(s.0)]),
                ret: &ret,
                ret_note: "",
                addr: None,
                start,
                duration: t0.elapsed(),
            };
            self.emit(&event, &mut held);
        }
        drop(held);
        self.each(|o, sys| o.after(sys, &calls::CLOSE, Some(s), &ret));
        // Linux releases the descriptor before close can be interrupted
        // (close(2), "Dealing with error returns"): EINTR means closed.
        if ret == Err(Errno::EINTR) {
            return Ok(());
        }
        ret.map(drop)
            .map_err(|errno| Error::sys(&calls::CLOSE, format!("close({s})"), errno, false))
    }
}

/// A failed call's error, with the port its address named for the hint.
fn failed(
    row: &'static Syscall,
    line: String,
    errno: Errno,
    unix: bool,
    addr: Option<&Addr>,
) -> Error {
    Error::sys(row, line, errno, unix).in_context(|c| {
        c.port = addr.and_then(Addr::port);
        c.abstract_name = addr.is_some_and(|a| a.is_unix() && a.unix_path().is_none());
    })
}

pub(super) fn plain(args: String) -> Rendered {
    Rendered {
        args,
        note: String::new(),
        addr: None,
    }
}

/// Arguments naming one of the program's own addresses (for the wire).
pub(super) fn with_addr(args: String, addr: Addr) -> Rendered {
    Rendered {
        args,
        note: String::new(),
        addr: Some(addr),
    }
}
