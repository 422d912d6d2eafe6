//! `socklab script FILE --emit c|python` (issue 17): the script as a
//! standalone C program (UNP-style, each actor a pthread) or Python 3
//! program (the `socket` module, each actor a thread), making the same
//! calls in the same order under the same rule as `socklab script`:
//! a line starts when the previous line's call returned or its thread
//! is asleep in that very call (`/proc/self/task/TID/stat` and
//! `syscall`), a whole line whose call ends by itself is waited for
//! (`waits.rs`), a line waits for the call that opens its fd; labels
//! are variables (fds, ports bound by the first result that shows
//! them); expectations are checked (a mismatch prints the line,
//! expected and got, and exits 1); at the end what the script left
//! open is closed, in the order it was opened.
//!
//! A step that cannot be written faithfully is refused with
//! `FILE:LINE: cannot emit: REASON` (exit 2), never written wrong.
//!
//! `model.rs` and `ops.rs`: a step's call with its arguments resolved;
//! `c.rs` and `python.rs` write them; `c_program.rs`: the C program's
//! layout (`script()`, the script in its order, each line guarded by its
//! actor's `Turn`), `c_runtime.rs`: the C helpers it uses (runtime*.h);
//! `python_program.rs` and `python_runtime.rs`: the same for Python
//! (`script()` guarded by `turn`; the helpers of runtime*.py it uses, the
//! runner runtime_run.py);
//! `explain.rs`: the calls Python adds (`--emit python --explain`);
//! `link.rs`: `net | set SPEC` lines, the forwarder's request as
//! socklab's runner makes it.

use std::collections::BTreeSet;

use super::check::Step;
use model::{Fd, Model, Op};
use unix::Uses as _;

mod ancillary;
mod c;
mod c_more;
mod c_procs;
mod c_program;
mod c_runtime;
pub mod explain;

mod c_unix;
mod epoll;
mod link;
mod mmsg;
mod model;
mod opener;
mod ops;
mod optval;
mod own;
mod parts;
mod procs;
mod python;
mod python_fds;
mod python_main;
mod python_mmsg;
mod python_procs;
mod python_program;
mod python_runtime;
mod python_unix;
mod threads;
mod unix;
mod unix_msg;
mod written;

/// The language to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    C,
    Python,
}

/// The program for script `text` (`file` its name in messages), or the
/// errors: the script's own (`FILE:LINE:COL: message`) or a line that
/// cannot be emitted (`FILE:LINE: cannot emit: REASON`). `timeout` is
/// `script --timeout`: how long the program lets a call block.
pub fn emit(
    text: &str,
    file: &str,
    lang: Lang,
    timeout: std::time::Duration,
) -> Result<String, Vec<String>> {
    let steps = super::prepare(text, file)?;
    let mut plan = Plan::new(steps, file)?;
    plan.links = link::place(&plan, super::link_changes(text));
    let program = match lang {
        Lang::C => c_program::program(&plan),
        Lang::Python => python_program::program(&plan)?,
    };
    Ok(with_timeout(program, lang, timeout))
}

/// `--timeout` other than its 5 s in the program: the runtime's one line
/// that holds it (runtime.h's TIMEOUT_MS, runtime.py's TIMEOUT), and the
/// command in the program's first comment.
fn with_timeout(program: String, lang: Lang, timeout: std::time::Duration) -> String {
    if timeout == std::time::Duration::from_secs(5) {
        return program;
    }
    let (name, value, was) = match lang {
        Lang::C => (
            "--emit c`",
            format!("#define TIMEOUT_MS {} /*", timeout.as_millis()),
            "#define TIMEOUT_MS 5000 /*",
        ),
        Lang::Python => (
            "--emit python`",
            format!("TIMEOUT = {:?}  #", timeout.as_secs_f64()),
            "TIMEOUT = 5.0  #",
        ),
    };
    let secs = format!("--timeout {} {name}", timeout.as_secs_f64());
    program.replacen(was, &value, 1).replacen(name, &secs, 1)
}

/// The steps with their models, and what the runner needs of them.
pub(crate) struct Plan {
    pub file: String,
    pub steps: Vec<(Step, Model)>,
    /// Actor names, in order of first appearance (a fork's child: at its fork).
    pub actors: Vec<String>,
    /// Per actor: the step that forks it (a process actor), or None (a thread).
    pub forked_by: Vec<Option<usize>>,
    /// Per step: the index of the actor.
    pub actor: Vec<usize>,
    /// Per actor: the lab network's host its thread enters (`NAME@HOST`).
    pub hosts: Vec<Option<String>>,
    /// Per step: the earlier step whose result opens an fd it uses.
    pub after: Vec<Option<usize>>,
    /// Per step: how long a call that ends by itself may take (ms), or None.
    pub waits: Vec<Option<u128>>,
    /// Script names (`s`), socketpair names (`p`), fd labels (`3`), ports.
    pub names: BTreeSet<String>,
    pub pairs: BTreeSet<String>,
    pub fd_labels: BTreeSet<i64>,
    pub ports: BTreeSet<u16>,
    /// The `net | set SPEC` lines (link.rs).
    pub links: Vec<link::Change>,
}

impl Plan {
    fn new(steps: Vec<Step>, file: &str) -> Result<Plan, Vec<String>> {
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for step in steps {
            match ops::model(&step) {
                Ok(m) => out.push((step, m)),
                Err(why) => errors.push(format!("{file}:{}: cannot emit: {why}", step.no)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        epoll::label_data(out.iter_mut().map(|(_, m)| m));
        let mut plan = Plan {
            file: file.to_string(),
            steps: Vec::new(),
            actors: Vec::new(),
            forked_by: Vec::new(),
            actor: Vec::new(),
            hosts: Vec::new(),
            after: Vec::new(),
            waits: Vec::new(),
            names: BTreeSet::new(),
            pairs: BTreeSet::new(),
            fd_labels: BTreeSet::new(),
            ports: BTreeSet::new(),
            links: Vec::new(),
        };
        for (i, (step, m)) in out.iter().enumerate() {
            let a = plan.actor_index(&step.actor, None);
            if let Some(child) = &step.child {
                // A clone3 line's child is a thread (threads.rs).
                plan.actor_index(child, (step.row.name != "clone3").then_some(i));
            }
            plan.actor.push(a);
            plan.hosts.resize(plan.actors.len(), None);
            if let (Some(h), Some(slot @ None)) = (&step.host, plan.hosts.get_mut(a)) {
                *slot = Some(h.clone());
            }
            plan.waits
                .push(super::waits::waits_for_return(step).map(|d| d.as_millis()));
            let uses = inputs(&m.op);
            let after = opener::after(&plan, &out, i, a, &uses);
            // A process actor's lines wait for its fork, too.
            let fork = plan.forked_by.get(a).copied().flatten();
            // A thread a clone3 line starts: its lines wait for that line.
            let born = (0..i).find(|&j| {
                out.get(j)
                    .is_some_and(|(s, _)| threads::starts(s, a, &plan))
            });
            plan.after.push(after.max(fork).max(born));
            for f in uses.iter().chain(outputs(m).iter()) {
                match f {
                    Fd::Name(n) => {
                        plan.names.insert(n.clone());
                    }
                    Fd::Pair(n, _) => {
                        plan.pairs.insert(n.clone());
                    }
                    Fd::Label(n) => {
                        plan.fd_labels.insert(*n);
                    }
                    Fd::Std(_) => {}
                }
            }
            plan.ports.extend(ports(&m.op));
        }
        // A socketpair's name is a pair, not an fd.
        for (s, _) in &out {
            if let (Some(n), "socketpair") = (&s.bind, s.row.name) {
                plan.pairs.insert(n.clone());
            }
        }
        plan.names.retain(|n| !plan.pairs.contains(n));
        plan.steps = out;
        plan.resolve_processes()?;
        Ok(plan)
    }

    /// Step i's wait in the runners' tables: how long its call, one that
    /// ends by itself, may take (ms), or -1.
    pub fn waits_ms(&self, i: usize) -> i64 {
        self.waits
            .get(i)
            .copied()
            .flatten()
            .map_or(-1, |w| i64::try_from(w).unwrap_or(i64::MAX))
    }

    /// The index of actor `name`, added (forked by step `fork`) if new.
    fn actor_index(&mut self, name: &str, fork: Option<usize>) -> usize {
        match self.actors.iter().position(|n| n == name) {
            Some(a) => {
                if let (Some(slot @ None), Some(_)) = (self.forked_by.get_mut(a), fork) {
                    *slot = fork;
                }
                a
            }
            None => {
                self.actors.push(name.to_string());
                self.forked_by.push(fork);
                self.actors.len() - 1
            }
        }
    }

    /// Each fork, kill and wait4 names its actor's index: a name, or the
    /// pid a fork's line returned (`ign = fork() = 123`: 123 is ign).
    fn resolve_processes(&mut self) -> Result<(), Vec<String>> {
        let mut pids = std::collections::BTreeMap::new();
        for (step, _) in &self.steps {
            if let (Some(child), Some(super::ast::Outcome::Value(pid))) =
                (&step.child, step.result.as_ref().map(|r| &r.value))
            {
                pids.insert(*pid, child.clone());
            }
        }
        let mut errors = Vec::new();
        let actors = self.actors.clone();
        let forked = self.forked_by.clone();
        // The handlers installed so far: (the process, the signal); a
        // thread actor's process is usize::MAX (socklab's own).
        let mut handlers: Vec<(usize, i64)> = Vec::new();
        let process_of = |a: usize| match forked.get(a) {
            Some(Some(_)) => a,
            _ => usize::MAX,
        };
        for (i, (step, m)) in self.steps.iter_mut().enumerate() {
            let at = process_of(self.actor.get(i).copied().unwrap_or(0));
            if let Op::Handler(sig, _) = &m.op {
                handlers.push((at, sig.value));
            }
            let whos: Vec<(&mut model::Who, bool)> = match &mut m.op {
                Op::Fork(w) => vec![(w, true)],
                Op::Thread(w, _) => vec![(w, false)],
                // wait4(-1, ...): any child; its result names one (or 0).
                Op::Wait4(w, _, _, got) => {
                    let target = (w.pid != -1).then_some((w, true));
                    let got = got.as_mut().filter(|g| g.pid != 0).map(|g| (g, false));
                    target.into_iter().chain(got).collect()
                }
                Op::Kill(w, _) | Op::Own(model::Own::Pid(_, Some(w))) => vec![(w, false)],
                _ => continue,
            };
            let mut w_actor = None;
            for (who, process) in whos {
                let (actor, why) = who_actor(who, process, &pids, &actors, &forked);
                w_actor = w_actor.or(actor);
                errors.extend(why.map(|w| format!("{}:{}: cannot emit: {w}", self.file, step.no)));
            }
            if let (Op::Kill(w, sig), Some(a)) = (&mut m.op, w_actor) {
                w.handled = handlers.contains(&(process_of(a), sig.value));
            }
            if let (Op::Fork(_), Some(a)) = (&m.op, w_actor) {
                // The child inherits its parent's handlers.
                let inherited: Vec<(usize, i64)> = handlers
                    .iter()
                    .filter(|(p, _)| *p == at)
                    .map(|(_, s)| (a, *s))
                    .collect();
                handlers.extend(inherited);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Resolves `who` to its actor (a name, or the pid a fork's line
/// returned); why not, when it names none (or no process where a
/// process is needed: `process`).
fn who_actor(
    who: &mut model::Who,
    process: bool,
    pids: &std::collections::BTreeMap<i64, String>,
    actors: &[String],
    forked: &[Option<usize>],
) -> (Option<usize>, Option<String>) {
    let name = match pids.get(&who.pid) {
        Some(child) if who.pid != 0 => child.clone(),
        _ => who.name.clone(),
    };
    who.actor = actors.iter().position(|n| *n == name);
    who.process = who
        .actor
        .and_then(|a| forked.get(a).copied().flatten())
        .is_some();
    let why = if who.actor.is_none() && who.pid == 0 {
        Some(format!("no actor {name}"))
    } else if process && !who.process {
        Some(format!("{name} is not a process actor (NAME = fork())"))
    } else {
        None
    };
    (who.actor, why)
}

/// Whether a process actor may die in step's call: 0 if its line
/// expects nothing definite, 1 if it expects EPIPE (SIGPIPE's death),
/// 2 if it expects a return.
fn cut(step: &Step) -> i32 {
    use super::ast::Outcome;
    match step.result.as_ref().map(|r| &r.value) {
        None | Some(Outcome::Unknown(_) | Outcome::Any) => 0,
        Some(Outcome::Errno(e)) if e == "EPIPE" => 1,
        _ if step.row.name == "exit_group" => 0,
        _ => 2,
    }
}

/// Two fds the same label (a pair's halves are one label).
fn same(a: &Fd, b: &Fd) -> bool {
    match (a, b) {
        (Fd::Pair(x, _), Fd::Pair(y, _)) | (Fd::Pair(x, _), Fd::Name(y)) => x == y,
        _ => a == b,
    }
}

/// The fds a call uses.
fn inputs(op: &Op) -> Vec<Fd> {
    match op {
        Op::Socket(..)
        | Op::Socketpair(..)
        | Op::Kill(..)
        | Op::Fork(..)
        | Op::Thread(..)
        | Op::Sigaction(..)
        | Op::Handler(..)
        | Op::Wait4(..)
        | Op::Exit(..)
        | Op::Own(..)
        | Op::Proc(..)
        | Op::EpollCreate1(..) => Vec::new(),
        Op::Mmsg(b) => vec![b.fd().clone()],
        Op::EpollCtl(ep, _, fd, ev) => match ev {
            Some((_, super::epoll_data::Data::Fd(d))) => vec![ep.clone(), fd.clone(), d.clone()],
            _ => vec![ep.clone(), fd.clone()],
        },
        Op::EpollWait(ep, ..) => vec![ep.clone()],
        Op::Unix(u) => u.inputs(),
        Op::Sendmsg(fd, _, rights, _) => std::iter::once(fd).chain(rights).cloned().collect(),
        Op::Poll(fds, _, _) => fds.iter().map(|(f, _)| f.clone()).collect(),
        Op::Bind(fd, _)
        | Op::Connect(fd, _)
        | Op::Listen(fd, _)
        | Op::Accept(fd, ..)
        | Op::Getsockname(fd, _)
        | Op::Getpeername(fd, _)
        | Op::Shutdown(fd, _)
        | Op::Close(fd)
        | Op::Dup(fd)
        | Op::Dup2(fd, _)
        | Op::Sendto(fd, ..)
        | Op::Recvfrom(fd, ..)
        | Op::Read(fd, ..)
        | Op::Write(fd, _)
        | Op::Setsockopt(fd, ..)
        | Op::Getsockopt(fd, ..)
        | Op::Fcntl(fd, ..)
        | Op::Ioctl(fd, ..)
        | Op::Recvmsg(fd, ..) => vec![fd.clone()],
    }
}

/// The fds a step's result opens.
fn outputs(m: &Model) -> Vec<Fd> {
    let mut out: Vec<Fd> = m.bind.iter().cloned().collect();
    match &m.op {
        Op::Socketpair(_, _, _, fds) | Op::Recvmsg(.., fds) => out.extend(fds.iter().cloned()),
        Op::Unix(u) => out.extend(u.outputs()),
        _ => {}
    }
    out
}

/// The ports an op writes (labels).
fn ports(op: &Op) -> Vec<u16> {
    if let Op::Unix(u) = op {
        return u.ports();
    }
    if let Op::Mmsg(b) = op {
        return b.ports();
    }
    let of = |o: &model::Out| match o {
        model::Out::Is(i) => Some(i.port),
        _ => None,
    };
    let p = match op {
        Op::Bind(_, i) | Op::Connect(_, i) | Op::Sendto(.., Some(i)) => Some(i.port),
        Op::Accept(_, o, _) | Op::Getsockname(_, o) | Op::Getpeername(_, o) => of(o),
        Op::Recvfrom(_, _, _, o, _) => of(o),
        _ => None,
    };
    p.into_iter().filter(|&p| p != 0).collect()
}
