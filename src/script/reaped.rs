//! A process actor's end as strace -f shows it when the runner's
//! waitid(WNOWAIT) cannot say how it ended: its parent's blocking wait4
//! reaped it first (ECHILD). What the runner knows then: the status that
//! wait4 returned (its line's `[{WIFEXITED(s) && ...}]`) and the exit or
//! SIGKILL it asked for itself. The child's `exit_group(N) = ?` and `+++
//! ... +++` lines print before the parent's `wait4(...) = PID`, as strace
//! -f prints them. And the parent actor's `--- SIGCHLD {...} ---` line
//! where strace -f shows it: in the parent's task, idle between its
//! calls, after the child's end (the kernel signals the thread that
//! forked; measured: tests/suite/script/reaped.rs).

use std::time::Instant;

use super::actors::Msg;
use super::call::Req;
use super::run::{LOOK_EVERY, Runner};
use crate::sys::handler;
use crate::sys::untraced::Ended;
use crate::values::calls::Syscall;
use crate::values::xlat::signal_name;

impl Runner {
    /// Before process actor `a` (or any actor) makes `req`: an end the
    /// runner asks for (`exit_group`, SIGKILL) is kept.
    pub(super) fn telling(&mut self, a: usize, req: &Req) {
        match *req {
            Req::Exit(code) => {
                if let Some(pid) = self.actors.get(a).and_then(|x| x.pid) {
                    self.reaping.told.insert(pid, Ended::Exited(code));
                }
            }
            Req::Kill(pid, libc::SIGKILL) => {
                self.reaping.told.insert(pid, Ended::Killed(libc::SIGKILL));
            }
            _ => {}
        }
    }

    /// A process actor's end message's siginfo, kept for its SIGCHLD line.
    pub(super) fn keep_info(&mut self, actor: usize, info: Option<[i64; 3]>) {
        if let (Some(pid), Some(info)) = (self.actors.get(actor).and_then(|a| a.pid), info) {
            self.reaping.info.insert(pid, info);
        }
    }

    /// How process actor `a` ended when waitid could not say: what a
    /// wait4 returned, else what the runner told it. None: held until the
    /// parent's wait4 that reaped it returns (the parent is in a wait4),
    /// else Some(the unknown end): nothing more will tell.
    pub(super) fn known_end(
        &mut self,
        a: usize,
        pending: &Option<(usize, &'static Syscall, String)>,
        ended: Ended,
    ) -> Option<Ended> {
        let Ended::Unknown(_) = ended else {
            return Some(ended);
        };
        let pid = self.actors.get(a).and_then(|x| x.pid).unwrap_or(0);
        let known = self.reaping.statuses.get(&pid);
        if let Some(k) = known.or_else(|| self.reaping.told.get(&pid)) {
            return Some(*k);
        }
        if self.parent_in("wait4", a) {
            self.reaping.held.push((a, pending.clone()));
            return None;
        }
        Some(ended)
    }

    /// Is the parent of process actor `a` in a call named `call`?
    fn parent_in(&self, call: &str, a: usize) -> bool {
        let parent = self.actors.get(a).map(|x| x.parent.clone());
        let p = parent.and_then(|n| self.by_name.get(&n).copied());
        let busy = p.and_then(|p| self.actors.get(p)).and_then(|x| x.busy);
        busy.and_then(|id| self.steps.get(id))
            .is_some_and(|s| s.row.name == call)
    }

    /// A wait4 returned `pid` with its line's arguments `args`: before
    /// its line, the end of that process actor (the pipe of a reaped
    /// child has ended: its message comes; others that come first go
    /// back to the queue).
    pub(super) fn reaped_first(&mut self, pid: i32, args: &str) {
        if let Some(s) = status_of(args) {
            self.reaping.statuses.insert(pid, s);
        }
        let Some(i) = self.actors.iter().position(|a| a.pid == Some(pid)) else {
            return;
        };
        if let Some(k) = self.reaping.held.iter().position(|(a, _)| *a == i) {
            let (a, pending) = self.reaping.held.remove(k);
            let ended = self
                .reaping
                .statuses
                .get(&pid)
                .copied()
                .unwrap_or(Ended::Unknown(nix::errno::Errno::ECHILD));
            self.gone(a, pending, ended, None);
            return;
        }
        self.end_now(i);
    }

    /// A call of actor `name` returned after a SIGCHLD handler ran for a
    /// process actor it forked whose end has not come yet: that end
    /// first (its lines before the call's `--- SIGCHLD`, as strace -f).
    pub(super) fn signalled_first(&mut self, name: &str) {
        if !handler::installed(libc::SIGCHLD)
            || handler::ran_for(libc::SIGCHLD) == self.kicks.children_shown
        {
            return;
        }
        let line = handler::child_line();
        let Some(i) = self.actors.iter().position(|a| {
            a.parent == name
                && a.ended.is_none()
                && a.pid
                    .is_some_and(|p| line.contains(&format!("si_pid={p},")))
        }) else {
            return;
        };
        self.end_now(i);
    }

    /// Show process actor `i`'s end now: held for a kill's line (run.rs
    /// `deaths`), or when its message comes.
    fn end_now(&mut self, i: usize) {
        if let Some(k) = self.deaths.iter().position(|d| d.0 == i) {
            let (a, pending, ended) = self.deaths.remove(k);
            self.gone(a, pending, ended, None);
            return;
        }
        self.await_gone(i);
    }

    /// Wait for process actor `i`'s end message (its process is gone:
    /// it comes) and show it; others that come first go back to the queue.
    fn await_gone(&mut self, i: usize) {
        let deadline = Instant::now() + self.timeout;
        let mut others = Vec::new();
        while self.actors.get(i).is_some_and(|a| a.ended.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Msg::Gone {
                    actor,
                    pending,
                    ended,
                    info,
                }) if actor == i => {
                    self.keep_info(actor, info);
                    self.gone(actor, pending, ended, None);
                }
                Ok(msg) => others.push(msg),
                Err(_) => break,
            }
        }
        for msg in others {
            let _ = self.tx.send(msg);
        }
    }

    /// Ends still held at the end of the run (no wait4 returned their
    /// pid): shown as not known.
    pub(super) fn unheld(&mut self) {
        for (a, pending) in std::mem::take(&mut self.reaping.held) {
            self.gone(a, pending, Ended::Unknown(nix::errno::Errno::ECHILD), None);
        }
    }

    /// Process actor `a` (pid `pid`) ended so: its parent actor's
    /// SIGCHLD line, where strace -f shows it. The parent is a thread
    /// actor between calls: the line (with a SIGCHLD handler of the
    /// script's: once it ran, its rt_sigreturn). The parent is in a call
    /// at the run's end: a note (the signal interrupts a task's call,
    /// which one the kernel picks). Otherwise, as before: a handler's
    /// line after the parent's call returns (handled.rs `child_ended`).
    pub(super) fn chld_to_parent(&mut self, a: usize, pid: i32, ended: Ended) {
        let Some(parent) = self.actors.get(a).map(|x| x.parent.clone()) else {
            return;
        };
        if matches!(ended, Ended::Unknown(_)) {
            return;
        }
        if self.parent_in("wait4", a) {
            // Shown after that wait4's line, if it reaps this child.
            self.reaping.into_wait.insert(pid);
            return;
        }
        // No waitid siginfo otherwise: it found no zombie, the kernel
        // reaped the child (SIGCHLD ignored: none is sent).
        let Some(info) = self.reaping.info.get(&pid).copied() else {
            return;
        };
        let idle = self
            .by_name
            .get(&parent)
            .and_then(|&p| self.actors.get(p))
            .is_some_and(|p| p.pid.is_none() && p.tid != 0 && p.busy.is_none());
        if !idle {
            // (A handler's SIGCHLD shows after the call it interrupts.)
            if self.reaping.ending && !handler::installed(libc::SIGCHLD) {
                let (code, _) = codes(ended);
                self.print_text(
                    &parent,
                    &format!(
                        "# not shown: the SIGCHLD of process {pid}'s end ({code}): {parent} is \
                         in a call; strace -f shows it in the task the kernel gives it to, \
                         with the call it interrupts"
                    ),
                );
            }
            return;
        }
        if !handler::installed(libc::SIGCHLD) {
            let line = chld_line(pid, ended, Some(info));
            self.print_task_text(&parent, &line, false);
            return;
        }
        // Shown already: the signal interrupted the parent's last call,
        // which returned before this end came (handled.rs `child_ended`).
        let this = format!("si_pid={pid},");
        let ran = handler::ran_for(libc::SIGCHLD);
        if ran == self.kicks.children_shown && handler::child_line().contains(&this) {
            return;
        }
        // The handler runs in the parent's thread, woken in its wait
        // for the runner's next request (socklab's own futex).
        let deadline = Instant::now() + self.timeout;
        while handler::ran_for(libc::SIGCHLD) == self.kicks.children_shown
            && Instant::now() < deadline
        {
            std::thread::sleep(LOOK_EVERY);
        }
        let ran = handler::ran_for(libc::SIGCHLD);
        if ran == self.kicks.children_shown {
            return;
        }
        self.kicks.children_shown = ran;
        let (rax, mask) = handler::last(libc::SIGCHLD);
        let back = match rax {
            -4095..=-1 => Err(nix::errno::Errno::from_raw(-rax as i32)),
            _ => Ok(rax),
        };
        // Without SA_SIGINFO the handler had no siginfo: waitid's.
        let mut line = handler::child_line();
        if !line.contains(&this) {
            line = chld_line(pid, ended, Some(info));
        }
        self.print_task_text(&parent, &line, false);
        self.print_event(&parent, &super::handled::sigreturn(&mask, back));
    }
}

impl Runner {
    /// Actor `name`'s wait4 reaped `pid`, which ended while it waited:
    /// the SIGCHLD's line after the wait4's (strace -f: the signal is
    /// taken as the call returns). A handler's is handled.rs's.
    pub(super) fn chld_after_wait4(&mut self, name: &str, pid: i32) {
        if !self.reaping.into_wait.remove(&pid) || handler::installed(libc::SIGCHLD) {
            return;
        }
        // A wait4 that reaped it: SIGCHLD was not ignored (the kernel
        // would have reaped it itself).
        if let Some(ended) = self.reaping.statuses.get(&pid).copied() {
            let line = chld_line(pid, ended, self.reaping.info.get(&pid).copied());
            self.print_task_text(name, &line, false);
        }
    }
}

/// si_code and si_status of an end, as strace names them.
fn codes(ended: Ended) -> (&'static str, String) {
    match ended {
        Ended::Exited(c) => ("CLD_EXITED", c.to_string()),
        Ended::Killed(s) => ("CLD_KILLED", signal_name(s)),
        Ended::Unknown(_) => ("CLD_EXITED", "0".into()),
    }
}

/// strace's `--- SIGCHLD {...} ---` for a child's end.
fn chld_line(pid: i32, ended: Ended, info: Option<[i64; 3]>) -> String {
    let (code, status) = codes(ended);
    // Without waitid's siginfo (a wait4 reaped it first): socklab's euid
    // (the plumbing's geteuid: process.rs PLUMBING), no clock ticks.
    let [uid, utime, stime] =
        info.unwrap_or_else(|| [i64::from(crate::sys::untraced::geteuid()), 0, 0]);
    format!(
        "--- SIGCHLD {{si_signo=SIGCHLD, si_code={code}, si_pid={pid}, si_uid={uid}, \
         si_status={status}, si_utime={utime}, si_stime={stime}}} ---"
    )
}

/// A wait4 line's status (`[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`,
/// `[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]`).
pub(super) fn status_of(args: &str) -> Option<Ended> {
    if let Some((_, rest)) = args.split_once("WEXITSTATUS(s) == ") {
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return n.parse().ok().map(Ended::Exited);
    }
    let (_, rest) = args.split_once("WTERMSIG(s) == ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let sig = name
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .or_else(|_| name.parse::<i32>())
        .ok()?;
    Some(Ended::Killed(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait4_lines_status_is_read_back() {
        let exited = "4268, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL";
        assert_eq!(status_of(exited), Some(Ended::Exited(3)));
        let killed = "4268, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL";
        assert_eq!(status_of(killed), Some(Ended::Killed(libc::SIGKILL)));
        assert_eq!(status_of("-1, 0x7f00, WNOHANG, NULL"), None);
    }
}
