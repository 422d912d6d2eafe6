//! A signal delivered to a handler of socklab's that was installed with
//! SA_SIGINFO (SIGCHLD in the fork model): the handler keeps the siginfo
//! and the mask the handler's return restores; after the call the signal
//! interrupted (or ended during), `sys` prints strace's two lines:
//! `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, si_uid=0,
//! si_status=0, si_utime=0, si_stime=0} ---` and `rt_sigreturn({mask=[]})
//! = -1 EINTR (Interrupted system call)` (or the call's return value).
//!
//! Every handler of socklab's has SA_SIGINFO (SIGCHLD in the fork model;
//! the stop signals, SIGALRM, SIGUSR1: sys/signals.rs), so each line
//! carries strace's siginfo (`si_code=SI_USER, si_pid=N, si_uid=U` for a
//! kill, `SI_TKILL` for a tgkill, `SI_KERNEL` for alarm's SIGALRM).
//!
//! A signal that lands outside a traced call (in socklab's own code, a
//! pause, a write of its output) is printed before the next traced call
//! of the thread that took it, where strace prints it among the traced
//! calls; its rt_sigreturn returns what the interrupted code held (the
//! ucontext's rax: -1 EINTR after an untraced call it interrupted).
#![allow(clippy::disallowed_methods)]

use std::ffi::c_void;

use crate::values::xlat::signal_name;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};

/// The SIGCHLD fields of x86_64's siginfo_t (the C library's layout:
/// signo, errno, code, then the union's `_sigchld`).
#[repr(C)]
struct ChildInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    pid: i32,
    uid: u32,
    status: i32,
    _pad2: i32,
    utime: i64,
    stime: i64,
}

/// One delivery: its siginfo's fields, the mask its handler's return
/// restores, the return register, and the thread that took it.
struct Slot {
    /// Its order among deliveries (1, 2, ...); 0: empty (or taken).
    seq: AtomicU64,
    /// The thread the handler ran in (its `pthread_self`, read without a
    /// syscall): the slots are the process's, a delivery that thread's.
    thread: AtomicU64,
    signo: AtomicI32,
    code: AtomicI32,
    pid: AtomicI32,
    uid: AtomicU32,
    status: AtomicI32,
    utime: AtomicI64,
    stime: AtomicI64,
    mask: AtomicU64,
    /// What rt_sigreturn returns: the interrupted context's return
    /// register (a syscall's result, -EINTR for an interrupted one;
    /// whatever the code held when the signal came between calls).
    rax: AtomicI64,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    seq: AtomicU64::new(0),
    thread: AtomicU64::new(0),
    signo: AtomicI32::new(0),
    code: AtomicI32::new(0),
    pid: AtomicI32::new(0),
    uid: AtomicU32::new(0),
    status: AtomicI32::new(0),
    utime: AtomicI64::new(0),
    stime: AtomicI64::new(0),
    mask: AtomicU64::new(0),
    rax: AtomicI64::new(-(libc::EINTR as i64)),
};

/// The deliveries not printed yet (a few: two signals between two calls,
/// a SIGTERM and then the SIGALRM its handler arms), oldest first by seq.
static SLOTS: [Slot; 8] = [EMPTY; 8];
static NEXT: AtomicU64 = AtomicU64::new(1);

/// In an SA_SIGINFO handler: keep the siginfo and the mask to restore.
/// Async-signal-safe (atomic stores only).
///
/// # Safety
/// `info` and `ctx` are the handler's second and third arguments.
pub unsafe fn record(info: *const libc::siginfo_t, ctx: *const c_void) {
    if info.is_null() {
        return;
    }
    let seq = NEXT.fetch_add(1, Ordering::SeqCst);
    let Some(slot) = SLOTS.get((seq % SLOTS.len() as u64) as usize) else {
        return;
    };
    slot.seq.store(0, Ordering::SeqCst);
    // SAFETY: the kernel's siginfo_t (128 bytes) starts with these
    // fields for SIGCHLD; ctx is its ucontext_t (or null).
    unsafe {
        let i = &*info.cast::<ChildInfo>();
        slot.signo.store(i.signo, Ordering::SeqCst);
        slot.code.store(i.code, Ordering::SeqCst);
        slot.pid.store(i.pid, Ordering::SeqCst);
        slot.uid.store(i.uid, Ordering::SeqCst);
        slot.status.store(i.status, Ordering::SeqCst);
        slot.utime.store(i.utime, Ordering::SeqCst);
        slot.stime.store(i.stime, Ordering::SeqCst);
        let uc = ctx.cast::<libc::ucontext_t>().as_ref();
        let mask = match uc {
            Some(uc) => std::ptr::read_unaligned((&raw const uc.uc_sigmask).cast::<u64>()),
            None => 0,
        };
        slot.mask.store(mask, Ordering::SeqCst);
        let mut rax = -(libc::EINTR as i64);
        #[cfg(target_arch = "x86_64")]
        if let Some(uc) = uc {
            let at = &raw const uc.uc_mcontext.gregs[libc::REG_RAX as usize];
            rax = std::ptr::read_unaligned(at);
        }
        slot.rax.store(rax, Ordering::SeqCst);
    }
    slot.thread.store(this_thread(), Ordering::SeqCst);
    slot.seq.store(seq, Ordering::SeqCst);
}

/// The calling thread, as a slot holds it (async-signal-safe).
fn this_thread() -> u64 {
    // SAFETY: pthread_self has no preconditions and makes no syscall.
    unsafe { libc::pthread_self() }
}

/// Forget the deliveries kept before a fork (the child's are not the
/// parent's).
pub fn forget() {
    for slot in &SLOTS {
        slot.seq.store(0, Ordering::SeqCst);
    }
}

/// A delivery taken off its slot: strace's `--- ... ---` line, the
/// signal, the mask its handler's return restores, its return register.
pub struct Taken {
    line: String,
    signo: i32,
    mask: u64,
    rax: i64,
}

/// The oldest delivery this thread's handler took and nobody printed yet
/// (taken off); None if none is left.
pub fn take() -> Option<Taken> {
    let me = this_thread();
    let slot = SLOTS
        .iter()
        .filter(|s| s.seq.load(Ordering::SeqCst) != 0 && s.thread.load(Ordering::SeqCst) == me)
        .min_by_key(|s| s.seq.load(Ordering::SeqCst))?;
    if slot.seq.swap(0, Ordering::SeqCst) == 0 {
        return None;
    }
    let signo = slot.signo.load(Ordering::SeqCst);
    let name = signal_name(signo);
    let code = slot.code.load(Ordering::SeqCst);
    let status = slot.status.load(Ordering::SeqCst);
    let (pid, uid) = (
        slot.pid.load(Ordering::SeqCst),
        slot.uid.load(Ordering::SeqCst),
    );
    let line = if signo == libc::SIGCHLD {
        let (code_name, status) = match code {
            1 => ("CLD_EXITED", status.to_string()),
            2 => ("CLD_KILLED", signal_name(status)),
            3 => ("CLD_DUMPED", signal_name(status)),
            4 => ("CLD_TRAPPED", signal_name(status)),
            5 => ("CLD_STOPPED", signal_name(status)),
            6 => ("CLD_CONTINUED", signal_name(status)),
            _ => ("", status.to_string()),
        };
        let code_name = if code_name.is_empty() {
            code.to_string()
        } else {
            code_name.to_string()
        };
        format!(
            "--- {name} {{si_signo={name}, si_code={code_name}, si_pid={pid}, si_uid={uid}, si_status={status}, si_utime={}, si_stime={}}} ---",
            slot.utime.load(Ordering::SeqCst),
            slot.stime.load(Ordering::SeqCst),
        )
    } else {
        sent_by(&name, code, pid, uid)
    };
    Some(Taken {
        line,
        signo,
        mask: slot.mask.load(Ordering::SeqCst),
        rax: slot.rax.load(Ordering::SeqCst),
    })
}

/// `--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=N, si_uid=0} ---`:
/// a signal a process sent (kill: SI_USER, tgkill: SI_TKILL, sigqueue:
/// SI_QUEUE), or the kernel's (`si_code=SI_KERNEL`).
pub(super) fn sent_by(name: &str, code: i32, pid: i32, uid: u32) -> String {
    let code = match code {
        0 => "SI_USER",
        -6 => "SI_TKILL",
        -1 => "SI_QUEUE",
        0x80 => return format!("--- {name} {{si_signo={name}, si_code=SI_KERNEL}} ---"),
        _ => return format!("--- {name} {{si_signo={name}, si_code={code}}} ---"),
    };
    format!("--- {name} {{si_signo={name}, si_code={code}, si_pid={pid}, si_uid={uid}}} ---")
}

/// A signal mask as strace prints it (values::xlat's, one renderer).
pub(super) use crate::values::xlat::signal_set as sigset;

impl super::Sys {
    /// glibc's raise(sig) on this thread, traced, after the signal is
    /// unblocked (`rt_sigprocmask(SIG_UNBLOCK, [TERM], NULL, 8)`: a
    /// blocked signal stays pending and kills nobody); the caller has set
    /// its default action. Then glibc raise's calls: gettid (not traced,
    /// as glibc makes it), getpid, tgkill, made through the traced
    /// wrapper. The signal kills the process on tgkill's way back, so
    /// what strace prints then (tgkill's `= 0`, `--- SIGTERM {si_code=
    /// SI_TKILL, ...} ---`, `+++ killed by SIGTERM +++`) is written just
    /// before the syscall, once the death is certain (unblocked, default
    /// action); a tgkill that returns prints its own line (the real
    /// result) instead. Returns only if the process did not die.
    pub(super) fn die_by(&self, sig: nix::sys::signal::Signal) {
        if self.rt_sigprocmask_unblock(sig).is_err() {
            return;
        }
        let tid = nix::unistd::gettid().as_raw();
        let Ok(pid) = self.getpid() else {
            return;
        };
        let row = &crate::values::calls::TGKILL;
        let args = crate::strace::render(
            row,
            &[
                crate::strace::ArgVal::Int(pid.into()),
                crate::strace::ArgVal::Int(tid.into()),
                crate::strace::ArgVal::Name(sig.as_str()),
            ],
        );
        // The real uid (the kernel's si_uid), from the auxiliary vector.
        // SAFETY: getauxval only reads it.
        let uid = unsafe { libc::getauxval(libc::AT_UID) } as u32;
        let ahead = || {
            let event = crate::strace::Event {
                call: row,
                args: &args,
                ret: &Ok(0),
                ret_note: "",
                addr: None,
                start: std::time::SystemTime::now(),
                duration: std::time::Duration::ZERO,
            };
            self.emit(&event, &mut [None, None]);
            self.tracer.signal(&sent_by(sig.as_str(), -6, pid, uid));
            // The other threads die too: strace -f ends each one's open call.
            // strace -f drops each dead task as it prints its `+++`
            // line: the last one left prints bare.
            let others = self.tracer.others_killed(pid, sig.as_str());
            crate::strace::tasks::ended_with_process(others);
            self.tracer
                .signal(&format!("+++ killed by {} +++", sig.as_str()));
            crate::strace::tasks::died();
        };
        let _ = self.tgkill_traced(pid, tid, sig as i32, ahead);
    }

    /// Before a call: the signals this thread's handlers took since its
    /// last traced call (between calls: in socklab's own code, a pause, a
    /// write of its output), as strace prints them there: `--- SIG...
    /// {...} ---` and `rt_sigreturn({mask=[]}) = RAX`, what the
    /// interrupted code held (-1 EINTR for an untraced call it interrupted).
    pub(super) fn delivered_before(&self) {
        self.print_delivered(None);
    }

    /// After a call: the signals handlers took during it, as strace's two
    /// lines each (the handler's return gives back the call's result).
    pub(super) fn delivered(&self, ret: &std::result::Result<i64, nix::errno::Errno>) {
        self.print_delivered(Some(ret));
    }

    /// The deliveries this thread took, in strace's order. Two signals
    /// pending at once nest: the kernel sets up the first one's frame,
    /// then the second's on top, whose handler runs first (its mask holds
    /// the first signal): strace prints both `---` lines in delivery
    /// order, then the second's rt_sigreturn, then the first's.
    fn print_delivered(&self, call: Option<&std::result::Result<i64, nix::errno::Errno>>) {
        let mut all = Vec::new();
        while let Some(t) = take() {
            all.push(t);
        }
        if !self.tracer.enabled() {
            return;
        }
        let own = |t: &Taken| match t.rax {
            -4095..=-1 => Err(nix::errno::Errno::from_raw(-t.rax as i32)),
            v => Ok(v),
        };
        let ret = |t: &Taken| call.cloned().unwrap_or_else(|| own(t));
        let mut i = 0;
        while let Some(t) = all.get(i) {
            let under = all
                .get(i + 1)
                .filter(|u| (1..=64).contains(&u.signo) && t.mask & (1u64 << (u.signo - 1)) != 0);
            if let Some(u) = under {
                self.tracer.signal(&u.line);
                self.tracer.signal(&t.line);
                self.sigreturn(t.mask, &own(t));
                self.sigreturn(u.mask, &ret(u));
                i += 2;
            } else {
                self.tracer.signal(&t.line);
                self.sigreturn(t.mask, &ret(t));
                i += 1;
            }
        }
    }

    /// A handler's return: `rt_sigreturn({mask=...}) = RET`.
    fn sigreturn(&self, mask: u64, ret: &std::result::Result<i64, nix::errno::Errno>) {
        let row = &crate::values::calls::RT_SIGRETURN;
        let mask = format!("{{mask={}}}", sigset(mask));
        let args = crate::strace::render(row, &[crate::strace::ArgVal::Text(mask)]);
        let event = crate::strace::Event {
            call: row,
            args: &args,
            ret,
            ret_note: "",
            addr: None,
            start: std::time::SystemTime::now(),
            duration: std::time::Duration::ZERO,
        };
        self.emit(&event, &mut [None, None]);
    }
}

#[cfg(test)]
mod tests {
    use super::{record, take};

    #[test]
    fn a_signal_another_thread_took_is_not_this_threads() {
        // A siginfo (128 bytes, 8-aligned; little-endian ints): signo
        // and errno, then code (SI_KERNEL).
        let mut raw = [0u64; 16];
        raw[0] = libc::SIGALRM as u64;
        raw[1] = 0x80;
        let info = |r: &[u64; 16]| r.as_ptr().cast::<libc::siginfo_t>();
        let other = std::thread::spawn(move || {
            // SAFETY: 128 live bytes, as a siginfo; no ucontext.
            unsafe { record(info(&raw), std::ptr::null()) };
        });
        other.join().unwrap();
        assert!(take().is_none(), "another thread's signal taken here");
        // SAFETY: as above.
        unsafe { record(info(&raw), std::ptr::null()) };
        let line = take().unwrap().line;
        assert!(
            line.starts_with("--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL"),
            "{line}"
        );
    }
}
