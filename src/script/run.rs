//! The runner: lines dispatched in file order to their actors, each
//! line's call printed (whole, or `<unfinished ...>` then `<... NAME
//! resumed>` when its actor is seen asleep in it), checked against the
//! line, its labels bound.

use std::collections::{BTreeMap, VecDeque};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::actors::{Actor, Msg, Owned};
use super::call::{Made, Req};
use super::check::Step;
use super::labels::Labels;
use super::request::request;
use super::{Done, Options};
use crate::strace::Tracer;
use crate::sys::Observer;
use crate::values::error::Result;

/// How often the runner looks at a busy actor in /proc while it waits.
pub(super) const LOOK_EVERY: Duration = Duration::from_millis(1);

/// Why a run stopped early: the step, and the report lines after its line.
pub struct Failure {
    pub step: usize,
    pub lines: Vec<String>,
}

/// A step whose call is under way (or returned, not yet shown).
pub(super) struct Under {
    pub actor: usize,
    /// `<unfinished ...>` was printed for it.
    pub unfinished: bool,
    /// The socket file a bind names, kept if the bind succeeds.
    pub bind_path: Option<PathBuf>,
    /// The path a script's unlink removes (a socket file its bind made
    /// is then no longer the end's to remove).
    pub unlink_path: Option<PathBuf>,
    /// The pid a kill sends its signal to.
    pub signal_to: Option<i32>,
}

/// A process actor's end as its message brings it (`Msg::Gone`).
type Death = (
    usize,
    Option<(usize, &'static crate::values::calls::Syscall, String)>,
    crate::sys::untraced::Ended,
);

pub struct Runner {
    pub(super) steps: Vec<Step>,
    pub(super) file: String,
    pub(super) timeout: Duration,
    pub(super) tracer: Tracer,
    sides: BTreeMap<String, Tracer>,
    pub(super) tagged: bool,
    pub(super) actors: Vec<Actor>,
    pub(super) by_name: BTreeMap<String, usize>,
    pub(super) inspector: Option<Arc<dyn Observer>>,
    /// `--net`: the lab network whose hosts `NAME@HOST` actors are on.
    pub(super) net: String,
    pub(super) labels: Labels,
    pub(super) tx: Sender<Msg>,
    pub(super) rx: Receiver<Msg>,
    /// The runner's ends of a fork's pipes, until the fork returns.
    pub(super) forking: Option<(std::fs::File, std::fs::File)>,
    /// The thread actor a clone3 line starts (made ready, its thread's
    /// body, where it says it started), until the call returns (threads.rs).
    pub(super) threading: Option<(Actor, super::birth::Birth, Receiver<super::actors::Started>)>,
    /// The runner's ends of every fork's pipes (a new child closes them).
    pub(super) chans: Vec<RawFd>,
    /// Who sent the last signal to each pid (a `--- SIG ---` line's si_pid).
    pub(super) senders: BTreeMap<i32, i32>,
    /// This process's pid.
    pub(super) pid: i32,
    /// The process actors a script's wait4 reaped.
    pub(super) reaped: std::collections::BTreeSet<i32>,
    /// How each process actor ended.
    pub(super) ends: Vec<(String, crate::sys::untraced::Ended)>,
    pub(super) under: BTreeMap<usize, Under>,
    /// Calls that returned while another line's call was under way:
    /// shown after that line's own.
    pub(super) deferred: Vec<(usize, Made, Vec<Owned>, Vec<String>)>,
    /// A process actor's death caused by the kill still under way: shown
    /// after the kill's own line, as its consequence.
    pub(super) deaths: Vec<Death>,
    /// Lines typed into the shell while a call was under way.
    pub(super) inputs: VecDeque<Option<String>>,
    /// Who opened each fd still open (its close at the end is tagged so).
    pub(super) owner: BTreeMap<RawFd, String>,
    /// Socket files the script's binds made, with their device and
    /// inode (None: it was gone before the runner looked).
    pub(super) files: Vec<(PathBuf, Option<(u64, u64)>)>,
    /// Directories the script's mkdirat made (absolute path, device and
    /// inode), until its own unlinkat AT_REMOVEDIR removes them.
    pub(super) dirs: Vec<(PathBuf, Option<(u64, u64)>)>,
    pub(super) done: Vec<Done>,
    pub(super) failure: Option<Failure>,
    /// The shell: a failed expectation is reported and the session goes on.
    pub(super) keep_going: bool,
    /// The shell: how many lines failed (reported as they came).
    pub(super) failed_lines: usize,
    /// The shell: steps run on another actor than their own (spare.rs).
    pub(super) moved: BTreeMap<usize, String>,
    /// Signals under way to a script's handlers (handled.rs).
    pub(super) kicks: super::kicks::Kicks,
    /// What is known of process actors' ends beside waitid (reaped.rs).
    pub(super) reaping: super::reaping::Reaping,
}

impl Runner {
    pub fn new(steps: Vec<Step>, opts: &Options, tracer: Tracer) -> Runner {
        let (tx, rx) = std::sync::mpsc::channel();
        let tagged = steps.iter().any(|s| s.tagged);
        let inspector =
            crate::inspect::Inspect::new(opts.show_state, Vec::new(), Vec::new(), false)
                .ok()
                .and_then(|i| i.observer());
        Runner {
            steps,
            file: opts.file_name.clone(),
            timeout: opts.timeout,
            tracer: tracer.counting_tasks(),
            sides: BTreeMap::new(),
            tagged,
            actors: Vec::new(),
            by_name: BTreeMap::new(),
            inspector,
            net: opts.net.clone(),
            labels: Labels::new(),
            tx,
            rx,
            forking: None,
            threading: None,
            chans: Vec::new(),
            senders: BTreeMap::new(),
            pid: crate::sys::untraced::getpid(),
            ends: Vec::new(),
            reaped: std::collections::BTreeSet::new(),
            under: BTreeMap::new(),
            deferred: Vec::new(),
            deaths: Vec::new(),
            inputs: VecDeque::new(),
            owner: BTreeMap::new(),
            files: Vec::new(),
            dirs: Vec::new(),
            done: Vec::new(),
            failure: None,
            keep_going: false,
            failed_lines: 0,
            moved: BTreeMap::new(),
            kicks: super::kicks::Kicks::default(),
            reaping: super::reaping::Reaping::default(),
        }
    }

    /// A sender for the shell's input thread.
    pub fn sender(&self) -> Sender<Msg> {
        self.tx.clone()
    }

    /// The tracer lines of `actor` print through (tagged `actor | `,
    /// then the actor's `[pid N] `, its tid or a process actor's pid,
    /// once a second actor has made a call).
    pub(super) fn side(&mut self, actor: &str) -> Tracer {
        if !self.tagged {
            return self.tracer.clone();
        }
        if let Some(t) = self.sides.get(actor) {
            return t.clone();
        }
        let tid = self
            .by_name
            .get(actor)
            .and_then(|&i| self.actors.get(i))
            .map_or(0, |a| a.tid);
        // A few names per run: leaked, as the tracer keeps a &'static str.
        let name: &'static str = Box::leak(self.tag(actor).into_boxed_str());
        if tid == 0 {
            return self.tracer.with_side(name);
        }
        let t = self.tracer.with_side(name).with_task(tid);
        self.sides.insert(actor.to_string(), t.clone());
        t
    }

    pub(super) fn print_event(&mut self, actor: &str, ev: &Owned) {
        self.side(actor).emit(&ev.event(), None);
    }

    /// A line that is not a whole call (`<unfinished ...>`, `<... resumed>`).
    pub(super) fn print_text(&mut self, actor: &str, text: &str) {
        if !self.tracer.is_json() {
            self.side(actor).note(text);
        }
    }

    /// A line strace prints for `actor`'s task that is not a call's
    /// event (`--- SIG ---`, `+++ exited +++`, a fork's line): with its
    /// `[pid N]` as its calls have it; `resumed`: a call's resumed half.
    pub(super) fn print_task_text(&mut self, actor: &str, text: &str, resumed: bool) {
        if self.tracer.is_json() {
            return;
        }
        let side = self.side(actor);
        if resumed {
            side.resumed_note(text);
        } else {
            side.task_note(text);
        }
    }

    /// The actor named `name`, started on first use.
    pub(super) fn actor(&mut self, name: &str) -> Result<usize> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(i);
        }
        let i = self.actors.len();
        let a = self.spawn(name)?;
        self.actors.push(a);
        self.by_name.insert(name.to_string(), i);
        Ok(i)
    }

    /// Run step `id`: wait for its actor to be free and its labels bound,
    /// start its call, wait until it returned or its actor is asleep in it.
    pub fn run_step(&mut self, id: usize) -> Result<()> {
        let Some(step) = self.steps.get(id).cloned() else {
            return Ok(());
        };
        self.join_resumed(id);
        if let Some(d) = step.delay {
            std::thread::sleep(d);
        }
        let a = self.free_actor(id, &step)?;
        let deadline = Instant::now() + self.timeout;
        while self.actors.get(a).is_some_and(|x| x.busy.is_some()) {
            if !self.wait_any(deadline) {
                return self.stuck(id, "its actor is still blocked in an earlier call");
            }
        }
        if let Some(ended) = self.actors.get(a).and_then(|x| x.ended) {
            let why = format!("  its process has ended ({ended:?}): no call can be made in it");
            return self.fail(id, vec![why]);
        }
        let special = match self.special(&step, a) {
            Ok(s) => s,
            Err(why) => return self.fail(id, vec![format!("  {why}")]),
        };
        let req = loop {
            if let Some(r) = special.clone() {
                break r;
            }
            match request(&step, &mut self.labels) {
                Ok(r) => break r,
                Err(why) if why.contains("not bound yet") && !self.under.is_empty() => {
                    if !self.wait_any(deadline) {
                        return self.stuck(id, &why);
                    }
                }
                Err(why) => return self.fail(id, vec![format!("  {why}")]),
            }
        };
        // A socket file the bind makes is removed at the end (if it does).
        let bind_path = match &req {
            Req::Bind(_, addr) => addr.unix_path(),
            _ => None,
        };
        let unlink_path = match &req {
            Req::UnlinkPath(path) => Some(path.clone()),
            _ => None,
        };
        let signal_to = match &req {
            Req::Kill(pid, _) | Req::Tgkill(pid, ..) => Some(*pid),
            _ => None,
        };
        let kick = self.kick(&req, a);
        self.telling(a, &req);
        if let Some(actor) = self.actors.get_mut(a) {
            actor.start(id, req)?;
        }
        // A whole line whose call ends by itself waits for its return
        // (waits.rs); the shell gives the prompt back at once.
        let waits = (!self.keep_going)
            .then(|| super::waits::waits_for_return(&step))
            .flatten();
        let deadline = Instant::now() + self.timeout + waits.unwrap_or_default();
        self.under.insert(
            id,
            Under {
                actor: a,
                unfinished: false,
                bind_path,
                unlink_path,
                signal_to,
            },
        );
        loop {
            match self.rx.recv_timeout(LOOK_EVERY) {
                Ok(msg) => {
                    if self.take(msg, Some(id)) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Asleep in its call; or, past the time limit, taken
                    // as blocked anyway (a call whose sleep /proc shows
                    // under another number, such as a C library's variant).
                    let late = Instant::now() >= deadline;
                    let asleep = waits.is_none() && self.actors.get(a).is_some_and(Actor::asleep);
                    if late || asleep {
                        self.unfinished(id);
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for (d, made, events, notes) in std::mem::take(&mut self.deferred) {
            self.finish(d, made, events, notes);
        }
        for (actor, pending, ended) in std::mem::take(&mut self.deaths) {
            self.gone(actor, pending, ended, None);
        }
        if let Some(step) = kick {
            self.kicked(step);
        }
        self.settle();
        Ok(())
    }

    /// Handle one message; true when it is step `current`'s return.
    pub(super) fn take(&mut self, msg: Msg, current: Option<usize>) -> bool {
        match msg {
            Msg::Gone {
                actor,
                pending,
                ended,
                info,
            } => {
                self.keep_info(actor, info);
                let pid = self.actors.get(actor).and_then(|a| a.pid);
                let killing = current
                    .and_then(|c| self.under.get(&c))
                    .and_then(|u| u.signal_to);
                if pid.is_some() && pid == killing {
                    self.deaths.push((actor, pending, ended));
                    return false;
                }
                self.gone(actor, pending, ended, current)
            }
            Msg::Done {
                id,
                made,
                events,
                notes,
                ..
            } => {
                if Some(id) == current || current.is_none() {
                    self.finish(id, made, events, notes);
                    return true;
                }
                self.deferred.push((id, made, events, notes));
                false
            }
            Msg::Input(line) => {
                self.inputs.push_back(Some(line));
                false
            }
            Msg::Eof => {
                self.inputs.push_back(None);
                false
            }
        }
    }

    /// The run fails at step `id` (the first failure is kept).
    pub(super) fn fail(&mut self, id: usize, lines: Vec<String>) -> Result<()> {
        if self.keep_going {
            self.failed_lines += 1;
            let head = self.steps.get(id).map_or(String::new(), |s| s.text.clone());
            crate::strace::write_line(
                &mut std::io::stderr().lock(),
                &format!("{head}\n{}", lines.join("\n")),
            );
            return Ok(());
        }
        if self.failure.is_none() {
            self.failure = Some(Failure { step: id, lines });
        }
        Ok(())
    }

    /// The shell: add a step typed now; its id.
    pub fn push_step(&mut self, step: Step) -> usize {
        self.tagged |= step.tagged;
        self.steps.push(step);
        self.steps.len() - 1
    }

    /// The shell: the next typed line (None: input ended), or a message
    /// to [`Runner::handle`] first (a blocked call returned).
    pub fn next(&mut self) -> std::result::Result<Option<String>, Box<Msg>> {
        if let Some(line) = self.inputs.pop_front() {
            return Ok(line);
        }
        match self.rx.recv() {
            Ok(Msg::Input(line)) => Ok(Some(line)),
            Ok(Msg::Eof) | Err(_) => Ok(None),
            Ok(msg) => Err(Box::new(msg)),
        }
    }

    /// The shell: a call returned while it waited for input.
    pub fn handle(&mut self, msg: Msg) {
        self.take(msg, None);
    }

    /// Whether the run is over (a failure outside the shell).
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }
}

/// The run's end, however it ends: every actor's thread that can end
/// is joined ([`Actor::join`]) before socklab goes on to exit.
impl Drop for Runner {
    fn drop(&mut self) {
        for a in std::mem::take(&mut self.actors) {
            a.join();
        }
    }
}
