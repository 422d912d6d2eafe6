//! A signal with a handler (issue 14, rule 7): `rt_sigaction(SIGUSR1,
//! {sa_handler=..., sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART,
//! sa_restorer=...}, NULL, 8)` installs socklab's own handler (it only
//! records that it ran: src/sys/handler.rs), in a thread actor or a
//! process actor; a later `kill(ACTOR, SIGUSR1)` to the actor asleep in
//! a call shows what strace -f shows: the call's `= ? ERESTARTSYS (To be
//! restarted if SA_RESTART is set)`, `--- SIGUSR1 {...} ---`,
//! `rt_sigreturn({mask=[]}) = NR`, and the restarted call `<unfinished
//! ...>` (SA_RESTART), or `rt_sigreturn({mask=[]}) = -1 EINTR` and the
//! call returns -1 EINTR (without).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;

use super::actors::Owned;
use super::call::Req;
use super::check::Step;
use super::kicks::Kick;
use super::request::sigaction;
use super::run::{LOOK_EVERY, Runner};
use crate::sys::handler;
use crate::values::xlat::signal_name;

impl Runner {
    /// Before actor `from` makes `req`: a signal to an actor asleep in a
    /// call, with a handler for it: the step whose call it interrupts.
    pub(super) fn kick(&mut self, req: &Req, from: usize) -> Option<usize> {
        let (pid, tid, sig, code) = match req {
            Req::Tgkill(pid, tid, sig) => (*pid, *tid, *sig, "SI_TKILL"),
            Req::Kill(pid, sig) => (*pid, *pid, *sig, "SI_USER"),
            _ => return None,
        };
        let target = self.actors.iter().position(|a| match a.pid {
            Some(p) => p == pid,
            None => pid == self.pid && a.tid == tid,
        })?;
        let proc_pid = self.actors.get(target)?.pid;
        let process = match proc_pid {
            Some(p) => {
                let flags = *self.kicks.procs.get(&(p, sig))?;
                Some((File::open(format!("/proc/{p}/task/{p}/status")).ok(), flags))
            }
            None if handler::installed(sig) => None,
            None => return None,
        };
        let (&step, _) = self
            .under
            .iter()
            .find(|(_, u)| u.actor == target && u.unfinished)?;
        let sender = self
            .actors
            .get(from)
            .and_then(|a| a.pid)
            .unwrap_or(self.pid);
        let s = signal_name(sig);
        let uid = crate::sys::untraced::geteuid();
        let line =
            format!("--- {s} {{si_signo={s}, si_code={code}, si_pid={sender}, si_uid={uid}}} ---");
        let before = handler::ran_for(sig);
        let kick = Kick {
            sig,
            line,
            before,
            process,
        };
        self.kicks.pending.insert(step, kick);
        Some(step)
    }

    /// After the kill's line: wait for the handler to run in step
    /// `step`'s actor; a call the kernel restarts (SA_RESTART) shows
    /// ERESTARTSYS, the signal, rt_sigreturn and the call again; one
    /// that returns -1 EINTR is shown when it returns ([`Runner::interrupted`]).
    pub(super) fn kicked(&mut self, step: usize) {
        let deadline = Instant::now() + self.timeout;
        let ran = |r: &Runner| match r.kicks.pending.get(&step) {
            None => true,
            Some(k) => match &k.process {
                None => handler::ran_for(k.sig) != k.before,
                Some((status, _)) => !pending(status.as_ref(), k.sig),
            },
        };
        while self.under.contains_key(&step) && !ran(self) && Instant::now() < deadline {
            if let Ok(msg) = self.rx.recv_timeout(LOOK_EVERY) {
                self.take(msg, None);
            }
        }
        let Some((sig, flags)) = self
            .kicks
            .pending
            .get(&step)
            .map(|k| (k.sig, k.process.as_ref().map(|(_, f)| *f)))
        else {
            return;
        };
        let Some(actor) = self.under.get(&step).map(|u| u.actor) else {
            return;
        };
        let Some((row, args)) = self.actors.get(actor).and_then(|a| a.entered()) else {
            return;
        };
        let (rax, mask) = match flags {
            None => handler::last(sig),
            Some(f) if f & (libc::SA_RESTART as u64) != 0 => (row.nr, "[]".into()),
            Some(_) => (-i64::from(libc::EINTR), "[]".into()),
        };
        if rax == -i64::from(libc::EINTR) || row.restart.is_empty() {
            // It returns -1 EINTR: shown when it does.
            while self.under.contains_key(&step) && self.wait_any(deadline) {}
            return;
        }
        // Restarted: asleep in it again (a process actor's, seen in /proc).
        while self.under.contains_key(&step)
            && flags.is_some()
            && !self.actors.get(actor).is_some_and(|a| a.asleep())
            && Instant::now() < deadline
        {
            std::thread::sleep(LOOK_EVERY);
        }
        let Some(k) = self.kicks.pending.remove(&step) else {
            return;
        };
        let Some(name) = self.actors.get(actor).map(|a| a.name.clone()) else {
            return;
        };
        let text = crate::strace::resumed_line(row, &args, &format!("= ? {}", row.restart));
        self.print_task_text(&name, &text, true);
        self.print_task_text(&name, &k.line, false);
        self.print_event(&name, &sigreturn(&mask, Ok(rax)));
        if self.under.contains_key(&step) {
            self.unfinished(step);
        }
    }

    /// Step `id`'s call returned: if a handler interrupted it (-1 EINTR),
    /// the signal's line and rt_sigreturn's after the call's.
    pub(super) fn interrupted(&mut self, id: usize, name: &str, ret: &Result<i64, Errno>) {
        let Some(k) = self.kicks.pending.remove(&id) else {
            self.child_ended(name, ret);
            return;
        };
        if *ret != Err(Errno::EINTR) {
            return;
        }
        let mask = match k.process {
            None => handler::last(k.sig).1,
            Some(_) => "[]".into(),
        };
        self.print_task_text(name, &k.line, false);
        self.print_event(name, &sigreturn(&mask, Err(Errno::EINTR)));
    }

    /// A call of thread actor `name` returned after a SIGCHLD handler of
    /// its ran (the kernel signals the thread that forked a process
    /// actor when it ends; `--model fork`'s record): strace -f's `---
    /// SIGCHLD {...} ---` and `rt_sigreturn({mask=[]}) = RET` after it
    /// (-1 EINTR for the call it interrupted, else what the call returned).
    fn child_ended(&mut self, name: &str, ret: &Result<i64, Errno>) {
        let ran = handler::ran_for(libc::SIGCHLD);
        let forked = self
            .actors
            .iter()
            .any(|a| a.pid.is_some() && a.parent == name);
        if ran == self.kicks.children_shown || !forked || !handler::installed(libc::SIGCHLD) {
            return;
        }
        self.kicks.children_shown = ran;
        let (rax, mask) = handler::last(libc::SIGCHLD);
        let back = match (ret, rax) {
            (Err(Errno::EINTR), _) => Err(Errno::EINTR),
            (_, -4095..=-1) => Err(Errno::from_raw(-rax as i32)),
            _ => Ok(rax),
        };
        self.print_task_text(name, &handler::child_line(), false);
        self.print_event(name, &sigreturn(&mask, back));
    }

    /// An rt_sigaction that installed socklab's handler: say so; a
    /// process actor's is kept (its kill is then watched in /proc).
    pub(super) fn installed(&mut self, step: &Step, actor: usize, ret: &Result<i64, Errno>) {
        if step.row.name != "rt_sigaction" || ret.is_err() {
            return;
        }
        let sig = super::request::signal_at(step, 0).unwrap_or(0);
        let Some(Ok(Req::Handler(_, flags))) = step.args.get(1).map(|a| sigaction(sig, a)) else {
            return;
        };
        let Some(a) = self.actors.get(actor) else {
            return;
        };
        let name = a.name.clone();
        if let Some(pid) = a.pid {
            self.kicks.procs.insert((pid, sig), flags);
        }
        self.print_text(
            &name,
            "# sa_handler: socklab's own handler, which only records that it ran; \
             sa_restorer: socklab's, which makes rt_sigreturn",
        );
    }
}

/// Is `sig` still pending for the process whose /proc status this is?
fn pending(status: Option<&File>, sig: i32) -> bool {
    let Some(f) = status else {
        return false;
    };
    let mut buf = [0u8; 4096];
    let Ok(n) = f.read_at(&mut buf, 0) else {
        return false;
    };
    let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]));
    let bit = 1u64 << (sig - 1).clamp(0, 63);
    text.lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|h| u64::from_str_radix(h, 16).ok())
        .any(|m| m & bit != 0)
}

/// `rt_sigreturn({mask=[]}) = RET`.
pub(super) fn sigreturn(mask: &str, ret: Result<i64, Errno>) -> Owned {
    Owned {
        row: &crate::values::calls::RT_SIGRETURN,
        args: format!("{{mask={mask}}}"),
        ret,
        note: String::new(),
        addr: None,
        start: SystemTime::now(),
        duration: Duration::ZERO,
    }
}
