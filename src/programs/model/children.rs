//! The children of the fork and prefork servers: reaping them, and
//! stopping them after a stop signal (SIGTERM, a bounded wait, SIGKILL).

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::sys::Sys;
use crate::sys::signals;
use crate::values::error::{Error, Result};

/// Reap every child that has ended (`wait4(-1, WNOHANG)` until none).
pub fn reap_ended(sys: &Sys, children: &mut Vec<i32>) -> Result<()> {
    while !children.is_empty() {
        match sys.wait4(-1, true)? {
            Some(r) => children.retain(|&pid| pid != r.pid),
            None => break,
        }
    }
    Ok(())
}

/// How long children have to end after SIGTERM before they get SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// After a stop signal: ask each child to stop, wait for them (bounded),
/// kill those left. A second stop signal cuts the wait short.
/// 1. `rt_sigprocmask(SIG_BLOCK, [CHLD])`: a child's end stays pending
///    for step 3 (no lost wake-up between a wait4 and the wait);
/// 2. `kill(pid, SIGTERM)` each child;
/// 3. until none is left or [`GRACE`] has passed: `wait4(-1, WNOHANG)`
///    for the ended ones, `rt_sigtimedwait([CHLD], time left)`;
/// 4. `kill(pid, SIGKILL)` each child still there (reaped by the caller).
fn stop_children(sys: &Sys, children: &mut Vec<i32>) -> Result<()> {
    // The signal is being acted on; a new one means "now".
    signals::clear();
    sys.rt_sigprocmask_block_chld()?;
    for &pid in children.iter() {
        sys.kill(pid, Signal::SIGTERM)?;
    }
    let deadline = Instant::now() + GRACE;
    loop {
        let waited = reap_ended(sys, children).and_then(|()| {
            if children.is_empty() {
                return Ok(false);
            }
            sys.rt_sigtimedwait_chld(deadline)
        });
        match waited {
            Ok(true) => {}
            Ok(false) => break,
            Err(Error::Signal(_)) => {
                signals::clear();
                break;
            }
            Err(e) => return Err(e),
        }
    }
    for &pid in children.iter() {
        sys.kill(pid, Signal::SIGKILL)?;
    }
    Ok(())
}

/// Wait for every child (`wait4(pid, 0)` each); after a stop signal (in
/// `result`, or arriving while waiting), first [`stop_children`]. Returns
/// `result` (or the stop signal) unless waiting fails.
pub fn reap_all(sys: &Sys, children: &mut Vec<i32>, mut result: Result<()>) -> Result<()> {
    let mut stopped = false;
    loop {
        if !stopped && matches!(result, Err(Error::Signal(_))) {
            stop_children(sys, children)?;
            stopped = true;
        }
        let Some(&pid) = children.first() else {
            return result;
        };
        match sys.wait4(pid, false) {
            Ok(_) => {
                children.remove(0);
            }
            Err(e) if e.errno() == Some(Errno::EINTR) => {}
            // A stop signal while waiting: stop them (above), or, after
            // that, again: SIGKILL was sent, they end now.
            Err(Error::Signal(sig)) => {
                signals::clear();
                if !matches!(result, Err(Error::Signal(_))) {
                    result = Err(Error::Signal(sig));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// How a worker's wait status reads: `exited with status 1`, `was killed
/// by SIGKILL`; None for exit 0.
pub fn abnormal_end(status: i32) -> Option<String> {
    if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        return (code != 0).then(|| format!("exited with status {code}"));
    }
    if libc::WIFSIGNALED(status) {
        let n = libc::WTERMSIG(status);
        let name = Signal::try_from(n).map_or_else(|_| n.to_string(), |s| s.as_str().to_string());
        return Some(format!("was killed by {name}"));
    }
    Some(format!("ended with wait status {status:#x}"))
}

/// After the prefork parent's `wait4` reaped `pid`: strace -f's next line
/// is the SIGCHLD that child's end sent (`si_code=CLD_EXITED` or
/// `CLD_KILLED`/`CLD_DUMPED`); its action is the default, to ignore it,
/// so socklab never sees it and names it in a note.
pub fn sigchld_note(pid: i32, status: i32) -> String {
    let how = if libc::WIFEXITED(status) {
        format!(
            "CLD_EXITED, si_pid={pid}, si_uid=..., si_status={}",
            libc::WEXITSTATUS(status)
        )
    } else {
        let n = libc::WTERMSIG(status);
        let sig = Signal::try_from(n).map_or_else(|_| n.to_string(), |s| s.as_str().to_string());
        let code = if libc::WCOREDUMP(status) {
            "CLD_DUMPED"
        } else {
            "CLD_KILLED"
        };
        format!("{code}, si_pid={pid}, si_uid=..., si_status={sig}")
    };
    format!(
        "# not shown: --- SIGCHLD {{si_signo=SIGCHLD, si_code={how}, si_utime=..., si_stime=...}} --- \
         (strace -f's line here: the kernel sent SIGCHLD at the child's end; its action is the \
         default, to ignore it, so socklab does not see it)"
    )
}
