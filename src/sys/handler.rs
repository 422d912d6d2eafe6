//! A script's signal handler (`rt_sigaction(SIGUSR1, {sa_handler=...,
//! sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=...}, NULL,
//! 8)`): socklab's own, which only records that it ran, and what the
//! interrupted code held (the ucontext's return register: the call's
//! number when the kernel restarts it, SA_RESTART; -EINTR when it does
//! not), so that the script's runner prints what strace -f prints:
//! `= ? ERESTARTSYS`, `--- SIGUSR1 {...} ---`, `rt_sigreturn({mask=[]})
//! = 45` (or `= -1 EINTR`). The restorer is socklab's too (x86-64's
//! kernel needs one: it makes rt_sigreturn; glibc's `__restore_rt` is
//! not exported), so both addresses in the traced line are known.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use super::*;
use crate::strace::ArgVal::{Int, Null, Text};
use crate::values::xlat::{self, Group};

/// SA_RESTORER: sa_restorer is set (x86-64's kernel requires it).
pub const SA_RESTORER: u64 = 0x0400_0000;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const EINTR: AtomicI64 = AtomicI64::new(-(libc::EINTR as i64));
#[allow(clippy::declare_interior_mutable_const)]
const NO: AtomicBool = AtomicBool::new(false);

/// Per signal (1..=64): how many times the handler ran, the return
/// register and the mask its rt_sigreturn restores, whether this
/// process installed it.
static RAN: [AtomicU64; 65] = [ZERO; 65];
static RAX: [AtomicI64; 65] = [EINTR; 65];
static MASK: [AtomicU64; 65] = [ZERO; 65];
static INSTALLED: [AtomicBool; 65] = [NO; 65];
/// The last SIGCHLD's siginfo: si_code, si_pid, si_uid, si_status,
/// si_utime, si_stime.
#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicI64 = AtomicI64::new(0);
static CHILD: [AtomicI64; 6] = [NONE; 6];
/// Every run of the handler, any signal (a call's EINTR then is the
/// script's, not retried: `Sys::call`).
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// The handler: stores only (async-signal-safe, no syscall, so strace
/// shows nothing between `--- SIG ---` and `rt_sigreturn`).
extern "C" fn ran(signo: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = usize::try_from(signo).ok().filter(|&i| i < 65) else {
        return;
    };
    // SAFETY: x86-64's kernel passes the frame's ucontext in the third
    // argument register with or without SA_SIGINFO (it fills uc always,
    // siginfo only with SA_SIGINFO, which is not read here).
    let uc = unsafe { ctx.cast::<libc::ucontext_t>().as_ref() };
    if let Some(uc) = uc {
        // SAFETY: reads of the live ucontext the kernel built.
        let mask = unsafe { std::ptr::read_unaligned((&raw const uc.uc_sigmask).cast::<u64>()) };
        if let Some(m) = MASK.get(i) {
            m.store(mask, Ordering::SeqCst);
        }
        #[cfg(target_arch = "x86_64")]
        {
            let at = &raw const uc.uc_mcontext.gregs[libc::REG_RAX as usize];
            // SAFETY: as above.
            let rax = unsafe { std::ptr::read_unaligned(at) };
            if let Some(r) = RAX.get(i) {
                r.store(rax, Ordering::SeqCst);
            }
        }
    }
    if signo == libc::SIGCHLD
        // SAFETY: with SA_SIGINFO the kernel's siginfo for this delivery
        // (a script's SIGCHLD handler: `--model fork`'s record).
        && let Some(info) = unsafe { _info.as_ref() }
    {
        // SAFETY: a SIGCHLD siginfo: its `_sigchld` fields are set.
        let fields = unsafe {
            [
                i64::from(info.si_code),
                i64::from(info.si_pid()),
                i64::from(info.si_uid()),
                i64::from(info.si_status()),
                info.si_utime(),
                info.si_stime(),
            ]
        };
        for (at, v) in CHILD.iter().zip(fields) {
            at.store(v, Ordering::SeqCst);
        }
    }
    TOTAL.fetch_add(1, Ordering::SeqCst);
    if let Some(n) = RAN.get(i) {
        n.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl socklab_script_restorer",
    "socklab_script_restorer:",
    "mov rax, 15",
    "syscall",
);

#[cfg(target_arch = "x86_64")]
unsafe extern "C" {
    /// rt_sigreturn(2), what a handler returns to (SA_RESTORER).
    fn socklab_script_restorer();
}

/// How many times the handler ran for `sig`.
pub fn ran_for(sig: i32) -> u64 {
    usize::try_from(sig)
        .ok()
        .and_then(|i| RAN.get(i))
        .map_or(0, |n| n.load(Ordering::SeqCst))
}

/// How many times the handler ran, any signal.
pub fn total() -> u64 {
    TOTAL.load(Ordering::SeqCst)
}

/// After an EINTR: make the call again? Not when a script's handler ran
/// since `before` (its EINTR is the script's), nor when a stop signal
/// or a child's exit ends the call (`signals::interrupts`).
pub fn retries(before: u64) -> bool {
    total() == before && !super::signals::interrupts()
}

/// What the interrupted code held when the handler last ran for `sig`
/// (rt_sigreturn's return: the call's number if restarted, -EINTR if
/// not), and the mask rt_sigreturn restores, as strace prints it.
pub fn last(sig: i32) -> (i64, String) {
    let i = usize::try_from(sig).unwrap_or(0);
    let rax = RAX.get(i).map_or(0, |r| r.load(Ordering::SeqCst));
    let mask = MASK.get(i).map_or(0, |m| m.load(Ordering::SeqCst));
    (rax, super::delivered::sigset(mask))
}

/// strace's line for the last SIGCHLD the handler took: `--- SIGCHLD
/// {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, si_uid=0,
/// si_status=0, si_utime=0, si_stime=0} ---`.
pub fn child_line() -> String {
    let [code, pid, uid, status, utime, stime] = CHILD.each_ref().map(|v| v.load(Ordering::SeqCst));
    let (code, status) = match code as i32 {
        libc::CLD_EXITED => ("CLD_EXITED".to_string(), status.to_string()),
        libc::CLD_KILLED => ("CLD_KILLED".into(), xlat::signal_name(status as i32)),
        libc::CLD_DUMPED => ("CLD_DUMPED".into(), xlat::signal_name(status as i32)),
        c => (c.to_string(), status.to_string()),
    };
    format!(
        "--- SIGCHLD {{si_signo=SIGCHLD, si_code={code}, si_pid={pid}, si_uid={uid}, \
         si_status={status}, si_utime={utime}, si_stime={stime}}} ---"
    )
}

/// Whether this process installed the handler for `sig`.
pub fn installed(sig: i32) -> bool {
    usize::try_from(sig)
        .ok()
        .and_then(|i| INSTALLED.get(i))
        .is_some_and(|b| b.load(Ordering::SeqCst))
}

impl Sys {
    /// rt_sigaction(2) installing socklab's handler with the script's
    /// flags and an empty mask, no old action asked for: `rt_sigaction(
    /// SIGUSR1, {sa_handler=0x..., sa_mask=[], sa_flags=SA_RESTORER|
    /// SA_RESTART, sa_restorer=0x...}, NULL, 8)`. The flags must hold
    /// SA_RESTORER (x86-64 only; the caller checks).
    pub fn rt_sigaction_handler(&self, sig: i32, flags: u64) -> Result<()> {
        let r = self.rt_sigaction_own(sig, ran as *const () as usize as u64, flags);
        if r.is_ok()
            && let Some(b) = usize::try_from(sig).ok().and_then(|i| INSTALLED.get(i))
        {
            b.store(true, Ordering::SeqCst);
        }
        r
    }

    /// `--model fork`'s SIGCHLD handler (sys/signals.rs): SA_NOCLDSTOP,
    /// SA_SIGINFO, no SA_RESTART (a child's end interrupts accept4).
    pub(super) fn rt_sigaction_sigchld(&self, handler: u64) -> Result<()> {
        let flags = SA_RESTORER | libc::SA_NOCLDSTOP as u64 | libc::SA_SIGINFO as u64;
        self.rt_sigaction_own(libc::SIGCHLD, handler, flags)
    }

    /// rt_sigaction(2) installing `handler` (one of socklab's: a script's,
    /// or `--model fork`'s SIGCHLD handler, sys/signals.rs) with `flags`,
    /// an empty mask and socklab's restorer, no old action asked for;
    /// traced as strace prints it. The flags must hold SA_RESTORER
    /// (x86-64 only; the caller checks).
    fn rt_sigaction_own(&self, sig: i32, handler: u64, flags: u64) -> Result<()> {
        #[cfg(target_arch = "x86_64")]
        let restorer = socklab_script_restorer as *const () as usize as u64;
        #[cfg(not(target_arch = "x86_64"))]
        let restorer = 0u64;
        // The kernel's struct sigaction on x86-64: handler, flags,
        // restorer, mask (8 bytes of signals).
        let act: [u64; 4] = [handler, flags, restorer, 0];
        self.call(
            Call {
                row: &calls::RT_SIGACTION,
                fd: None,
                unix: false,
            },
            // The handlers only store to atomics (and record the siginfo);
            // the restorer makes rt_sigreturn.
            || super::raw::kernel_sigaction(sig, &act),
            |_| {
                let text = xlat::flags_text(Group::SaFlags, flags as i64);
                let tail = if flags & SA_RESTORER != 0 {
                    format!(", sa_restorer={restorer:#x}")
                } else {
                    String::new()
                };
                let act = format!("{{sa_handler={handler:#x}, sa_mask=[], sa_flags={text}{tail}}}");
                let args = [super::raw::named(Group::Sig, sig), Text(act), Null, Int(8)];
                plain(row_args(&calls::RT_SIGACTION, &args))
            },
        )
        .map(drop)
    }
}
