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

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;

use super::actors::Owned;
use super::ast::{Expr, ExprKind};
use super::call::Req;
use super::check::Step;
use super::request::{fields, get};
use super::resolve::{Why, int};
use super::run::{LOOK_EVERY, Runner};
use crate::sys::handler;
use crate::values::xlat::{Group, signal_name};

/// The signals a thread actor's handler would take from socklab itself:
/// its stop signals (it must stay killable), SIGCHLD (process actors'
/// ends), SIGALRM.
const SOCKLABS: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR2,
    libc::SIGCHLD,
    libc::SIGALRM,
];

/// The request of an `rt_sigaction(SIG, ACT, NULL, 8)` line: SIG_DFL,
/// SIG_IGN, or socklab's handler with the line's sa_flags.
pub(super) fn sigaction(sig: i32, act: &Expr) -> Result<Req, Why> {
    let f = fields(act);
    match get(f, "sa_handler").map(|e| &e.kind) {
        Some(ExprKind::Name(n)) if n == "SIG_DFL" => return Ok(Req::Sigaction(sig, true)),
        Some(ExprKind::Name(n)) if n == "SIG_IGN" => return Ok(Req::Sigaction(sig, false)),
        Some(ExprKind::Int(_) | ExprKind::Dots) => {}
        _ => {
            return Err(
                "rt_sigaction's sa_handler: SIG_DFL, SIG_IGN, or a handler (an \
                        address or `...`: socklab's own, which only records that it ran)"
                    .into(),
            );
        }
    }
    match get(f, "sa_mask").map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => {}
        Some(ExprKind::Array(v)) if v.is_empty() => {}
        _ => return Err("a script's handler takes sa_mask=[]".into()),
    }
    let flags = get(f, "sa_flags").map_or(Ok(0), |e| int(e, Some(Group::SaFlags)))? as u64;
    if !cfg!(target_arch = "x86_64") {
        return Err("a script's handler is made on x86-64 only".into());
    }
    if flags & handler::SA_RESTORER == 0 {
        return Err(
            "x86-64's kernel returns from a handler through sa_restorer: write \
                    sa_flags=SA_RESTORER|... (glibc's sigaction adds it; socklab's \
                    restorer makes rt_sigreturn)"
                .into(),
        );
    }
    Ok(Req::Handler(sig, flags))
}

/// Why a thread actor cannot make this rt_sigaction (None: it can).
pub(super) fn in_thread(step: &Step) -> Option<String> {
    let sig = super::request::signal_at(step, 0).unwrap_or(0);
    match step.args.get(1).map(|a| sigaction(sig, a)) {
        Some(Ok(Req::Handler(..))) if SOCKLABS.contains(&sig) => Some(format!(
            "a handler for {} in a thread actor would be socklab's own: make it in a process \
             actor (NAME = fork())",
            signal_name(sig)
        )),
        Some(Ok(Req::Handler(..)) | Err(_)) => None,
        _ => Some(
            "rt_sigaction with SIG_DFL or SIG_IGN changes every thread's disposition \
             (socklab's own too): make it in a process actor (NAME = fork()), or install \
             a handler ({sa_handler=..., ...})"
                .into(),
        ),
    }
}

/// A signal sent to an actor asleep in step `step`'s call, whose
/// handler will run.
pub(super) struct Kick {
    sig: i32,
    /// strace's `--- SIG {...} ---` line.
    line: String,
    /// The handler's runs before (a thread actor's).
    before: u64,
    /// A process actor's /proc status (its pending signals) and flags.
    process: Option<(Option<File>, u64)>,
}

/// The signals under way to handlers, and process actors' handlers.
#[derive(Default)]
pub(super) struct Kicks {
    pending: BTreeMap<usize, Kick>,
    /// (pid, signal) -> sa_flags of a process actor's handler.
    procs: BTreeMap<(i32, i32), u64>,
}

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
        let cut = crate::strace::entry_len(row, &args).min(args.len());
        let rest = args.get(cut..).unwrap_or("").trim_start_matches(", ");
        let text = format!("<... {} resumed>{rest}) = ? {}", row.name, row.restart);
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
fn sigreturn(mask: &str, ret: Result<i64, Errno>) -> Owned {
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
