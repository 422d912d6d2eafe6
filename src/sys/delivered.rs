//! A signal delivered to a handler of socklab's that was installed with
//! SA_SIGINFO (SIGCHLD in the fork model): the handler keeps the siginfo
//! and the mask the handler's return restores; after the call the signal
//! interrupted (or ended during), `sys` prints strace's two lines:
//! `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, si_uid=0,
//! si_status=0, si_utime=0, si_stime=0} ---` and `rt_sigreturn({mask=[]})
//! = -1 EINTR (Interrupted system call)` (or the call's return value).
//!
//! A signal that lands outside a traced call (in socklab's own code, or
//! in a write of its output) is not printed: strace prints it there,
//! after a call socklab does not trace, which socklab cannot place.
//! Handlers without SA_SIGINFO (the stop signals, SIGALRM, SIGUSR1) do
//! not know the siginfo, and print nothing.
#![allow(clippy::disallowed_methods)]

use std::ffi::c_void;

use crate::values::xlat::signal_name;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};

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

static FRESH: AtomicBool = AtomicBool::new(false);
/// The thread the handler ran in (its `pthread_self`, read without a
/// syscall): the slot is the process's, the delivery that thread's.
static THREAD: AtomicU64 = AtomicU64::new(0);
static SIGNO: AtomicI32 = AtomicI32::new(0);
static CODE: AtomicI32 = AtomicI32::new(0);
static PID: AtomicI32 = AtomicI32::new(0);
static UID: AtomicU32 = AtomicU32::new(0);
static STATUS: AtomicI32 = AtomicI32::new(0);
static UTIME: AtomicI64 = AtomicI64::new(0);
static STIME: AtomicI64 = AtomicI64::new(0);
static MASK: AtomicU64 = AtomicU64::new(0);

/// In an SA_SIGINFO handler: keep the siginfo and the mask to restore.
/// Async-signal-safe (atomic stores only).
///
/// # Safety
/// `info` and `ctx` are the handler's second and third arguments.
pub unsafe fn record(info: *const libc::siginfo_t, ctx: *const c_void) {
    if info.is_null() {
        return;
    }
    // SAFETY: the kernel's siginfo_t (128 bytes) starts with these
    // fields for SIGCHLD; ctx is its ucontext_t (or null).
    unsafe {
        let i = &*info.cast::<ChildInfo>();
        SIGNO.store(i.signo, Ordering::SeqCst);
        CODE.store(i.code, Ordering::SeqCst);
        PID.store(i.pid, Ordering::SeqCst);
        UID.store(i.uid, Ordering::SeqCst);
        STATUS.store(i.status, Ordering::SeqCst);
        UTIME.store(i.utime, Ordering::SeqCst);
        STIME.store(i.stime, Ordering::SeqCst);
        let mask = match ctx.cast::<libc::ucontext_t>().as_ref() {
            Some(uc) => std::ptr::read_unaligned((&raw const uc.uc_sigmask).cast::<u64>()),
            None => 0,
        };
        MASK.store(mask, Ordering::SeqCst);
    }
    THREAD.store(this_thread(), Ordering::SeqCst);
    FRESH.store(true, Ordering::SeqCst);
}

/// The calling thread, as [`THREAD`] holds it (async-signal-safe).
fn this_thread() -> u64 {
    // SAFETY: pthread_self has no preconditions and makes no syscall.
    unsafe { libc::pthread_self() }
}

/// Whether the signal kept is one this thread's handler took.
fn mine() -> bool {
    THREAD.load(Ordering::SeqCst) == this_thread()
}

/// Forget a signal this thread took before the call about to be made
/// (one another thread took is that thread's to print).
pub fn forget() {
    if mine() {
        FRESH.store(false, Ordering::SeqCst);
    }
}

/// The signal delivered since [`forget`], as strace's `--- ... ---` line
/// and rt_sigreturn's argument (`{mask=[]}`); None if none was.
pub fn take() -> Option<(String, String)> {
    if !mine() || !FRESH.swap(false, Ordering::SeqCst) {
        return None;
    }
    let signo = SIGNO.load(Ordering::SeqCst);
    let name = signal_name(signo);
    let code = CODE.load(Ordering::SeqCst);
    let status = STATUS.load(Ordering::SeqCst);
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
            "--- {name} {{si_signo={name}, si_code={code_name}, si_pid={}, si_uid={}, si_status={status}, si_utime={}, si_stime={}}} ---",
            PID.load(Ordering::SeqCst),
            UID.load(Ordering::SeqCst),
            UTIME.load(Ordering::SeqCst),
            STIME.load(Ordering::SeqCst),
        )
    } else {
        sent_by(
            &name,
            code,
            PID.load(Ordering::SeqCst),
            UID.load(Ordering::SeqCst),
        )
    };
    Some((
        line,
        format!("{{mask={}}}", sigset(MASK.load(Ordering::SeqCst))),
    ))
}

/// A signal's name without `SIG` as strace writes it in sets (`CHLD`,
/// `RTMIN` for 32, `RT_1` for 33).
fn short_name(n: i32) -> String {
    match n {
        32 => "RTMIN".to_string(),
        33..=64 => format!("RT_{}", n - 32),
        _ => nix::sys::signal::Signal::try_from(n).map_or_else(
            |_| n.to_string(),
            |s| s.as_str().trim_start_matches("SIG").to_string(),
        ),
    }
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

/// A signal mask as strace prints it: `[]`, `[CHLD USR1]`, or `~[...]`
/// (the signals not in it) when more than half are.
fn sigset(mask: u64) -> String {
    let names = |m: u64| -> String {
        (1..=64)
            .filter(|n| m & (1u64 << (n - 1)) != 0)
            .map(short_name)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if mask.count_ones() > 32 {
        format!("~[{}]", names(!mask))
    } else {
        format!("[{}]", names(mask))
    }
}

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
            self.tracer
                .signal(&format!("+++ killed by {} +++", sig.as_str()));
        };
        let _ = self.tgkill_traced(pid, tid, sig as i32, ahead);
    }

    /// After a call: a signal a handler took during it, as strace's two
    /// lines (the handler's return gives back the call's result).
    pub(super) fn delivered(&self, ret: &std::result::Result<i64, nix::errno::Errno>) {
        if !self.tracer.enabled() {
            return;
        }
        let Some((line, mask)) = take() else {
            return;
        };
        self.tracer.signal(&line);
        let row = &crate::values::calls::RT_SIGRETURN;
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
    use super::{record, sigset, take};

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
        let (line, _) = take().unwrap();
        assert!(
            line.starts_with("--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL"),
            "{line}"
        );
    }

    #[test]
    fn masks_as_strace_prints_them() {
        assert_eq!(sigset(0), "[]");
        assert_eq!(sigset(1 << 16), "[CHLD]");
        assert_eq!(sigset(!((1 << 31) | (1 << 32))), "~[RTMIN RT_1]");
    }
}
