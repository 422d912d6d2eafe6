//! strace -f's `[pid N] ` prefix: strace prints it on every line once it
//! traces more than one task (process or thread), `N` the calling task's
//! id (`[pid %5u] `), and drops it again when the others have ended.
//!
//! socklab counts its live tasks in one word that every process shares
//! (a MAP_SHARED page `sys` maps before its first fork or thread:
//! [`install`]): `sys` adds one before it forks or starts a thread
//! ([`started`]), a child or a thread takes itself off just before it
//! ends ([`ended`]), a process dying by its re-raise takes off its tasks
//! as their `+++ killed by` lines print ([`killed`], [`died`]: strace -f
//! drops each one as it sees it die), and a parent takes off a child it
//! reaps that died by a signal unless it did ([`reaped_killed`]). A line's prefix is [`prefix`]: the only one
//! function that decides it, for a time prefix (`--trace-time`) to join.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// The shared count of live tasks; unset until the first fork or thread
/// (one task: no prefix).
static LIVE: OnceLock<&'static AtomicU32> = OnceLock::new();

/// How many forked children took themselves off the count as a signal
/// killed them ([`died`]), not yet reaped ([`reaped_killed`]).
static SELF_KILLED: OnceLock<&'static AtomicU32> = OnceLock::new();

/// How `sys` reads the calling thread's id without a syscall (glibc's
/// `struct pthread` holds it), set by [`install`].
static TID_OF: OnceLock<fn() -> i32> = OnceLock::new();

thread_local! {
    /// This thread's id, once read (0: not yet).
    static TID: Cell<i32> = const { Cell::new(0) };
    /// The prefix of the next line, decided before it (see [`pin`]).
    static PINNED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// How to read the calling thread's id without a syscall (`sys`, at
/// its start): the tasks of a timeline (`[Seen]`) need it.
pub fn reader(tid: fn() -> i32) {
    let _ = TID_OF.set(tid);
}

/// Count tasks in `live` (a word shared with the children to come, at 1:
/// this task; `killed`, at 0, the children that took themselves off as
/// they died), reading a task's id with `tid`. Only the first call counts.
pub fn install(live: &'static AtomicU32, killed: &'static AtomicU32, tid: fn() -> i32) {
    let _ = TID_OF.set(tid);
    let _ = LIVE.set(live);
    let _ = SELF_KILLED.set(killed);
}

fn live() -> Option<&'static AtomicU32> {
    LIVE.get().copied()
}

/// This process's id: its one task's id when it first starts another
/// ([`started`]), or a forked child's own ([`forget_tid`]); 0 before.
/// No syscall: strace would see a getpid.
static PID: AtomicI32 = AtomicI32::new(0);

/// This process's id, once it has started a task (else 0).
pub fn process() -> i32 {
    PID.load(Ordering::SeqCst)
}

/// A task is about to be started (a fork, a thread).
pub fn started() {
    if PID.load(Ordering::SeqCst) == 0 {
        PID.store(tid(), Ordering::SeqCst);
    }
    if let Some(n) = live() {
        n.fetch_add(1, Ordering::SeqCst);
    }
}

/// A task has ended (or was not started after [`started`]).
pub fn ended() {
    if let Some(n) = live() {
        let _ = n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            (v > 1).then(|| v - 1)
        });
    }
}

/// This process's threads that `sys` started and that have not ended
/// (their tids; 0: a free place): strace -f ends each with the
/// process's exit_group (`Tracer::others_exited`). Atomics, not a lock:
/// a forked child clears them however its parent's threads stood.
static THREADS: [AtomicI32; 1024] = [const { AtomicI32::new(0) }; 1024];

/// The calling thread, started by `sys`, runs (no syscall). A thread
/// past the table's 1024 places is not listed (its end line is missing).
pub fn thread_began() {
    let me = tid();
    let _ = THREADS.iter().find(|t| {
        t.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
}

/// The calling thread is about to end.
pub fn thread_ends() {
    let me = tid();
    THREADS.iter().for_each(|t| {
        let _ = t.compare_exchange(me, 0, Ordering::SeqCst, Ordering::SeqCst);
    });
}

/// This process's live threads other than the calling one.
pub fn other_threads() -> Vec<i32> {
    let me = tid();
    THREADS
        .iter()
        .map(|t| t.load(Ordering::SeqCst))
        .filter(|t| *t != 0 && *t != me)
        .collect()
}

/// `tasks` other threads of this process ended with it (a kill or its
/// exit_group), their `+++ killed by` / `+++ exited` lines printed: off
/// the count, as strace -f drops each one when it prints that line (the
/// process's own line, last, is then bare when they were the only
/// others).
pub fn ended_with_process(tasks: usize) {
    for _ in 0..tasks {
        ended();
    }
}

/// This process dies by a signal, its `+++ killed by` line printed: off
/// the count, so that a task still alive (the parent that wakes) prints
/// as strace -f, which has seen it die, prints it.
pub fn died() {
    ended();
    if forked()
        && let Some(n) = SELF_KILLED.get()
    {
        n.fetch_add(1, Ordering::SeqCst);
    }
}

/// A child killed by a signal was reaped: off the count, unless it took
/// itself off ([`died`]; paired by number, not by pid: the count is
/// right once each is reaped).
pub fn reaped_killed() {
    let took = SELF_KILLED.get().is_some_and(|n| {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    });
    if !took {
        ended();
    }
}

/// Set in a forked child ([`forget_tid`]): this process's own memory.
static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process is a child `sys` forked (`--wire`: its lines go
/// straight out, it has no capture thread).
pub fn forked() -> bool {
    FORKED.load(Ordering::SeqCst)
}

/// A forked child starts with its parent's cached id and pinned prefix:
/// forget them.
pub fn forget_tid() {
    FORKED.store(true, Ordering::SeqCst);
    // The parent's threads are not this process's.
    THREADS.iter().for_each(|t| t.store(0, Ordering::SeqCst));
    TID.with(|t| t.set(0));
    PINNED.with(|p| p.borrow_mut().take());
    PID.store(tid(), Ordering::SeqCst);
}

/// The next line's prefix is the one of now: strace prints a call's
/// prefix at its entry, so a `clone` made while one task lived has none,
/// although its line is written when there are two.
pub fn pin() {
    let now = prefix();
    PINNED.with(|p| *p.borrow_mut() = Some(now));
}

/// The pinned prefix, left pinned (a clone3's entry, which the new
/// thread may print for its parent: `sys/threads.rs`).
pub fn pinned() -> String {
    PINNED.with(|p| p.borrow().clone()).unwrap_or_default()
}

/// The calling task's id.
pub fn tid() -> i32 {
    TID.with(|t| {
        if t.get() == 0
            && let Some(f) = TID_OF.get()
        {
            t.set(f());
        }
        t.get()
    })
}

/// `[pid  1234] ` when more than one task lives, else nothing.
pub fn prefix() -> String {
    if let Some(p) = PINNED.with(|p| p.borrow_mut().take()) {
        return p;
    }
    match live() {
        Some(n) if n.load(Ordering::SeqCst) > 1 => format!("[pid {:>5}] ", tid()),
        _ => String::new(),
    }
}

/// `[pid  1234] `, strace -f's prefix of a task's line.
pub fn pid_prefix(tid: i32) -> String {
    format!("[pid {tid:>5}] ")
}

/// The tasks that made calls on one timeline (a lab's, a script's,
/// demo's): after the actor's tag, a line carries its task's
/// `[pid N] ` once a second task has made a call (strace -f's rule: the
/// prefix appears when a second task is traced). The two halves of a
/// split call carry the same prefix: one printed bare keeps the other
/// bare.
#[derive(Default)]
pub struct Seen {
    tasks: std::sync::Mutex<(Vec<i32>, Vec<i32>)>,
}

impl Seen {
    /// Task `tid` makes a call (counted before any line is printed).
    pub fn add(&self, tid: i32) {
        let mut t = super::lock(&self.tasks);
        if !t.0.contains(&tid) {
            t.0.push(tid);
        }
    }

    /// Task `tid` makes a call: its line's prefix.
    pub fn call(&self, tid: i32) -> String {
        self.add(tid);
        if super::lock(&self.tasks).0.len() > 1 {
            pid_prefix(tid)
        } else {
            String::new()
        }
    }

    /// Task `tid`'s call is printed as `<unfinished ...>`: its prefix,
    /// kept for the `<... NAME resumed>` half.
    pub fn unfinished(&self, tid: i32) -> String {
        let p = self.call(tid);
        if p.is_empty() {
            super::lock(&self.tasks).1.push(tid);
        }
        p
    }

    /// Task `tid`'s call resumes: the prefix its unfinished half had.
    pub fn resumed(&self, tid: i32) -> String {
        let mut t = super::lock(&self.tasks);
        if let Some(i) = t.1.iter().position(|&x| x == tid) {
            t.1.swap_remove(i);
            return String::new();
        }
        drop(t);
        self.call(tid)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use super::super::{Event, Format, Tracer};
    use crate::values::calls::CLOSE;

    /// A sink the test reads back.
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn close(t: &Tracer) {
        t.emit(
            &Event {
                call: &CLOSE,
                args: "3",
                ret: &Ok(0),
                ret_note: "",
                addr: None,
                start: SystemTime::now(),
                duration: Duration::ZERO,
            },
            None,
        );
    }

    /// A side's `--- SIG ---` line (a lab thread's handler took it)
    /// carries its task's `[pid N]` after the tag, as its calls do and
    /// as strace -f prints it once a second task has made a call.
    #[test]
    fn a_sides_signal_line_carries_its_tasks_pid_prefix() {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let t = Tracer::shared(Format::Text, Box::new(Buf(buf.clone())));
        let (a, b) = (
            t.with_side("client").with_task(101),
            t.with_side("server").with_task(202),
        );
        close(&a);
        close(&b);
        a.signal("--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=100, si_uid=0} ---");
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "client | close(3) = 0",
                "server | [pid   202] close(3) = 0",
                "client | [pid   101] --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=100, si_uid=0} ---",
            ],
            "{text}"
        );
    }
}
