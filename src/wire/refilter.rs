//! The capture's kernel filter attached again when the program names a
//! new port (capture.rs, step 7): a call the timeline makes on the
//! thread whose call named the port, inside that call's bookkeeping, so
//! it cannot print through the tracer (whose line is being written).
//! Its line is caught here instead, as strace prints it, and the
//! timeline puts it right after the line of the call that named the
//! port, with that call's prefix, where `strace -f` shows it.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::strace::{Event, Held, json_line, lock};
use crate::sys::{Observer, Socket, Sys};
use crate::values::calls::Syscall;

/// The refilter's call as strace prints it (or its JSON line).
pub(super) struct Shown {
    pub start: SystemTime,
    pub end: SystemTime,
    pub call: &'static Syscall,
    pub line: String,
}

/// The capture's socket and a layer whose one observer keeps the line.
pub(super) struct Refilter {
    sys: Sys,
    s: Socket,
    caught: Arc<Caught>,
    /// The capture's side tag (a lab's `wire`): its line carries it, so
    /// that a lab's record (which skips `wire |` lines) does not replay it.
    side: Option<&'static str>,
    /// A program's capture under `--record`: the record-only tag's mark
    /// (`Tracer::record_tagged`), for the same reason.
    mark: String,
}

struct Caught {
    json: bool,
    /// The capture's side tag, for a JSON line's `side` (a lab's `wire`).
    side: Option<&'static str>,
    line: Mutex<Option<Shown>>,
}

impl Observer for Caught {
    fn event(&self, ev: &Event, _held: Option<&mut Held>) {
        let line = match self.json {
            true => json_line(ev, self.side),
            false => ev.strace_line(),
        };
        *lock(&self.line) = Some(Shown {
            start: ev.start,
            end: ev.start + ev.duration,
            call: ev.call,
            line,
        });
    }
}

impl Refilter {
    pub(super) fn new(sys: &Sys, s: Socket, json: bool) -> Refilter {
        let caught = Arc::new(Caught {
            json,
            side: sys.tracer().side(),
            line: Mutex::new(None),
        });
        Refilter {
            side: sys.tracer().side(),
            mark: sys.tracer().record_mark(),
            sys: sys
                .untraced()
                .with_observer(Some(caught.clone() as Arc<dyn Observer>)),
            s,
            caught,
        }
    }

    /// The line's head: the capture's tag, then the task part of the
    /// head of the call that named the port (`server | [pid 7] `: the
    /// same thread made this call), or this task's `[pid N] `.
    pub(super) fn head(&self, named_by: Option<&str>) -> String {
        let task = match named_by {
            Some(p) => p.split_once(" | ").map_or(p, |(_, t)| t).to_string(),
            None => crate::strace::tasks::prefix(),
        };
        match self.side {
            Some(side) => format!("{side:>6} | {task}"),
            None => format!("{}{task}", self.mark),
        }
    }

    /// `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, {len=N, filter=PTR},
    /// 16)` with `prog`; its line, failed or not (a failure keeps the old
    /// filter: user space still decides, so it is not fatal).
    pub(super) fn attach(&self, prog: &[libc::sock_filter]) -> Option<Shown> {
        let _ = self.sys.setsockopt_attach_filter(self.s, prog);
        lock(&self.caught.line).take()
    }
}
