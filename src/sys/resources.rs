//! A process's resources: its CPU time (getrusage) and the CPU it runs on
//! (sched_setaffinity). `socklab bench` uses both; the descriptor limit
//! (prlimit64) is in process.rs.
#![allow(clippy::disallowed_methods)]

use super::*;

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
        // SAFETY: a zeroed cpu_set_t is an empty set.
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        // SAFETY: CPU_SET writes one bit of the live set (cpu is checked by the caller).
        unsafe { libc::CPU_SET(cpu, &mut set) };
        let size = size_of::<libc::cpu_set_t>();
        self.call(
            Call {
                row: &calls::SCHED_SETAFFINITY,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: set is a live cpu_set_t of `size` bytes.
                Errno::result(unsafe { libc::sched_setaffinity(0, size, &set) }).map(i64::from)
            },
            |_| {
                let mask = ArgVal::Text(format!("[{cpu}]"));
                let args = [ArgVal::Int(0), ArgVal::Int(size as i64), mask];
                plain(row_args(&calls::SCHED_SETAFFINITY, &args))
            },
        )?;
        Ok(())
    }
}
