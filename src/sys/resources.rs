//! A process's resources: its CPU time (getrusage) and the CPU it runs on
//! (sched_setaffinity), which `socklab bench` uses; its descriptor limit
//! (prlimit64), which the event loops raise.
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::strace::ArgVal::{Int, Name, Null, Ptr, Text};

/// CPU time of this process, as getrusage(RUSAGE_SELF) reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    pub user: f64,
    pub system: f64,
}

impl Sys {
    /// getrusage(RUSAGE_SELF): this process's user and system CPU seconds.
    pub fn getrusage(&self) -> Result<CpuTime> {
        // SAFETY: a zeroed rusage is valid.
        let mut ru: libc::rusage = unsafe { zeroed() };
        let ru_ptr: *mut libc::rusage = &mut ru;
        self.call(
            Call {
                row: &calls::GETRUSAGE,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ru_ptr points to a live rusage.
                Errno::result(unsafe { libc::getrusage(libc::RUSAGE_SELF, ru_ptr) })
                    .map(i64::from)
            },
            |_| {
                // SAFETY: the call has returned; the kernel no longer writes to ru.
                let ru = unsafe { &*ru_ptr };
                let usage = format!(
                    "{{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
                    ru.ru_utime.tv_sec, ru.ru_utime.tv_usec, ru.ru_stime.tv_sec, ru.ru_stime.tv_usec
                );
                let args = [ArgVal::Name("RUSAGE_SELF"), ArgVal::Text(usage)];
                plain(row_args(&calls::GETRUSAGE, &args))
            },
        )?;
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Ok(CpuTime {
            user: secs(ru.ru_utime),
            system: secs(ru.ru_stime),
        })
    }

    /// sched_setaffinity(0, ...): run this process on CPU `cpu` only.
    pub fn sched_setaffinity(&self, cpu: usize) -> Result<()> {
        let size = size_of::<libc::cpu_set_t>();
        self.sched_setaffinity_cpus(size, &[cpu])
    }

    /// sched_setaffinity(0, size, cpus): the calling thread runs on these
    /// CPUs only; `size` bytes of the set are passed (at most a
    /// cpu_set_t's 128; CPUs past it or past CPU_SETSIZE are left out).
    pub fn sched_setaffinity_cpus(&self, size: usize, cpus: &[usize]) -> Result<()> {
        // SAFETY: a zeroed cpu_set_t is an empty set.
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        let size = size.min(size_of::<libc::cpu_set_t>());
        for &cpu in cpus.iter().filter(|c| **c < size * 8) {
            // SAFETY: CPU_SET writes one bit of the live set (cpu < its bits).
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        self.call(
            Call {
                row: &calls::SCHED_SETAFFINITY,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: set is a live cpu_set_t of at least `size` bytes.
                Errno::result(unsafe { libc::sched_setaffinity(0, size, &set) }).map(i64::from)
            },
            |_| {
                let all: Vec<String> = (0..size * 8)
                    // SAFETY: CPU_ISSET reads one bit of the live set.
                    .filter(|c| unsafe { libc::CPU_ISSET(*c, &set) })
                    .map(|c| c.to_string())
                    .collect();
                let mask = ArgVal::Text(format!("[{}]", all.join(" ")));
                let args = [ArgVal::Int(0), ArgVal::Int(size as i64), mask];
                plain(row_args(&calls::SCHED_SETAFFINITY, &args))
            },
        )?;
        Ok(())
    }

    /// getrlimit(RLIMIT_NOFILE): glibc's `prlimit64(0, RLIMIT_NOFILE, NULL, ...)`.
    /// Returns (soft, hard).
    pub fn prlimit64_get_nofile(&self) -> Result<(u64, u64)> {
        let lim = Cell::new(libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        });
        self.call(
            Call {
                row: &calls::PRLIMIT64,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: lim is a live rlimit64.
                let r = unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, lim.as_ptr()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let l = lim.get();
                let shown = match ret {
                    Ok(_) => Text(rlim(&l)),
                    Err(_) => Ptr(lim.as_ptr().cast_const().cast()),
                };
                let args = [Int(0), Name("RLIMIT_NOFILE"), Null, shown];
                plain(row_args(&calls::PRLIMIT64, &args))
            },
        )?;
        let l = lim.get();
        Ok((l.rlim_cur, l.rlim_max))
    }

    /// setrlimit(RLIMIT_NOFILE): glibc's `prlimit64(0, RLIMIT_NOFILE, {...}, NULL)`.
    pub fn prlimit64_set_nofile(&self, soft: u64, hard: u64) -> Result<()> {
        let lim = libc::rlimit64 {
            rlim_cur: soft,
            rlim_max: hard,
        };
        self.call(
            Call {
                row: &calls::PRLIMIT64,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: lim is a live rlimit64.
                let r = unsafe { libc::setrlimit64(libc::RLIMIT_NOFILE, &lim) };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let new = Text(rlim(&lim));
                let args = [Int(0), Name("RLIMIT_NOFILE"), new, Null];
                plain(row_args(&calls::PRLIMIT64, &args))
            },
        )?;
        Ok(())
    }
}

/// `{rlim_cur=20000, rlim_max=8192*1024}`, as strace prints limits.
fn rlim(l: &libc::rlimit64) -> String {
    fn one(v: u64) -> String {
        if v == libc::RLIM64_INFINITY {
            "RLIM64_INFINITY".to_string()
        } else if v > 1024 && v.is_multiple_of(1024) {
            format!("{}*1024", v / 1024)
        } else {
            v.to_string()
        }
    }
    format!(
        "{{rlim_cur={}, rlim_max={}}}",
        one(l.rlim_cur),
        one(l.rlim_max)
    )
}
