//! A script's process and signal-mask calls, from a checked step to its
//! request: gettid, geteuid, prctl(PR_SET_PDEATHSIG, SIG),
//! rt_sigprocmask, rt_sigtimedwait, sched_setaffinity(0, ...), alarm:
//! the lines socklab's own trace prints (the fork and prefork servers,
//! `bench --pin`), made as written. prctl and alarm change the whole
//! process: a process actor's only (forks.rs refuses them in a thread
//! actor); a mask and an affinity are the calling thread's.

use super::ast::{Expr, ExprKind};
use super::call::Req;
use super::check::Step;
use super::resolve::{Why, constant, int, len};
use crate::sys::mask_of;
use crate::values::xlat::Group;

/// The argument at `i` (the check made sure there is one; `...` if not).
fn arg(step: &Step, i: usize) -> &Expr {
    static DOTS: Expr = Expr {
        span: super::ast::Span { line: 0, col: 0 },
        kind: ExprKind::Dots,
    };
    step.args.get(i).unwrap_or(&DOTS)
}

/// A signal set as strace prints it, `[CHLD TERM]` (or `[SIGCHLD, 15]`):
/// signals 1 to 31 (the real-time ones are glibc's or unnamed here).
pub(super) fn signal_set(e: &Expr) -> Result<u64, Why> {
    let ExprKind::Array(items) = &e.kind else {
        return Err("a signal set is written as strace prints it: [CHLD TERM]".into());
    };
    let mut sigs = Vec::new();
    for item in items {
        let n = match &item.kind {
            ExprKind::Name(n) if !n.starts_with("SIG") => {
                constant(&format!("SIG{n}"), Some(Group::Sig))?
            }
            _ => int(item, Some(Group::Sig))?,
        };
        if !(1..=31).contains(&n) {
            return Err(format!(
                "signal {n} in a set: a script's sets take the signals 1 to 31"
            ));
        }
        sigs.push(n as i32);
    }
    Ok(mask_of(&sigs))
}

/// A struct's field by name.
fn field<'a>(e: &'a Expr, name: &str) -> Option<&'a Expr> {
    match &e.kind {
        ExprKind::Struct(f) => f
            .iter()
            .find(|x| x.name.as_deref() == Some(name))
            .map(|x| &x.value),
        _ => None,
    }
}

/// `{tv_sec=S, tv_nsec=N}`, or NULL (for ever).
fn timeout(e: &Expr) -> Result<Option<(u64, u64)>, Why> {
    if matches!(e.kind, ExprKind::Null) {
        return Ok(None);
    }
    let num = |name: &str| match field(e, name) {
        Some(v) => u64::try_from(int(v, None)?).map_err(|_| format!("{name} is not negative")),
        None => Err(format!(
            "a timeout is {{tv_sec=S, tv_nsec=N}} or NULL: {name} is missing"
        )),
    };
    let (secs, nanos) = (num("tv_sec")?, num("tv_nsec")?);
    if nanos >= 1_000_000_000 {
        return Err("tv_nsec is below 1000000000".into());
    }
    Ok(Some((secs, nanos)))
}

/// The request of a process or signal-mask call; None: not one of them.
pub fn request(step: &Step) -> Result<Option<Req>, Why> {
    let a = |i: usize| arg(step, i);
    Ok(Some(match step.row.name {
        "gettid" => Req::Getid(false),
        "geteuid" => Req::Getid(true),
        "prctl" => {
            if int(a(0), None)? != i64::from(libc::PR_SET_PDEATHSIG) {
                return Err(
                    "a script's prctl is prctl(PR_SET_PDEATHSIG, SIG) (socklab's one use)".into(),
                );
            }
            Req::PrctlPdeathsig(int(a(1), Some(Group::Sig))? as i32)
        }
        "rt_sigprocmask" => {
            let how = int(a(0), None)? as i32;
            let set = match a(1).kind {
                ExprKind::Null => None,
                _ => Some(signal_set(a(1))?),
            };
            if len(a(3))?.is_some_and(|n| n != 8) {
                return Err("rt_sigprocmask's sigsetsize is the kernel's, 8".into());
            }
            // The old mask is read back when the line writes one.
            let old = !matches!(a(2).kind, ExprKind::Null);
            Req::Sigprocmask(how, set, old)
        }
        "rt_sigtimedwait" => {
            if !matches!(a(1).kind, ExprKind::Null | ExprKind::Dots) {
                return Err(
                    "a script's rt_sigtimedwait takes info NULL: its result names the signal"
                        .into(),
                );
            }
            if len(a(3))?.is_some_and(|n| n != 8) {
                return Err("rt_sigtimedwait's sigsetsize is the kernel's, 8".into());
            }
            Req::Sigtimedwait(signal_set(a(0))?, timeout(a(2))?)
        }
        "sched_setaffinity" => {
            if int(a(0), None)? != 0 {
                return Err(
                    "a script's sched_setaffinity pins its own actor's thread: pid 0".into(),
                );
            }
            let size = len(a(1))?.unwrap_or(128);
            if size == 0 || size > 128 || size % 8 != 0 {
                return Err("sched_setaffinity's cpusetsize is 8 to 128, a multiple of 8".into());
            }
            let ExprKind::Array(items) = &a(2).kind else {
                return Err("the CPUs are written as strace prints them: [0 1]".into());
            };
            let cpus = items
                .iter()
                .map(|e| usize::try_from(int(e, None)?).map_err(|_| "a CPU is 0 or more".into()))
                .collect::<Result<Vec<_>, Why>>()?;
            if let Some(c) = cpus.iter().find(|c| **c >= size * 8) {
                return Err(format!("CPU {c} is past the set's {} bits", size * 8));
            }
            Req::Setaffinity(size, cpus)
        }
        "alarm" => Req::Alarm(
            u32::try_from(int(a(0), None)?).map_err(|_| "alarm's seconds: 0 to 4294967295")?,
        ),
        _ => return Ok(None),
    }))
}
