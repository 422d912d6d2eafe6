//! A script's signal-mask and timer calls, with the arguments its line
//! writes: rt_sigprocmask (any set; the old mask read back when asked),
//! rt_sigtimedwait (any set, a timeout or none), alarm; and the ids a
//! script asks for: gettid, geteuid. Each is the raw syscall on the
//! calling thread (glibc's sigprocmask would drop its own two signals
//! from the set), printed as strace prints it (`[CHLD TERM]`, `~[...]`).
//! The programs' own uses (a SIGCHLD blocked and waited for, a re-raise
//! unblocked) are process.rs's.
#![allow(clippy::disallowed_methods)]

use super::delivered::sigset;
use super::*;
use crate::strace::ArgVal::{Int, Name, Null, Text};

/// A signal set as the kernel takes it: bit `n - 1` for signal `n`.
pub fn mask_of(sigs: &[i32]) -> u64 {
    sigs.iter()
        .filter(|s| (1..=64).contains(*s))
        .fold(0, |m, s| m | 1u64 << (s - 1))
}

impl Sys {
    /// rt_sigprocmask(2) on the calling thread: `how` (SIG_BLOCK,
    /// SIG_UNBLOCK, SIG_SETMASK) with `set` (None: NULL, the mask only
    /// read), the old mask read back when `old` (else NULL). Returns the
    /// old mask (0 when not read).
    pub fn rt_sigprocmask_set(&self, how: i32, set: Option<u64>, old: bool) -> Result<u64> {
        let new = set.unwrap_or(0);
        let got = Cell::new(0u64);
        self.call(
            Call {
                row: &calls::RT_SIGPROCMASK,
                fd: None,
                unix: false,
            },
            || {
                let set_ptr = set.map_or(std::ptr::null(), |_| &raw const new);
                let old_ptr = if old {
                    got.as_ptr()
                } else {
                    std::ptr::null_mut()
                };
                // SAFETY: set_ptr is NULL or a live u64 (the kernel's
                // sigset_t of 8 bytes), old_ptr NULL or a live u64.
                let r = unsafe {
                    libc::syscall(libc::SYS_rt_sigprocmask, how, set_ptr, old_ptr, 8usize)
                };
                Errno::result(r)
            },
            |ret| {
                let how = match how {
                    libc::SIG_BLOCK => Name("SIG_BLOCK"),
                    libc::SIG_UNBLOCK => Name("SIG_UNBLOCK"),
                    libc::SIG_SETMASK => Name("SIG_SETMASK"),
                    other => Int(other.into()),
                };
                let shown = set.map_or(Null, |m| Text(sigset(m)));
                let old = match ret {
                    Ok(_) if old => Text(sigset(got.get())),
                    _ if old => ArgVal::Ptr(got.as_ptr().cast_const().cast()),
                    _ => Null,
                };
                plain(row_args(&calls::RT_SIGPROCMASK, &[how, shown, old, Int(8)]))
            },
        )?;
        Ok(got.get())
    }

    /// rt_sigtimedwait(2): waits for a signal of `set` (blocked in this
    /// thread) until `timeout` (seconds, nanoseconds; None: for ever).
    /// Returns the signal taken; EAGAIN at the timeout.
    pub fn rt_sigtimedwait_set(&self, set: u64, timeout: Option<(u64, u64)>) -> Result<i32> {
        let ts = timeout.map(|(s, ns)| libc::timespec {
            tv_sec: s as libc::time_t,
            tv_nsec: ns as libc::c_long,
        });
        let got = self.call(
            Call {
                row: &calls::RT_SIGTIMEDWAIT,
                fd: None,
                unix: false,
            },
            || {
                let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
                // SAFETY: set is a live u64 (sigset_t of 8 bytes), info
                // NULL, ts_ptr NULL or a live timespec.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_rt_sigtimedwait,
                        &raw const set,
                        std::ptr::null_mut::<libc::siginfo_t>(),
                        ts_ptr,
                        8usize,
                    )
                };
                Errno::result(r)
            },
            |ret| {
                let shown = ts.map_or(Null, |t| {
                    Text(format!("{{tv_sec={}, tv_nsec={}}}", t.tv_sec, t.tv_nsec))
                });
                let args = [Text(sigset(set)), Null, shown, Int(8)];
                Rendered {
                    args: row_args(&calls::RT_SIGTIMEDWAIT, &args),
                    addr: None,
                    note: match ret {
                        Ok(n) => format!("({})", crate::values::xlat::signal_name(*n as i32)),
                        Err(_) => String::new(),
                    },
                }
            },
        )?;
        Ok(got as i32)
    }

    /// alarm(2): SIGALRM to this process in `secs` seconds (0: none);
    /// returns the seconds the previous alarm had left.
    pub fn alarm(&self, secs: u32) -> Result<u32> {
        let left = self.call(
            Call {
                row: &calls::ALARM,
                fd: None,
                unix: false,
            },
            // SAFETY: alarm takes a number and cannot fail.
            || Ok(i64::from(unsafe { libc::alarm(secs) })),
            |_| plain(row_args(&calls::ALARM, &[Int(secs.into())])),
        )?;
        Ok(left as u32)
    }

    /// gettid(2): the calling thread's id.
    pub fn gettid(&self) -> Result<i32> {
        // SAFETY: gettid has no arguments and cannot fail.
        self.no_args(&calls::GETTID, || i64::from(unsafe { libc::gettid() }))
            .map(|tid| tid as i32)
    }

    /// geteuid(2): the effective user id (the untraced one, for socklab's
    /// own checks, is `untraced::geteuid`).
    pub fn geteuid(&self) -> Result<u32> {
        // SAFETY: geteuid has no arguments and cannot fail.
        self.no_args(&calls::GETEUID, || i64::from(unsafe { libc::geteuid() }))
            .map(|uid| uid as u32)
    }

    /// A call with no arguments that cannot fail (getpid, getppid,
    /// gettid, geteuid): `NAME() = N`.
    pub(super) fn no_args(&self, row: &'static Syscall, f: impl Fn() -> i64) -> Result<i64> {
        self.call(
            Call {
                row,
                fd: None,
                unix: false,
            },
            || Ok(f()),
            |_| plain(row_args(row, &[])),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::mask_of;

    #[test]
    fn a_set_is_one_bit_per_signal() {
        assert_eq!(mask_of(&[]), 0);
        assert_eq!(mask_of(&[libc::SIGCHLD]), 1 << 16);
        assert_eq!(mask_of(&[1, 64, 0, 65]), 1 | 1 << 63);
    }
}
