//! Actors (issue 14, rule 5): each is a thread that makes the calls of
//! its lines, one at a time, through its own `Sys` whose observer
//! ([`Watch`]) keeps the calls' events for the runner to print. The
//! runner goes on to the next line when the call returned, or when the
//! actor is seen asleep in that very call: state `S` in
//! /proc/self/task/TID/stat and the call's number first in
//! /proc/self/task/TID/syscall (never a sleep).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;

pub(super) use super::asleep::{HIGH_FD, Proc};
use super::call::{self, Made, Pipes, Req};
use crate::strace::{Event, Format, Held, Tracer};
use crate::sys::{Observer, Sys};
use crate::values::addr::Addr;
use crate::values::calls::Syscall;
use crate::values::error::{Error, Result};

/// A finished call, kept to print later (by the runner's thread).
#[derive(Debug, Clone)]
pub struct Owned {
    pub row: &'static Syscall,
    pub args: String,
    pub ret: std::result::Result<i64, Errno>,
    pub note: String,
    pub addr: Option<Addr>,
    pub start: SystemTime,
    pub duration: Duration,
}

impl Owned {
    /// An event kept.
    pub fn of(ev: &Event) -> Owned {
        Owned {
            row: ev.call,
            args: ev.args.to_string(),
            ret: *ev.ret,
            note: ev.ret_note.to_string(),
            addr: ev.addr.copied(),
            start: ev.start,
            duration: ev.duration,
        }
    }

    pub fn event(&self) -> Event<'_> {
        Event {
            call: self.row,
            args: &self.args,
            ret: &self.ret,
            ret_note: &self.note,
            addr: self.addr.as_ref(),
            start: self.start,
            duration: self.duration,
        }
    }

    /// The line as strace prints it.
    pub fn line(&self) -> String {
        self.event().strace_line()
    }
}

/// What an actor's observer saw of its current call.
#[derive(Default)]
pub struct Slot {
    /// The call under way and its arguments at entry.
    pub entered: Option<(&'static Syscall, String)>,
    /// The calls that returned.
    pub events: Vec<Owned>,
    /// `--show-state` lines after them, and sys's (an ignored SIGPIPE).
    pub notes: Vec<String>,
}

pub(super) use crate::strace::lock;

/// An actor's observer: keeps each call's entry and its event; passes
/// the rest to the inspector (`--show-state`) if there is one.
pub struct Watch {
    slot: Arc<Mutex<Slot>>,
    inner: Option<Arc<dyn Observer>>,
}

impl Observer for Watch {
    fn wants_entry(&self) -> bool {
        true
    }

    fn entering(&self, call: &'static Syscall, args: &str) {
        lock(&self.slot).entered = Some((call, args.to_string()));
    }

    fn event(&self, ev: &Event, _held: Option<&mut Held>) {
        lock(&self.slot).events.push(Owned::of(ev));
    }

    fn signal_note(&self, text: &str) {
        lock(&self.slot).notes.push(text.to_string());
    }

    fn before(&self, sys: &Sys, call: &'static Syscall, fd: Option<crate::sys::Socket>) {
        if let Some(i) = &self.inner {
            i.before(sys, call, fd);
        }
    }

    fn after(
        &self,
        sys: &Sys,
        call: &'static Syscall,
        fd: Option<crate::sys::Socket>,
        ret: &std::result::Result<i64, Errno>,
    ) {
        if let Some(i) = &self.inner {
            i.after(sys, call, fd, ret);
        }
    }

    fn opened(&self, fd: crate::sys::Socket, from: Option<crate::sys::Socket>, tcp: bool) {
        if let Some(i) = &self.inner {
            i.opened(fd, from, tcp);
        }
    }

    fn closed(&self, fd: crate::sys::Socket) {
        if let Some(i) = &self.inner {
            i.closed(fd);
        }
    }
}

/// What the runner's thread hears.
pub enum Msg {
    /// A call for step `id` returned.
    Done {
        id: usize,
        made: Made,
        events: Vec<Owned>,
        notes: Vec<String>,
    },
    /// A line typed into the shell.
    Input(String),
    /// The shell's input ended.
    Eof,
    /// A process actor (number `actor`) ended, in the call it entered
    /// for a step (`pending`), if any.
    Gone {
        actor: usize,
        pending: Option<(usize, &'static Syscall, String)>,
        ended: crate::sys::untraced::Ended,
        /// The SIGCHLD's si_uid, si_utime, si_stime (waitid's).
        info: Option<[i64; 3]>,
    },
}

pub(super) struct Job {
    pub id: usize,
    pub req: Req,
}

/// One actor: its thread, its observer's slot, its last lines.
pub struct Actor {
    pub name: String,
    /// Its /proc/thread-self/{stat,syscall}, opened by the thread itself
    /// (a process actor's /proc/PID/task/PID/...).
    pub(super) proc: Option<Proc>,
    jobs: Sender<Job>,
    slot: Arc<Mutex<Slot>>,
    /// Its thread id (a process actor's: its pid).
    pub tid: i32,
    /// A process actor's pid.
    pub pid: Option<i32>,
    /// How a process actor ended, once it has.
    pub ended: Option<crate::sys::untraced::Ended>,
    /// A process actor's fds still open (its own fd table).
    pub open: std::collections::BTreeSet<RawFd>,
    /// A process actor's parent actor (its wait4 at the end).
    pub parent: String,
    /// The step whose call is under way, if any.
    pub busy: Option<usize>,
    /// Its last lines as printed, for a failure's report.
    pub history: VecDeque<String>,
    /// Its threads (a process actor's: the two that talk to its pipes),
    /// joined at the end ([`Actor::join`]).
    pub(super) threads: Vec<std::thread::JoinHandle<()>>,
    /// A thread a script's clone3 line started (`threads.rs`), joined
    /// at the end as its `threads`.
    pub(super) worker: Option<crate::sys::pthread::Worker>,
}

impl Actor {
    /// Start the actor named `name`; `inspector`: the
    /// `--show-state` observer, whose lines are kept with the calls.
    /// `on_fork`: what a fork's child does (`process::child`).
    pub fn spawn(
        name: &str,
        inspector: Option<Arc<dyn Observer>>,
        to_runner: Sender<Msg>,
        on_fork: fn(&Pipes) -> !,
    ) -> Result<Actor> {
        let (actor, _, entered) = Actor::spawn_in(name, None, inspector, to_runner, on_fork)?;
        entered.map(|()| actor)
    }

    /// [`Actor::spawn`], the thread first entering the network namespace
    /// `host` names (`/run/netns/N-b`, `Sys::enter_netns`), if any; those
    /// calls (to print) and whether it got in (if not, the thread ended).
    pub fn spawn_in(
        name: &str,
        host: Option<PathBuf>,
        inspector: Option<Arc<dyn Observer>>,
        to_runner: Sender<Msg>,
        on_fork: fn(&Pipes) -> !,
    ) -> Result<(Actor, Vec<Owned>, Result<()>)> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let sys = actor_sys(&slot, inspector);
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let thread_slot = slot.clone();
        // An actor takes SIGCHLD; the end's thread is the runner's.
        let unblock = name != "end" && super::chld_mask::blocked_here();
        let thread = std::thread::Builder::new()
            .name(format!("actor {name}"))
            .spawn(move || {
                if unblock {
                    super::chld_mask::unblock_in_actor();
                }
                let entered = host.map_or(Ok(()), |h| sys.enter_netns(&h));
                let events = std::mem::take(&mut lock(&thread_slot).events);
                let ok = entered.is_ok();
                let _ = tid_tx.send(Started {
                    proc: Proc::open("/proc/thread-self"),
                    tid: crate::sys::untraced::gettid(),
                    events,
                    entered,
                });
                if ok {
                    serve(&sys, &rx, &thread_slot, &to_runner, on_fork);
                }
            })
            .map_err(|e| Error::Runtime(format!("cannot start actor {name}: {e}")))?;
        let started = tid_rx
            .recv()
            .map_err(|_| Error::Runtime(format!("actor {name} did not start")))?;
        let mut a = Actor::with(name, started.proc, jobs, slot);
        a.tid = started.tid;
        a.threads.push(thread);
        Ok((a, started.events, started.entered))
    }

    pub(super) fn with(
        name: &str,
        proc: Option<Proc>,
        jobs: Sender<Job>,
        slot: Arc<Mutex<Slot>>,
    ) -> Actor {
        Actor {
            name: name.to_string(),
            proc,
            jobs,
            slot,
            tid: 0,
            pid: None,
            ended: None,
            open: std::collections::BTreeSet::new(),
            parent: String::new(),
            busy: None,
            history: VecDeque::new(),
            threads: Vec::new(),
            worker: None,
        }
    }

    /// Hand the actor its next call.
    pub fn start(&mut self, id: usize, req: Req) -> Result<()> {
        lock(&self.slot).entered = None;
        self.busy = Some(id);
        self.jobs
            .send(Job { id, req })
            .map_err(|_| Error::Runtime(format!("actor {} is gone", self.name)))
    }

    /// The call under way and its arguments at entry, if it has entered.
    pub fn entered(&self) -> Option<(&'static Syscall, String)> {
        lock(&self.slot).entered.clone()
    }

    /// Is the actor asleep in the call it entered?
    pub fn asleep(&self) -> bool {
        match (self.entered(), &self.proc) {
            (Some((row, _)), Some(p)) => p.asleep_in(row.nr),
            _ => false,
        }
    }

    /// A process actor that is neither in a call nor asleep waiting
    /// for one, nor known to have ended: a signal is ending it.
    pub fn dying(&self) -> bool {
        self.pid.is_some()
            && self.ended.is_none()
            && self.busy.is_none()
            && self.proc.as_ref().is_some_and(|p| p.state() != Some('S'))
    }

    /// The end of the actor: no more jobs, so its thread returns; wait
    /// for it (and a process actor's pipe threads), so that socklab
    /// exits with no thread of its own still ending (one exit_group
    /// under strace -f). Not an actor still in a call (blocked past
    /// `--timeout`) nor a process still running: the exit ends those.
    pub fn join(self) {
        let Actor {
            jobs,
            threads,
            busy,
            pid,
            ended,
            worker,
            ..
        } = self;
        drop(jobs);
        if busy.is_some() || (pid.is_some() && ended.is_none()) {
            return;
        }
        for t in threads {
            let _ = t.join();
        }
        if let Some(w) = worker {
            let _ = w.join();
        }
    }

    /// Remember a printed line (the last 3).
    pub fn remember(&mut self, line: &str) {
        self.history.push_back(line.to_string());
        while self.history.len() > 3 {
            self.history.pop_front();
        }
    }
}

/// An actor's layer: its calls watched by its [`Watch`] (which keeps
/// them in `slot`), and by the inspector (`--show-state`) if any.
pub(super) fn actor_sys(slot: &Arc<Mutex<Slot>>, inspector: Option<Arc<dyn Observer>>) -> Sys {
    // The inspector writes its lines through the layer's tracer: a
    // tracer whose sink keeps them (and drops the call lines, which
    // the runner prints from the events).
    let tracer = match inspector {
        Some(_) => Tracer::new(
            Format::Text,
            Box::new(Notes {
                slot: slot.clone(),
                buf: Vec::new(),
            }),
        ),
        None => Tracer::new(Format::Off, Box::new(std::io::sink())),
    };
    let watch = Watch {
        slot: slot.clone(),
        inner: inspector,
    };
    Sys::new(tracer).with_observer(Some(Arc::new(watch)))
}

/// What an actor's thread tells the runner once it has started: its
/// /proc/thread-self files, its tid, the calls that entered its host.
pub(super) struct Started {
    pub proc: Option<Proc>,
    pub tid: i32,
    pub events: Vec<Owned>,
    pub entered: Result<()>,
}

/// The actor's thread: make each call, send back what it made.
pub(super) fn serve(
    sys: &Sys,
    jobs: &Receiver<Job>,
    slot: &Mutex<Slot>,
    to_runner: &Sender<Msg>,
    on_fork: fn(&Pipes) -> !,
) {
    for job in jobs {
        {
            let mut s = lock(slot);
            s.events.clear();
            s.notes.clear();
        }
        let made = call::make(sys, &job.req);
        if let Some(pipes) = &made.child {
            on_fork(pipes);
        }
        let (events, notes) = {
            let mut s = lock(slot);
            (std::mem::take(&mut s.events), std::mem::take(&mut s.notes))
        };
        let done = Msg::Done {
            id: job.id,
            made,
            events,
            notes,
        };
        if to_runner.send(done).is_err() {
            return;
        }
    }
}

/// The sink of an actor's tracer under `--show-state`: keeps the
/// inspector's `[state ...]` lines for the runner, drops the rest.
struct Notes {
    slot: Arc<Mutex<Slot>>,
    buf: Vec<u8>,
}

impl std::io::Write for Notes {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        while let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            if line.starts_with("[state ") {
                lock(&self.slot).notes.push(line);
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
