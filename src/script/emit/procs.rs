//! Issue 17's twins of the process and signal-mask lines (script/procs.rs):
//! geteuid, prctl(PR_SET_PDEATHSIG, SIG), rt_sigprocmask,
//! rt_sigtimedwait, sched_setaffinity and alarm (gettid is own.rs's, a
//! pid label). C: glibc's geteuid(), prctl(), sigprocmask(),
//! sigtimedwait(), sched_setaffinity() and alarm() make the very line
//! (strace -f; sigsetsize 8, the line's cpusetsize). Python: os.geteuid(),
//! signal.alarm() and signal.pthread_sigmask() (a set and an old mask
//! both written: it always passes both) make the same line, and libc's
//! prctl() through ctypes (the standard library has none); the rest is
//! refused with its reason.

use super::super::check::Step;
use super::super::resolve::Why;
use super::super::{ast::ExprKind, call::Req};
use super::model::{Proc, Want};

/// The call of `step`; None: not one of this module's.
pub fn op(step: &Step) -> Result<Option<Proc>, Why> {
    Ok(Some(match super::super::procs::request(step)? {
        Some(Req::Getid(true)) => Proc::Euid,
        Some(Req::PrctlPdeathsig(sig)) => Proc::Pdeathsig(sig),
        Some(Req::Sigprocmask(how, set, old)) => {
            let written = match step.args.get(2) {
                Some(e) if old && matches!(e.kind, ExprKind::Array(_)) => {
                    Some(super::super::procs::signal_set(e)?)
                }
                _ => None,
            };
            Proc::Mask(how, set, old.then_some(written))
        }
        Some(Req::Sigtimedwait(set, timeout)) => Proc::Wait(set, timeout),
        Some(Req::Setaffinity(size, cpus)) => Proc::Affinity(size, cpus),
        Some(Req::Alarm(secs)) => Proc::Alarm(secs),
        _ => return Ok(None),
    }))
}

/// `how` as written.
fn how(n: i32) -> &'static str {
    match n {
        libc::SIG_BLOCK => "SIG_BLOCK",
        libc::SIG_UNBLOCK => "SIG_UNBLOCK",
        _ => "SIG_SETMASK",
    }
}

/// The signals of a mask (bit n-1: signal n).
fn signals(mask: u64) -> Vec<u32> {
    (1..=64).filter(|s| mask & (1u64 << (s - 1)) != 0).collect()
}

/// The C statement of a line of this module.
pub fn c(line: usize, p: &Proc) -> String {
    match p {
        Proc::Euid => "r = geteuid();".into(),
        Proc::Pdeathsig(sig) => format!("r = prctl(PR_SET_PDEATHSIG, {sig});"),
        Proc::Mask(h, set, old) => {
            let (pre, s) = match set {
                Some(m) => (format!("sigset_t ms; SigSet(&ms, {m:#x}UL); "), "&ms"),
                None => (String::new(), "NULL"),
            };
            let (decl, o, check) = match old {
                Some(Some(m)) => (
                    "sigset_t mo; ",
                    "&mo",
                    format!(" if (r == 0) {{ MaskIs({line}, &mo, {m:#x}UL); }}"),
                ),
                Some(None) => ("sigset_t mo; ", "&mo", String::new()),
                None => ("", "NULL", String::new()),
            };
            format!("{pre}{decl}r = sigprocmask({}, {s}, {o});{check}", how(*h))
        }
        Proc::Wait(set, timeout) => {
            let (pre, t) = match timeout {
                Some((s, ns)) => (format!("struct timespec ts = {{{s}, {ns}}}; "), "&ts"),
                None => (String::new(), "NULL"),
            };
            format!("sigset_t ws; SigSet(&ws, {set:#x}UL); {pre}r = sigtimedwait(&ws, NULL, {t});")
        }
        Proc::Affinity(size, cpus) => {
            let set: String = cpus
                .iter()
                .map(|c| format!(" CPU_SET({c}, &cs);"))
                .collect();
            format!("cpu_set_t cs; CPU_ZERO(&cs);{set} r = sched_setaffinity(0, {size}, &cs);")
        }
        Proc::Alarm(secs) => format!("r = alarm({secs});"),
    }
}

/// Why a line is refused in Python (`--emit python --explain` too).
pub const PYTHON_REFUSED: &[(&str, &str)] = &[
    (
        "rt_sigtimedwait",
        "Python's signal.sigtimedwait passes a siginfo where the line has NULL and retries after EINTR (PEP 475)",
    ),
    (
        "sched_setaffinity",
        "Python's os.sched_setaffinity passes its own cpusetsize, not the line's",
    ),
    (
        "rt_sigprocmask",
        "with a set or an old mask NULL: Python's signal.pthread_sigmask always passes both",
    ),
];

/// The Python statement of a line of this module, or why it is refused.
pub fn python(line: usize, p: &Proc, want: &Want) -> Result<String, Why> {
    let refused = |name: &str| {
        let why = PYTHON_REFUSED
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, w)| *w);
        Err(format!("{name} is not emitted in Python: {why}"))
    };
    let (call, then) = match p {
        Proc::Euid => ("os.geteuid()".to_string(), String::new()),
        Proc::Alarm(secs) => (format!("signal.alarm({secs})"), String::new()),
        Proc::Mask(h, Some(set), Some(old)) => {
            let check = old.map_or(String::new(), |m| {
                format!("; mask_is({line}, old, {:?})", signals(m))
            });
            (
                format!(
                    "signal.pthread_sigmask(signal.{}, {:?})",
                    how(*h),
                    signals(*set)
                ),
                format!("; r = 0{check}"),
            )
        }
        Proc::Mask(..) => return refused("rt_sigprocmask"),
        Proc::Wait(..) => return refused("rt_sigtimedwait"),
        Proc::Affinity(..) => return refused("sched_setaffinity"),
        // The standard library has no prctl: libc's (strace shows
        // PR_SET_PDEATHSIG's option and signal only).
        Proc::Pdeathsig(sig) => (
            format!(
                "ctypes.CDLL(None, use_errno=True).prctl(1, {})",
                match crate::values::xlat::signal_name(*sig) {
                    n if n.starts_with("SIG") => format!("int(signal.{n})"),
                    _ => sig.to_string(),
                }
            ),
            String::new(),
        ),
    };
    if let Proc::Pdeathsig(_) = p {
        let check = match want {
            Want::Errno(e) => {
                format!("want({line}, ctypes.get_errno() if r < 0 else 0, errno.{e})")
            }
            _ => format!("want({line}, r, 0)"),
        };
        return Ok(format!(
            "import ctypes; r = {call}; {check}  # Python: libc's, through ctypes"
        ));
    }
    let assign = if then.is_empty() { "r" } else { "old" };
    Ok(match want {
        Want::Errno(e) => format!("want_errno({line}, errno.{e}, lambda: {call})"),
        Want::Value(n) => format!("{assign} = {call}{then}; want({line}, r, {n})"),
        _ => format!("{assign} = {call}{then}"),
    })
}
