//! A call that blocks while another side prints, split as `strace -f`
//! splits it: `recvfrom(4,  <unfinished ...>` where it started, `<...
//! recvfrom resumed>"HI", 1024, 0, NULL, NULL) = 2` where it returned
//! (a shared transcript: `socklab demo`, a lab's timeline).
//!
//! strace prints a call's entry at once and finishes the line at its
//! return when nothing else was printed in between; otherwise it ends the
//! entry with ` <unfinished ...>` and prints the rest as a resumed line.
//! Here a call that waits for the peer ([`Syscall::waits_for_peer`])
//! leaves its entry pending ([`Split::enter`]); the next line of anyone
//! else prints it as unfinished first ([`Split::interrupt`]); its own
//! return finds it still pending (a whole line) or not (a resumed line).
//! Calls are told apart by thread, as strace tells them apart by pid.

use std::sync::Arc;
use std::thread::ThreadId;
use std::time::SystemTime;

use super::tasks::{self, Seen};
use super::{Event, Format, Held, Tracer, lock, write_to};
use crate::values::calls::Syscall;

/// The pending entry and the calls printed as unfinished.
#[derive(Default)]
pub(super) struct Split {
    current: Option<Entry>,
    unfinished: Vec<ThreadId>,
}

/// A call's entry not printed yet: its head and its `<unfinished ...>`
/// text.
struct Entry {
    thread: ThreadId,
    head: Head,
    text: String,
}

/// What a text line starts with: its side's tag (`server | `), or a
/// program's own `[pid N] ` ([`tasks::prefix`]) without one; on a
/// timeline, its task's `[pid N] ` after the tag, decided when the line
/// is printed ([`Seen`]); the `--trace-time` stamp.
pub(super) struct Head {
    tag: String,
    task: Option<(Arc<Seen>, i32)>,
    stamp: String,
}

impl Head {
    /// The head, the task's prefix decided by `how` (a whole line, an
    /// unfinished or a resumed half: [`Seen`]).
    pub(super) fn with(&self, how: fn(&Seen, i32) -> String) -> String {
        let task = self
            .task
            .as_ref()
            .map_or_else(String::new, |(seen, tid)| how(seen, *tid));
        format!("{}{task}{}", self.tag, self.stamp)
    }
}

/// A head already written out (a program's own trace, `open_line.rs`).
impl From<String> for Head {
    fn from(tag: String) -> Self {
        Head {
            tag,
            task: None,
            stamp: String::new(),
        }
    }
}

/// How a returning call's line is printed.
pub(super) enum Returned {
    /// Whole, after the head its entry had.
    Whole(Head),
    /// As `<... NAME resumed>`: its entry was printed as unfinished.
    Resumed,
    /// Whole, with no entry pending (a call made holding the sink).
    Unentered,
}

impl Split {
    /// Another line is printed: the pending entry first, as unfinished.
    pub(super) fn interrupt(&mut self) -> Option<String> {
        let e = self.current.take()?;
        self.unfinished.push(e.thread);
        Some(format!("{}{}", e.head.with(Seen::unfinished), e.text))
    }

    /// A call that waits for the peer starts: its entry is pending; the
    /// one pending before it, if any, is to be printed now.
    pub(super) fn enter(&mut self, head: Head, text: String) -> Option<String> {
        let before = self.interrupt();
        self.current = Some(Entry {
            thread: std::thread::current().id(),
            head,
            text,
        });
        before
    }

    /// This thread's call returned: how to print it, and the line to
    /// print before it (another call's entry, as unfinished).
    pub(super) fn returned(&mut self) -> (Option<String>, Returned) {
        let me = std::thread::current().id();
        if let Some(e) = self.current.take_if(|e| e.thread == me) {
            return (None, Returned::Whole(e.head));
        }
        let how = match self.unfinished.iter().position(|t| *t == me) {
            Some(i) => {
                self.unfinished.swap_remove(i);
                Returned::Resumed
            }
            None => Returned::Unentered,
        };
        (self.interrupt(), how)
    }
}

/// What strace prints when `row` starts and another line comes before its
/// return: the arguments up to the first one the kernel fills in.
pub fn unfinished_text(row: &Syscall, args: &str) -> String {
    let cut = super::entry_len(row, args).min(args.len());
    format!(
        "{}({} <unfinished ...>",
        row.name,
        args.get(..cut).unwrap_or("")
    )
}

/// What strace prints when an unfinished call returns: the arguments not
/// shown at entry, the `)`, the result.
pub fn resumed_text(ev: &Event) -> String {
    let line = ev.strace_line();
    // `= RET`: after the name, `(`, the arguments and `) `.
    let ret = line.get(ev.call.name.len() + ev.args.len() + 3..);
    resumed_line(ev.call, ev.args, ret.unwrap_or(""))
}

/// The `<... NAME resumed>` line of a call whose arguments rendered as
/// `args`, ending with `tail` (`= 2`, `= ? ERESTARTSYS (...)` where a
/// handler interrupted it, `= ?` where SIGKILL ended it): the one form
/// of every resumed half (a program's trace, the `--wire` timeline, a
/// script's interrupted or killed call), cut where strace cuts the
/// call ([`super::resumed_args`]).
pub fn resumed_line(row: &Syscall, args: &str, tail: &str) -> String {
    format!(
        "<... {} resumed>{}) {tail}",
        row.name,
        super::resumed_args(row, args)
    )
}

/// How a tracer writes the split lines and the stamped heads.
impl Tracer {
    /// What a text line starts with at `at` ([`Head`]; strace: `[pid
    /// N] 10:11:12 `, a timeline: `server | [pid N] 10:11:12 `).
    pub(super) fn head(&self, at: SystemTime) -> String {
        self.head_parts(at).with(Seen::call)
    }

    /// [`Tracer::head`], its task's prefix not decided yet.
    pub(super) fn head_parts(&self, at: SystemTime) -> Head {
        let (tag, task) = match self.side() {
            Some(side) => (
                format!("{side:>6} | "),
                self.seen.clone().map(|seen| (seen, self.task())),
            ),
            None => (tasks::prefix(), None),
        };
        let stamp = self
            .stamps
            .as_ref()
            .map_or_else(String::new, |s| s.prefix(at));
        Head { tag, task, stamp }
    }

    /// On a timeline, this tracer's task makes a call: its `[pid N] `
    /// (`--wire` adds its stamps itself).
    pub(super) fn task_prefix(&self) -> String {
        match (self.side, &self.seen) {
            (Some(_), Some(seen)) => seen.call(self.task()),
            _ => String::new(),
        }
    }

    /// On a timeline, this tracer's task makes a call: counted before
    /// the lines it prints (another's unfinished half first), whose
    /// prefixes are decided when each is printed.
    pub(super) fn count_task(&self) {
        if let (Some(_), Some(seen)) = (self.side, &self.seen) {
            seen.add(self.task());
        }
    }

    /// A timeline whose sides print lines for tasks of their own (a
    /// script's actors): their `[pid N]` counted together (a shared
    /// transcript's already are).
    pub fn counting_tasks(&self) -> Tracer {
        Tracer {
            seen: Some(self.seen.clone().unwrap_or_default()),
            ..self.clone()
        }
    }

    /// This side's lines are the calls of task `tid` (a script's actor,
    /// a process actor's pid), printed by another thread.
    pub fn with_task(&self, tid: i32) -> Tracer {
        Tracer {
            task: Some(tid),
            ..self.clone()
        }
    }

    /// The task whose lines this tracer prints: the one the runner
    /// relays ([`Tracer::with_task`]), or the calling thread.
    fn task(&self) -> i32 {
        self.task.unwrap_or_else(tasks::tid)
    }

    /// Whether a call's entry is wanted ([`Tracer::entering`]).
    pub fn splits(&self) -> bool {
        self.split.is_some() && self.timeline.is_none()
    }

    /// Whether a call's entry goes to the `--wire` timeline: a program's
    /// text trace (`wire/timeline/open.rs`).
    pub(super) fn timeline_entries(&self) -> bool {
        self.timeline.is_some() && self.format == Format::Text && self.side.is_none()
    }

    /// A call starts (the sink not held): in a shared transcript, a call
    /// that waits for the peer leaves its entry pending (`split.rs`).
    pub fn entering(&self, row: &'static Syscall, args: &str) {
        if let Some(t) = self.timeline.as_ref().filter(|_| self.timeline_entries()) {
            if row.blocks {
                let prefix = format!("{}{}", self.record_mark(), tasks::prefix());
                t.entering(prefix, unfinished_text(row, args));
            }
            return;
        }
        // A program's own trace with several tasks (`open_line.rs`).
        if self.open_entering(row, args) {
            return;
        }
        let Some(split) = self.split.as_ref().filter(|_| self.splits()) else {
            return;
        };
        if !row.waits_for_peer {
            return;
        }
        let mut w = lock(&self.trace);
        self.count_task();
        let head = self.head_parts(SystemTime::now());
        if let Some(line) = lock(split).enter(head, unfinished_text(row, args)) {
            write_to(&mut w, &line);
        }
    }

    /// Another line in a shared transcript: the pending entry first.
    pub(super) fn interrupt(&self, w: &mut Held) {
        if let Some(split) = &self.split
            && let Some(line) = lock(split).interrupt()
        {
            write_to(w, &line);
        }
    }

    /// A script's call found asleep (the runner prints its lines): its
    /// `<unfinished ...>` line, `args` as rendered at entry.
    pub fn unfinished(&self, row: &'static Syscall, args: &str) {
        let now = SystemTime::now();
        let head = self.head_parts(now).with(Seen::unfinished);
        self.text_line(now, format!("{head}{}", unfinished_text(row, args)));
    }

    /// The `<... NAME resumed>` line of a call printed as unfinished.
    pub fn resumed(&self, ev: &Event) {
        let end = ev.start + ev.duration;
        let took = self
            .stamps
            .as_ref()
            .map_or_else(String::new, |s| s.suffix(ev.duration));
        let head = self.head_parts(end).with(Seen::resumed);
        self.text_line(end, format!("{head}{}{took}", resumed_text(ev)));
    }

    /// A line strace prints for this side's task that is not a call
    /// made here (a script's `--- SIGPIPE ... ---`, `+++ exited with 0
    /// +++`, `exit_group(0) = ?`): a note with the task's `[pid N] `.
    pub fn task_note(&self, text: &str) {
        self.task_note_as(text, Seen::call);
    }

    /// [`Tracer::task_note`] for the `<... NAME resumed>` half of a call
    /// printed as unfinished.
    pub fn resumed_note(&self, text: &str) {
        self.task_note_as(text, Seen::resumed);
    }

    fn task_note_as(&self, text: &str, how: fn(&Seen, i32) -> String) {
        match (self.side, &self.seen, self.format) {
            (Some(_), Some(seen), Format::Text) => {
                // Stamped as strace stamps every line of a task (not
                // under `--wire`, whose timeline stamps as it prints).
                let stamp = match (&self.stamps, &self.timeline) {
                    (Some(s), None) => s.prefix(SystemTime::now()),
                    _ => String::new(),
                };
                self.note(&format!("{}{stamp}{text}", how(seen, self.task())));
            }
            _ => self.note(text),
        }
    }

    /// A text line at `at`: to the timeline, or the sink.
    fn text_line(&self, at: SystemTime, line: String) {
        match (&self.timeline, self.format) {
            (_, Format::Off | Format::Json) => {}
            (Some(t), Format::Text) => t.note(at, line),
            (None, Format::Text) => {
                let mut w = lock(&self.trace);
                self.interrupt(&mut w);
                write_to(&mut w, &line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resumed_line;
    use crate::values::calls;

    /// The resumed half a script prints for a call a handler interrupted
    /// (script/handled.rs) or SIGKILL ended (script/forks.rs): cut where
    /// strace -f cuts it at the entry (the halves measured with strace
    /// 6.1 in args.rs's `entries_split_where_strace_splits_them`), so
    /// ioctl's and clone3's keep the text strace prints at the return
    /// (`, ifr_ifindex=1}`, ` => {parent_tid=...`), which the runner's
    /// own cut (every leading `, ` dropped) lost.
    #[test]
    fn a_scripts_unreturned_call_resumes_as_strace_resumes_it() {
        let restart = format!("= ? {}", calls::ERESTARTSYS);
        let cases: &[(&calls::Syscall, &str, &str)] = &[
            (
                &calls::IOCTL,
                r#"3, SIOCGIFINDEX, {ifr_name="lo", ifr_ifindex=1}"#,
                "<... ioctl resumed>, ifr_ifindex=1}) = ? ERESTARTSYS",
            ),
            (
                &calls::IOCTL,
                "3, FIONREAD, [0]",
                "<... ioctl resumed>, [0]) = ? ERESTARTSYS",
            ),
            (
                &calls::PTHREAD_CREATE,
                "{flags=CLONE_VM, child_tid=0x7f00, parent_tid=0x7f00, exit_signal=0, stack=0x7e00, stack_size=0x7fff80, tls=0x7f01} => {parent_tid=[9057]}, 88",
                "<... clone3 resumed> => {parent_tid=[9057]}, 88) = ? ERESTARTSYS",
            ),
            (
                &calls::RECVFROM,
                r#"4, "hi", 1024, 0, NULL, NULL"#,
                r#"<... recvfrom resumed>"hi", 1024, 0, NULL, NULL) = ? ERESTARTSYS"#,
            ),
        ];
        for (row, args, want) in cases {
            let got = resumed_line(row, args, &restart);
            let want = format!("{want}{}", &restart["= ? ERESTARTSYS".len()..]);
            assert_eq!(got, want, "{}({args})", row.name);
        }
    }
}
