//! The calls `socklab bench` makes besides the socket calls: poll over
//! many sockets, getrusage, sched_setaffinity, prlimit64.
#![allow(clippy::disallowed_methods)]

use super::*;

/// CPU time of this process, as getrusage(RUSAGE_SELF) reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    pub user: f64,
    pub system: f64,
}

impl Sys {
    /// poll(2) on many sockets; `fds` carry fd and events in, revents out.
    /// Returns how many have revents (0 on timeout).
    pub fn poll_many(&self, fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize> {
        let ptr = fds.as_mut_ptr();
        let n = fds.len();
        let n = self.call(
            Call {
                name: "poll",
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ptr/n describe the caller's live pollfd array.
                let r = unsafe { libc::poll(ptr, n as libc::nfds_t, timeout_ms) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to fds.
                let fds = unsafe { std::slice::from_raw_parts(ptr, n) };
                let show = |f: &libc::pollfd, v: libc::c_short, what: &str| {
                    format!("{{fd={}, {what}={}}}", f.fd, poll_bits(v))
                };
                let args: Vec<String> = fds
                    .iter()
                    .take(32)
                    .map(|f| show(f, f.events, "events"))
                    .collect();
                let more = if n > 32 { ", ..." } else { "" };
                let note = match ret {
                    Ok(0) => "(Timeout)".to_string(),
                    Ok(_) => {
                        let ready: Vec<String> = fds
                            .iter()
                            .filter(|f| f.revents != 0)
                            .take(32)
                            .map(|f| show(f, f.revents, "revents"))
                            .collect();
                        format!("([{}])", ready.join(", "))
                    }
                    Err(_) => String::new(),
                };
                Rendered {
                    args: format!("[{}{more}], {n}, {timeout_ms}", args.join(", ")),
                    note,
                }
            },
        )?;
        Ok(n as usize)
    }

    /// getrusage(RUSAGE_SELF): this process's user and system CPU seconds.
    pub fn getrusage(&self) -> Result<CpuTime> {
        // SAFETY: a zeroed rusage is valid.
        let mut ru: libc::rusage = unsafe { zeroed() };
        let ru_ptr: *mut libc::rusage = &mut ru;
        self.call(
            Call {
                name: "getrusage",
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
                plain(format!(
                    "RUSAGE_SELF, {{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
                    ru.ru_utime.tv_sec, ru.ru_utime.tv_usec, ru.ru_stime.tv_sec, ru.ru_stime.tv_usec
                ))
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
                name: "sched_setaffinity",
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: set is a live cpu_set_t of `size` bytes.
                Errno::result(unsafe { libc::sched_setaffinity(0, size, &set) }).map(i64::from)
            },
            |_| plain(format!("0, {size}, [{cpu}]")),
        )?;
        Ok(())
    }

    /// prlimit64(0, RLIMIT_NOFILE, {soft=hard}): raise the soft limit on
    /// open files to the hard one (thousands of connections). Returns it.
    pub fn raise_nofile(&self) -> Result<u64> {
        // SAFETY: a zeroed rlimit is valid.
        let mut old: libc::rlimit64 = unsafe { zeroed() };
        let old_ptr: *mut libc::rlimit64 = &mut old;
        self.call(
            Call {
                name: "prlimit64",
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: old_ptr points to a live rlimit64; NULL new limit only reads.
                Errno::result(unsafe {
                    libc::prlimit64(0, libc::RLIMIT_NOFILE, std::ptr::null(), old_ptr)
                })
                .map(i64::from)
            },
            |_| {
                // SAFETY: the call has returned.
                let old = unsafe { &*old_ptr };
                plain(format!(
                    "0, RLIMIT_NOFILE, NULL, {{rlim_cur={}, rlim_max={}}}",
                    old.rlim_cur, old.rlim_max
                ))
            },
        )?;
        if old.rlim_cur >= old.rlim_max {
            return Ok(old.rlim_cur);
        }
        let new = libc::rlimit64 {
            rlim_cur: old.rlim_max,
            rlim_max: old.rlim_max,
        };
        self.call(
            Call {
                name: "prlimit64",
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: new is a live rlimit64; NULL old limit.
                Errno::result(unsafe {
                    libc::prlimit64(0, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut())
                })
                .map(i64::from)
            },
            |_| {
                plain(format!(
                    "0, RLIMIT_NOFILE, {{rlim_cur={}, rlim_max={}}}, NULL",
                    new.rlim_cur, new.rlim_max
                ))
            },
        )?;
        Ok(new.rlim_cur)
    }
}

/// `POLLIN|POLLOUT`, in strace's bit order.
fn poll_bits(v: libc::c_short) -> String {
    const NAMES: [(libc::c_short, &str); 6] = [
        (libc::POLLIN, "POLLIN"),
        (libc::POLLPRI, "POLLPRI"),
        (libc::POLLOUT, "POLLOUT"),
        (libc::POLLERR, "POLLERR"),
        (libc::POLLHUP, "POLLHUP"),
        (libc::POLLNVAL, "POLLNVAL"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| v & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "0".to_string()
    } else {
        names.join("|")
    }
}
