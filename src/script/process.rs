//! Process actors (issue 14, rule 5): `NAME = fork()` (or strace's
//! `clone(child_stack=NULL, flags=...|SIGCHLD, ...) = PID`) made by an
//! actor forks socklab; the child, which inherits every fd, is the
//! actor NAME (or `pid PID`). It makes its lines' calls as the runner
//! asks, through two pipes ([`super::frame`]: socklab's plumbing, not
//! the experiment): the runner sends each request, the child answers
//! with the call's entry (for `<unfinished ...>`) and its result and
//! trace lines, which the runner prints on the one timeline in order.
//! Asleep detection reads /proc/PID/task/PID/{stat,syscall}.
//!
//! When the pipe ends the child has ended: the runner learns how with
//! waitid(WNOWAIT) (not traced; the traced wait4 is at the end) and shows
//! what strace -f shows (`--- SIGPIPE {...} ---`, `+++ killed by SIGPIPE
//! +++`, `+++ exited with 0 +++`).

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use super::actors::{Actor, Job, Msg, Owned, Proc, Slot, lock};
use super::call::{self, Pipes, Req};
use super::frame::{self, Up};
use crate::strace::{Event, Format, Held, Tracer};
use crate::sys::untraced;
use crate::sys::{Observer, Sys};
use crate::values::calls::Syscall;
use crate::values::error::{Error, Result};

/// The note after a script's first fork (issue 15: a call strace -f
/// sees is a line or named): the calls of this plumbing, none of them
/// the experiment's (measured with strace -f: tests/suite/strace/labs.rs).
pub const PLUMBING: &str = "# not shown: the runner's plumbing to a process actor: its two \
     pipes (pipe2(), fcntl(F_DUPFD_CLOEXEC), close()), a read() and write() per request and \
     answer, the child's set_robust_list() (glibc's fork) and close() of the runner's ends; two \
     relay threads (clone3(), rt_sigprocmask(), rseq(), set_robust_list(), prctl(), \
     sched_getaffinity(), gettid(), sigaltstack(), madvise(), exit()); openat() and pread64() of \
     its /proc/PID/task/PID/stat and syscall (is it asleep in its call?); waitid(WNOWAIT) and \
     geteuid() (how it ended, si_uid; the traced wait4 reaps it); the forking actor's gettid()";

/// The runner's ends of a fork's pipes, and the [`Pipes`] for the fork.
pub fn pipes(others: Vec<RawFd>) -> Result<(File, File, Pipes)> {
    use std::os::fd::{AsRawFd, IntoRawFd};
    let (down_r, down_w) = untraced::pipe(super::actors::HIGH_FD)?;
    let (up_r, up_w) = untraced::pipe(super::actors::HIGH_FD)?;
    let p = Pipes {
        down_r: down_r.into_raw_fd(),
        down_w: down_w.as_raw_fd(),
        up_r: up_r.as_raw_fd(),
        up_w: up_w.into_raw_fd(),
        others,
    };
    Ok((down_w, up_r, p))
}

/// The child's observer: each call's entry goes up the pipe at once,
/// its events and notes (sys/sigpipe.rs) are kept for the answer.
struct Relay {
    up: Arc<File>,
    id: Mutex<u64>,
    events: Mutex<Vec<Owned>>,
    notes: Mutex<Vec<String>>,
}

impl Observer for Relay {
    fn wants_entry(&self) -> bool {
        true
    }

    fn entering(&self, call: &'static Syscall, args: &str) {
        let id = *lock(&self.id);
        frame::send(&self.up, &Up::Entered(id, call, args.to_string()));
    }

    fn event(&self, ev: &Event, _held: Option<&mut Held>) {
        lock(&self.events).push(Owned::of(ev));
    }

    fn signal_note(&self, text: &str) {
        lock(&self.notes).push(text.to_string());
    }
}

/// The forked child: serve the runner's requests until it says to end
/// (or its pipe ends: the runner is gone). Never returns.
pub fn child(p: &Pipes) -> ! {
    // `others` may name fds a dead child's pipes had, which this fork's
    // own pipes now have: those stay open.
    let own = [p.down_r, p.up_w];
    for fd in [p.down_w, p.up_r]
        .iter()
        .chain(p.others.iter().filter(|f| !own.contains(f)))
    {
        untraced::close(*fd);
    }
    // SAFETY: the child owns these ends (the runner's copies are closed
    // in the runner); nothing else in this process uses them.
    let (down, up) = unsafe { (File::from_raw_fd(p.down_r), File::from_raw_fd(p.up_w)) };
    let watch = Arc::new(Relay {
        up: Arc::new(up),
        id: Mutex::new(0),
        events: Mutex::new(Vec::new()),
        notes: Mutex::new(Vec::new()),
    });
    let tracer = Tracer::new(Format::Off, Box::new(std::io::sink()));
    let sys = Sys::new(tracer).with_observer(Some(watch.clone()));
    loop {
        let Some((id, req)) = frame::recv::<(u64, Req)>(&down) else {
            untraced::exit(0)
        };
        *lock(&watch.id) = id;
        let made = call::make(&sys, &req);
        let events = std::mem::take(&mut *lock(&watch.events));
        let notes = std::mem::take(&mut *lock(&watch.notes));
        if !frame::send(&watch.up, &Up::Done(id, Box::new(made), (events, notes))) {
            untraced::exit(1)
        }
    }
}

impl Actor {
    /// The process actor `name` (actor number `index`), the child `pid`
    /// of a fork whose runner ends are `down` and `up`.
    pub fn process(
        name: &str,
        index: usize,
        pid: i32,
        (down, up): (File, File),
        to_runner: Sender<Msg>,
    ) -> Result<Actor> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let spawn = |what: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(format!("actor {name} {what}"))
                .spawn(f)
                .map_err(|e| Error::Runtime(format!("cannot start actor {name}: {e}")))
        };
        let down_thread = spawn(
            "down",
            Box::new(move || {
                for job in rx {
                    if !frame::send(&down, &(job.id as u64, job.req)) {
                        return;
                    }
                }
            }),
        )?;
        let up_slot = slot.clone();
        let up_thread = spawn(
            "up",
            Box::new(move || listen(&up, &up_slot, index, pid, &to_runner)),
        )?;
        let dir = format!("/proc/{pid}/task/{pid}");
        let mut a = Actor::with(name, Proc::open(&dir), jobs, slot);
        a.pid = Some(pid);
        a.tid = pid;
        a.threads = vec![down_thread, up_thread];
        Ok(a)
    }
}

/// The runner's side of a child's answers: entries into the slot,
/// results to the runner; at the pipe's end, how the child ended.
fn listen(up: &File, slot: &Mutex<Slot>, actor: usize, pid: i32, to_runner: &Sender<Msg>) {
    let mut pending = None;
    while let Some(msg) = frame::recv::<Up>(up) {
        match msg {
            Up::Entered(id, row, args) => {
                lock(slot).entered = Some((row, args.clone()));
                pending = Some((id as usize, row, args));
            }
            Up::Done(id, made, (events, notes)) => {
                pending = None;
                let done = Msg::Done {
                    id: id as usize,
                    made: *made,
                    events,
                    notes,
                };
                if to_runner.send(done).is_err() {
                    return;
                }
            }
        }
    }
    let (ended, info) = untraced::ended_info(pid);
    let _ = to_runner.send(Msg::Gone {
        actor,
        pending,
        ended,
        info,
    });
}
