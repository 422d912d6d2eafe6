//! The runner's side of process actors (`process.rs`) and signals: a
//! fork's request and its child actor, `kill(ACTOR, SIG)`, a child's
//! end as strace -f shows it, and each child's end of the run (its fds
//! closed by itself, its exit, its parent's wait4).

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;

use super::actors::{Actor, Msg, Owned};
use super::ast::{ExprKind, Outcome};
use super::call::{Made, Req};
use super::check::Step;
use super::end::END;
use super::run::Runner;
use crate::sys::untraced::{self, Ended};
use crate::values::calls::Syscall;
use crate::values::error::Result;
use crate::values::xlat::Group;

impl Runner {
    /// The request of a line that needs the runner: a fork (its pipes),
    /// `kill(ACTOR, SIG)`, rt_sigaction (a process actor's only). None:
    /// an ordinary request. Err: why the line cannot run.
    pub(super) fn special(
        &mut self,
        step: &Step,
        a: usize,
    ) -> std::result::Result<Option<Req>, String> {
        let process = self.actors.get(a).is_some_and(|x| x.pid.is_some());
        match step.row.name {
            "clone" if process => {
                Err("a process actor cannot fork (fork from a thread actor)".into())
            }
            "clone" => {
                let others = self.chans.clone();
                let (down, up, pipes) = super::process::pipes(others).map_err(|e| e.to_string())?;
                self.chans.extend([down.as_raw_fd(), up.as_raw_fd()]);
                self.forking = Some((down, up));
                Ok(Some(Req::Fork(pipes)))
            }
            "clone3" => self.conceive(a).map(Some),
            "prctl" | "alarm" if !process => Err(format!(
                "{} would change socklab's own process: make it in a process actor \
                 (NAME = fork())",
                step.row.name
            )),
            "setuid" | "setgid" | "setgroups" if !process => Err(format!(
                "{} would change the ids of socklab's own thread: make it in a process actor \
                 (NAME = fork())",
                step.row.name
            )),
            "rt_sigaction" if !process => match super::request::in_thread(step) {
                Some(why) => Err(why),
                None => Ok(None),
            },
            "kill" => {
                let sig = super::request::signal(step)?;
                Ok(self.kill_target(step).map(|(pid, tid)| match tid {
                    Some(tid) => Req::Tgkill(pid, tid, sig),
                    None => Req::Kill(pid, sig),
                }))
            }
            "tgkill" => {
                let sig = super::request::signal_at(step, 2)?;
                let to = step.to.as_deref().unwrap_or("");
                let actor = self.actors.iter().find(|x| x.name == to);
                match actor.map(|x| (x.pid, x.tid)) {
                    Some((Some(pid), _)) => Ok(Some(Req::Tgkill(pid, pid, sig))),
                    Some((None, tid)) => Ok(Some(Req::Tgkill(self.pid, tid, sig))),
                    None => Err(format!("tgkill: actor {to} has not started")),
                }
            }
            "wait4" => {
                let options = match step.args.get(2) {
                    Some(e) => super::resolve::int(e, Some(Group::Wait))? as i32,
                    None => 0,
                };
                match (step.args.first().map(|e| &e.kind), self.kill_target(step)) {
                    // Any child: the one reaped is a pid label (`= PID`).
                    (Some(ExprKind::Int(-1)), _) => Ok(Some(Req::Wait4(-1, options))),
                    (_, Some((pid, None))) => Ok(Some(Req::Wait4(pid, options))),
                    _ => Err(
                        "wait4 waits for a process actor: wait4(NAME, ...), its pid, \
                              or -1 (any child)"
                            .into(),
                    ),
                }
            }
            "exit_group" if !process => {
                Err("exit_group ends the whole process: make it in a process actor".into())
            }
            "exit_group" => match step.args.first().map(|e| &e.kind) {
                Some(ExprKind::Int(n)) => Ok(Some(Req::Exit(*n as i32))),
                _ => Err("exit_group(STATUS): a number".into()),
            },
            _ => Ok(None),
        }
    }

    /// `kill(WHO, ...)`: an actor's name (a process: its pid; a thread:
    /// this process and its tid), or a fork's pid label.
    fn kill_target(&self, step: &Step) -> Option<(i32, Option<i32>)> {
        let who = step.args.first()?;
        let actor = match &who.kind {
            ExprKind::Name(n) => self.actors.iter().find(|x| &x.name == n)?,
            ExprKind::Int(n) => {
                let pid = self.labels.pid(*n);
                self.actors.iter().find(|x| {
                    x.pid.is_some_and(|p| i64::from(p) == pid) || x.name == format!("pid {n}")
                })?
            }
            _ => return None,
        };
        match actor.pid {
            Some(pid) => Some((pid, None)),
            None => Some((self.pid, Some(actor.tid))),
        }
    }

    /// A fork returned `pid` in actor `parent` for step `step`: its child
    /// is a new actor.
    pub(super) fn adopt(&mut self, step: &Step, parent: usize, pid: i32) {
        let Some(files) = self.forking.take() else {
            return;
        };
        let name = step.child.clone().unwrap_or_else(|| format!("pid {pid}"));
        let index = self.actors.len();
        let first = self.actors.iter().all(|a| a.pid.is_none());
        match Actor::process(&name, index, pid, files, self.tx.clone()) {
            Ok(mut child) => {
                child.parent = self
                    .actors
                    .get(parent)
                    .map_or_else(|| "main".into(), |p| p.name.clone());
                if first {
                    // Named once, after the first fork's line (issue 15).
                    let by = child.parent.clone();
                    self.print_text(&by, super::process::PLUMBING);
                }
                child.open = self.labels.still_open().into_iter().collect();
                self.by_name.insert(name, index);
                self.actors.push(child);
            }
            Err(e) => self.fail_now(step, &e.to_string()),
        }
    }

    fn fail_now(&mut self, step: &Step, why: &str) {
        if let Some(id) = self.steps.iter().position(|s| s.no == step.no) {
            self.fail(id, vec![format!("  {why}")]).ok();
        }
    }

    /// A process actor ended (its pipe ended): its call cut short, then
    /// strace -f's lines. True when that call is step `current`'s.
    pub(super) fn gone(
        &mut self,
        a: usize,
        pending: Option<(usize, &'static Syscall, String)>,
        ended: Ended,
        current: Option<usize>,
    ) -> bool {
        let Some(ended) = self.known_end(a, &pending, ended) else {
            return false;
        };
        let Some(actor) = self.actors.get_mut(a) else {
            return false;
        };
        actor.ended = Some(ended);
        let (name, pid) = (actor.name.clone(), actor.pid.unwrap_or(0));
        let busy = actor.busy.take();
        self.ends.push((name.clone(), ended));
        if let Some(id) = busy {
            let entered = pending.filter(|(p, ..)| *p == id);
            self.cut_short(id, &name, entered, ended);
        }
        match ended {
            Ended::Killed(sig) => {
                if sig != libc::SIGKILL {
                    // The kernel sends SIGPIPE as the writer itself.
                    let from = match sig {
                        libc::SIGPIPE => pid,
                        _ => self.senders.get(&pid).copied().unwrap_or(self.pid),
                    };
                    let s = crate::values::xlat::signal_name(sig);
                    let uid = untraced::geteuid();
                    self.print_task_text(
                        &name,
                        &format!("--- {s} {{si_signo={s}, si_code=SI_USER, si_pid={from}, si_uid={uid}}} ---"),
                        false,
                    );
                }
                self.print_task_text(
                    &name,
                    &format!(
                        "+++ killed by {} +++",
                        crate::values::xlat::signal_name(sig)
                    ),
                    false,
                );
            }
            Ended::Exited(code) => {
                // A process actor exits only when told to (exit_group,
                // not traced by socklab: shown as strace shows it).
                self.print_task_text(&name, &format!("exit_group({code}) = ?"), false);
                self.print_task_text(&name, &format!("+++ exited with {code} +++"), false);
            }
            Ended::Unknown(e) => {
                // No exit_group line: nothing saw one.
                self.print_text(
                    &name,
                    &format!(
                        "# process {pid} ended; how is not known (waitid: {e:?}: SIGCHLD ignored?)"
                    ),
                );
            }
        }
        self.chld_to_parent(a, pid, ended);
        busy.is_some() && busy == current
    }

    /// Step `id`'s call, in which its process was killed: with SIGPIPE
    /// it returned `-1 EPIPE` (the kernel raises SIGPIPE only with
    /// EPIPE: send(2)); otherwise it never returned (`= ? ERESTARTSYS`
    /// when it was asleep, as strace shows a call a signal ends).
    fn cut_short(
        &mut self,
        id: usize,
        name: &str,
        entered: Option<(usize, &'static Syscall, String)>,
        ended: Ended,
    ) {
        let Some((_, row, args)) = entered else {
            self.under.remove(&id);
            return;
        };
        if ended == Ended::Killed(libc::SIGPIPE) {
            let ev = Owned {
                row,
                args,
                ret: Err(Errno::EPIPE),
                note: String::new(),
                addr: None,
                start: SystemTime::now(),
                duration: Duration::ZERO,
            };
            let made = Made {
                ret: Some(Err(Errno::EPIPE)),
                ..Made::default()
            };
            self.finish(id, made, vec![ev], Vec::new());
            return;
        }
        let Some(under) = self.under.remove(&id) else {
            return;
        };
        // SIGKILL ends the call with no return at all; another signal
        // with the kernel's return for the call (its row's `restart`; ""
        // is a plain EINTR: rt_sigtimedwait, epoll_wait), as strace -f shows.
        let tail = match ended {
            Ended::Killed(libc::SIGKILL) | Ended::Unknown(_) => "= ?".to_string(),
            _ if row.restart.is_empty() => "= -1 EINTR (Interrupted system call)".to_string(),
            _ => format!("= ? {}", row.restart),
        };
        let text = if under.unfinished {
            crate::strace::resumed_line(row, &args, &tail)
        } else {
            format!("{}({args}) {tail}", row.name)
        };
        self.print_task_text(name, &text, under.unfinished);
        if let Some(a) = self.actors.get_mut(under.actor) {
            a.remember(&text);
        }
        let expected = self.steps.get(id).and_then(|s| s.result.as_ref());
        if expected.is_some_and(|r| !matches!(r.value, Outcome::Unknown(_) | Outcome::Any)) {
            let why = match ended {
                Ended::Killed(sig) => {
                    format!("killed by {}", crate::values::xlat::signal_name(sig))
                }
                Ended::Exited(c) => format!("exited with {c}"),
                Ended::Unknown(_) => "ended (how is not known)".to_string(),
            };
            self.fail(id, vec![format!("  its process was {why} in this call")])
                .ok();
        }
    }

    /// The end of each process actor: one still in a call is killed
    /// (SIGKILL, by the runner's end thread); the others close the fds
    /// they still have (shown as theirs) and exit; then each parent's
    /// wait4 (shown), so that no child is left, not even a zombie.
    pub(super) fn end_processes(&mut self) -> Result<()> {
        let children: Vec<usize> = (0..self.actors.len())
            .filter(|&i| self.actors.get(i).is_some_and(|a| a.pid.is_some()))
            .collect();
        if children.is_empty() {
            return Ok(());
        }
        self.reaping.ending = true;
        let mut end = None;
        for &i in &children {
            let Some(a) = self.actors.get(i) else {
                continue;
            };
            let (pid, parent) = (a.pid.unwrap_or(0), a.parent.clone());
            if a.ended.is_none() && a.busy.is_some() {
                self.at_end(&mut end, &parent, Req::Kill(pid, libc::SIGKILL))?;
            } else if a.ended.is_none() {
                let open: Vec<RawFd> = a.open.iter().copied().collect();
                for fd in open {
                    let _ = self.in_child(i, Req::Close(fd));
                }
                let _ = self.in_child(i, Req::Exit(0));
            }
            self.await_end(i);
            if !self.reaped.contains(&pid) {
                self.at_end(&mut end, &parent, Req::Wait4(pid, 0))?;
            }
        }
        super::end::join(end);
        Ok(())
    }

    /// Make `req` in actor `i` at the end (a process actor, or a thread
    /// actor not blocked), its line shown as its; what it made (None: it
    /// has ended, or did not answer within `--timeout`). The end of the
    /// process a kill kills is shown after the kill's line, as in a step.
    pub(super) fn in_child(&mut self, i: usize, req: Req) -> Option<Made> {
        let killing = match req {
            Req::Kill(pid, _) => Some(pid),
            _ => None,
        };
        self.telling(i, &req);
        let a = self.actors.get_mut(i)?;
        if a.ended.is_some() || a.start(END, req).is_err() {
            return None;
        }
        let name = a.name.clone();
        let deadline = Instant::now() + self.timeout;
        let mut made = None;
        while made.is_none()
            && self
                .actors
                .get(i)
                .is_some_and(|a| a.busy.is_some() && a.ended.is_none())
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Msg::Done {
                    id: END,
                    made: m,
                    events,
                    notes,
                }) => {
                    for ev in &events {
                        self.print_event(&name, ev);
                    }
                    self.print_notes(i, &name, &notes);
                    let a = self.actors.get_mut(i)?;
                    a.busy = None;
                    if let Some(fd) = m.closed {
                        a.open.remove(&fd);
                    }
                    made = Some(m);
                }
                Ok(Msg::Gone {
                    actor,
                    pending,
                    ended,
                    info,
                }) if killing.is_some()
                    && self.actors.get(actor).and_then(|a| a.pid) == killing =>
                {
                    self.keep_info(actor, info);
                    self.deaths.push((actor, pending, ended));
                }
                Ok(msg) => {
                    self.take(msg, None);
                }
                Err(_) => break,
            }
        }
        for (actor, pending, ended) in std::mem::take(&mut self.deaths) {
            self.gone(actor, pending, ended, None);
        }
        made
    }

    /// Wait until process actor `i` has ended (its pipe ended).
    fn await_end(&mut self, i: usize) {
        let deadline = Instant::now() + self.timeout;
        while self.actors.get(i).is_some_and(|a| a.ended.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(msg) => {
                    self.take(msg, None);
                }
                Err(_) => return,
            }
        }
    }
}
