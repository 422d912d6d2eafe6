//! How a program's own trace (text, no side, no timeline: the one `sys`
//! counts tasks for) prints through the open-line slot (`open_line.rs`):
//! a call's entry, its whole or resumed line, another line after an open
//! entry, a fork under `--wire`, and the lines of the threads a signal
//! killed.

use std::time::SystemTime;

use super::open_line::{Held, active, hold};
use super::split::{Returned, resumed_text, unfinished_text};
use super::{Event, ForkHeld, Format, Tracer, lock, tasks, write_to};
use crate::values::calls::Syscall;

/// A program's own trace (text, no side, no timeline: the one `sys`
/// counts tasks for) through the slot.
impl Tracer {
    /// Whether this tracer's lines go through the slot once it is in use.
    pub(super) fn opens_lines(&self) -> bool {
        self.format == Format::Text
            && self.side.is_none()
            && self.timeline.is_none()
            && self.split.is_none()
    }

    /// Whether a call's entry is wanted ([`Tracer::entering`]): a
    /// shared transcript's (`split.rs`), or a program's.
    pub fn wants_entries(&self) -> bool {
        self.splits() || self.opens_lines() || self.timeline_entries()
    }

    /// Whether a call's entry is wanted now: a program's only once the
    /// slot is in use (before, one task: nothing to split).
    pub fn entries_now(&self) -> bool {
        self.splits() || (self.opens_lines() && active()) || self.timeline_entries()
    }

    /// `--trace-time`'s duration after a call's line (strace's -T).
    pub(super) fn took(&self, ev: &Event) -> String {
        self.stamps
            .as_ref()
            .map_or_else(String::new, |s| s.suffix(ev.duration))
    }

    fn slot(&self) -> Option<Held> {
        self.opens_lines().then(hold).flatten()
    }

    /// A call starts: its entry is the open line. False: no slot.
    pub(super) fn open_entering(&self, row: &'static Syscall, args: &str) -> bool {
        let Some(mut slot) = self.slot() else {
            return false;
        };
        let head = self.head(SystemTime::now());
        if let Some(line) = slot.enter(tasks::tid(), &head, &unfinished_text(row, args)) {
            write_to(&mut lock(&self.trace), &line);
        }
        true
    }

    /// Task `tid`'s call starts, its entry opened by another task (a
    /// clone3's, by the new thread: only it knows the arguments before
    /// the clone3's return); `prefix` is `tid`'s pinned at the entry,
    /// `at` its start. False: no slot.
    pub fn open_entering_for(
        &self,
        tid: i32,
        prefix: &str,
        at: SystemTime,
        row: &'static Syscall,
        args: &str,
    ) -> bool {
        let Some(mut slot) = self.slot() else {
            return false;
        };
        let stamp = self
            .stamps
            .as_ref()
            .map_or_else(String::new, |s| s.prefix(at));
        let head = format!("{prefix}{stamp}");
        if let Some(line) = slot.enter(tid, &head, &unfinished_text(row, args)) {
            write_to(&mut lock(&self.trace), &line);
        }
        true
    }

    /// A call's line (`took`: its `--trace-time` duration): whole after
    /// its entry's head, or resumed. False: no slot.
    pub(super) fn open_emit(&self, ev: &Event, took: &str) -> bool {
        let Some(mut slot) = self.slot() else {
            return false;
        };
        let (before, how) = slot.returned(tasks::tid());
        let line = match how {
            Returned::Whole(head) => {
                // The prefix pinned at the call's entry is its head's.
                let _ = tasks::prefix();
                format!("{}{}{took}", head.with(tasks::Seen::call), ev.strace_line())
            }
            Returned::Resumed => {
                // strace's prefix of now (a task may have ended since).
                let _ = tasks::prefix();
                let head = self.head(ev.start + ev.duration);
                format!("{head}{}{took}", resumed_text(ev))
            }
            Returned::Unentered => format!("{}{}{took}", self.head(ev.start), ev.strace_line()),
        };
        let mut w = lock(&self.trace);
        if let Some(b) = before {
            write_to(&mut w, &b);
        }
        write_to(&mut w, &line);
        true
    }

    /// Another line (a signal's, a note): after the open entry, printed
    /// as unfinished. False: no slot.
    pub(super) fn open_write(&self, line: &str) -> bool {
        let Some(mut slot) = self.slot() else {
            return false;
        };
        let mut w = lock(&self.trace);
        if let Some(b) = slot.interrupt() {
            write_to(&mut w, &b);
        }
        write_to(&mut w, line);
        true
    }
}

/// A fork under `--wire` (`sys::fork`).
impl Tracer {
    /// Before a fork (`sys::fork`): the timeline's locks, held until the
    /// guards drop in the parent and in the child (see
    /// [`super::Timeline::hold_for_fork`]); nothing without `--wire`, where no
    /// other thread runs.
    pub fn hold_for_fork(&self) -> Vec<Box<dyn ForkHeld + '_>> {
        self.timeline
            .as_ref()
            .map_or_else(Vec::new, |t| t.hold_for_fork())
    }

    /// `--wire`, in a parent that forked: its lines so far, the clone's
    /// included, are printed now ([`super::Timeline::forked`]).
    pub fn forked(&self) {
        if let Some(t) = &self.timeline {
            t.forked();
        }
    }
}

/// A process killed by a signal (`sys`'s re-raise, just before it dies).
impl Tracer {
    /// What strace -f prints for process `pid`'s other threads blocked in
    /// a call printed as unfinished, when `sig` kills it: each one's
    /// `<... NAME resumed> <unfinished ...>) = ?`, then each one's `+++
    /// killed by SIG +++` (in an order the kernel decides; strace prints
    /// the killer's own `+++` last). Nothing without the slot.
    /// How many threads it printed so.
    pub fn others_killed(&self, pid: i32, sig: &str) -> usize {
        self.others_end(pid, &format!("+++ killed by {sig} +++"))
            .len()
    }

    /// The same for process `pid`'s `exit_group(code)` (a traced
    /// program's end, `cli/end.rs`): each blocked thread's `<... NAME
    /// resumed> <unfinished ...>) = ?`, then each one's `+++ exited with
    /// CODE +++`, before the process's own.
    /// A thread in no printed call (between calls, or in one not split)
    /// has only its `+++ exited` line (`tasks::other_threads`).
    /// How many threads it printed so.
    pub fn others_exited(&self, pid: i32, code: i32) -> usize {
        let end = format!("+++ exited with {code} +++");
        let cut = self.others_end(pid, &end);
        let rest: Vec<i32> = tasks::other_threads()
            .into_iter()
            .filter(|t| !cut.contains(t))
            .collect();
        let printed = cut.len() + rest.len();
        if rest.is_empty() {
            return printed;
        }
        let stamps = self.stamps.as_ref();
        let mut w = lock(&self.trace);
        for t in rest {
            let stamp = stamps.map_or_else(String::new, |s| s.prefix(SystemTime::now()));
            write_to(&mut w, &format!("{}{stamp}{end}", tasks::pid_prefix(t)));
        }
        printed
    }

    /// Each other thread of `pid` printed as unfinished: its `<... NAME
    /// resumed> <unfinished ...>) = ?` line (strace's decoder had more to
    /// print at the return: `print_event_exit`), or `<... accept
    /// resumed>) = ?` where the entry said it all (accept with NULL
    /// address and length, measured with strace 6.1; recvfrom, poll,
    /// rt_sigtimedwait with NULL info and a partial accept4 print the
    /// first), then each one's `end`; their tids.
    fn others_end(&self, pid: i32, end: &str) -> Vec<i32> {
        let Some(mut slot) = self.slot() else {
            return Vec::new();
        };
        let mut w = lock(&self.trace);
        if let Some(b) = slot.interrupt() {
            write_to(&mut w, &b);
        }
        let others = slot.unfinished_of(pid, tasks::tid());
        let stamps = self.stamps.as_ref();
        let stamp = || stamps.map_or_else(String::new, |s| s.prefix(SystemTime::now()));
        let head = |t: i32| format!("{}{}", tasks::pid_prefix(t), stamp());
        for (t, name, whole) in &others {
            let decoded = *whole && (name == "accept" || name == "accept4");
            let rest = if decoded { "" } else { " <unfinished ...>" };
            write_to(
                &mut w,
                &format!("{}<... {name} resumed>{rest}) = ?", head(*t)),
            );
        }
        for (t, _, _) in &others {
            write_to(&mut w, &format!("{}{end}", head(*t)));
        }
        others.into_iter().map(|(t, _, _)| t).collect()
    }
}
