//! Processes and limits: fork (strace's `clone`), wait4, kill, prctl
//! (PR_SET_PDEATHSIG), getpid, getppid, rt_sigprocmask and rt_sigtimedwait (the
//! `--model fork` and `prefork` servers: a prefork worker ends with its
//! parent; the bounded wait for children after SIGTERM). The event loops'
//! fd limit (prlimit64) is in resources.rs.
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::strace::ArgVal::{Int, Name, Null, Ptr, Text};
use crate::strace::tasks;
use nix::sys::signal::Signal;

/// What `wait4` found: the child's pid and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    pub status: i32,
}

impl Sys {
    /// fork(3): glibc's fork is `clone(child_stack=NULL,
    /// flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD,
    /// child_tidptr=...)`, traced as strace shows it (in the parent; the
    /// child's return is not a line of its own). Returns the child's pid in
    /// the parent and None in the child.
    pub fn fork(&self) -> Result<Option<i32>> {
        let tidptr = if self.renders { child_tidptr() } else { 0 };
        self.each(|o, sys| o.before(sys, &calls::CLONE, None));
        // strace -f's `[pid N]`: the clone line's prefix is the one of
        // now (one task: none); the child counts from its first line.
        let counted = self.count_tasks();
        let flags = Name("CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
        let args = [Null, flags, Ptr(tidptr as *const ())];
        let args = crate::strace::render_named(&calls::CLONE, &args);
        // Its entry, as strace prints it: the child's first line may
        // come before the clone returns (`<unfinished ...>`).
        if self.renders && self.tracer.entries_now() {
            self.tracer.entering(&calls::CLONE, &args);
        }
        if counted {
            tasks::pin();
            tasks::started();
        }
        let start = SystemTime::now();
        let t0 = Instant::now();
        // With --wire a capture thread runs: hold the timeline's locks
        // across the fork, so that the child does not inherit one it held.
        let gate = match self.tracer.timeline() {
            Some(_) if counted => crate::strace::open_line::gate(),
            _ => None,
        };
        let held = self.tracer.hold_for_fork();
        // SAFETY: the only other thread (the --wire capture) holds none of
        // the locks the child uses (held above; malloc's are glibc's to
        // fork); the child only makes syscalls, prints and exits.
        let ret = Errno::result(unsafe { libc::fork() }).map(i64::from);
        drop(held);
        if ret == Ok(0) {
            // `--wire`: the parent's clone line first.
            if let Some(g) = gate {
                g.child();
            }
            tasks::forget_tid();
            super::delivered::forget();
            return Ok(None);
        }
        if counted && ret.is_err() {
            tasks::ended();
        }
        if self.renders {
            let event = Event {
                call: &calls::CLONE,
                args: &args,
                ret: &ret,
                ret_note: "",
                addr: None,
                start,
                duration: t0.elapsed(),
            };
            self.emit(&event, &mut [None, None]);
            self.tracer.forked();
        }
        drop(gate);
        self.each(|o, sys| o.after(sys, &calls::CLONE, None, &ret));
        match ret {
            Ok(pid) => Ok(Some(pid as i32)),
            Err(errno) => Err(Error::sys(
                &calls::CLONE,
                format!("clone({args})"),
                errno,
                false,
            )),
        }
    }

    /// wait4(pid, &status, WNOHANG or 0, NULL): a child that has ended, or
    /// None (WNOHANG and none has).
    pub fn wait4(&self, pid: i32, nohang: bool) -> Result<Option<Reaped>> {
        self.wait4_options(pid, if nohang { libc::WNOHANG } else { 0 })
    }

    /// wait4(pid, &status, options, NULL), the options as given (a
    /// script's line: `WNOHANG|__WALL`), rendered with strace's names.
    pub fn wait4_options(&self, pid: i32, options: i32) -> Result<Option<Reaped>> {
        let status = Cell::new(0 as libc::c_int);
        let got = self.call(
            Call {
                row: &calls::WAIT4,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: status is a live int; rusage may be NULL.
                let r = unsafe { libc::wait4(pid, status.as_ptr(), options, std::ptr::null_mut()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let shown = match ret {
                    Ok(n) if *n > 0 => Text(format!("[{}]", wait_status(status.get()))),
                    _ => Ptr(status.as_ptr().cast_const().cast()),
                };
                let flags = crate::values::xlat::flags_text(
                    crate::values::xlat::Group::Wait,
                    i64::from(options as u32),
                );
                let args = [Int(pid.into()), shown, Text(flags), Null];
                plain(row_args(&calls::WAIT4, &args))
            },
        )?;
        // A child killed by a signal: off the count if it could not
        // take itself off (a re-raise did).
        if got > 0 && libc::WIFSIGNALED(status.get()) {
            tasks::reaped_killed();
        }
        Ok((got > 0).then(|| Reaped {
            pid: got as i32,
            status: status.get(),
        }))
    }

    /// kill(2).
    pub fn kill(&self, pid: i32, sig: nix::sys::signal::Signal) -> Result<()> {
        self.call(
            Call {
                row: &calls::KILL,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: no pointers.
                Errno::result(unsafe { libc::kill(pid, sig as libc::c_int) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::KILL,
                    &[Int(pid.into()), Name(sig.as_str())],
                ))
            },
        )?;
        Ok(())
    }

    /// prctl(PR_SET_PDEATHSIG, sig): the kernel sends `sig` to this process
    /// when its parent ends (a prefork worker, so that none outlives a
    /// killed parent).
    pub fn prctl_set_pdeathsig(&self, sig: nix::sys::signal::Signal) -> Result<()> {
        self.call(
            Call {
                row: &calls::PRCTL,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: PR_SET_PDEATHSIG takes a signal number, no pointer.
                let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong) };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let args = [Name("PR_SET_PDEATHSIG"), Name(sig.as_str())];
                plain(row_args(&calls::PRCTL, &args))
            },
        )?;
        Ok(())
    }

    /// _exit(2) (exit_group), traced: a forked server child's end and a
    /// traced program's (`cli/end.rs`), as strace -f shows it: `exit_group(0) = ?` and `+++ exited with 0
    /// +++`, written just before the syscall (which does not return), so
    /// that a record's process actor ends on that line. No exit(3)
    /// handlers run (`untraced::exit`).
    pub fn exit_group(&self, code: i32) -> ! {
        if self.renders {
            // A signal taken since the last call: strace saw it first.
            self.delivered_before();
            let args = row_args(&calls::EXIT_GROUP, &[Int(code.into())]);
            self.tracer.signal(&format!("exit_group({args}) = ?"));
            // Threads still in a call end with the process (strace -f).
            let others = self
                .tracer
                .others_exited(crate::strace::tasks::process(), code & 0xff);
            crate::strace::tasks::ended_with_process(others);
            self.tracer
                .signal(&format!("+++ exited with {} +++", code & 0xff));
        }
        super::untraced::exit(code)
    }

    /// getpid(2): this process's pid (a prefork parent's, for its workers'
    /// getppid check).
    pub fn getpid(&self) -> Result<i32> {
        // SAFETY: getpid has no arguments and cannot fail.
        self.no_args(&calls::GETPID, || i64::from(unsafe { libc::getpid() }))
            .map(|pid| pid as i32)
    }

    /// getppid(2): the parent's pid (1, or a subreaper's, once it has ended).
    pub fn getppid(&self) -> Result<i32> {
        // SAFETY: getppid has no arguments and cannot fail.
        self.no_args(&calls::GETPPID, || i64::from(unsafe { libc::getppid() }))
            .map(|pid| pid as i32)
    }

    /// sigprocmask(SIG_BLOCK, {SIGCHLD}): strace's `rt_sigprocmask(SIG_BLOCK,
    /// [CHLD], NULL, 8)`. A blocked SIGCHLD stays pending for
    /// [`Sys::rt_sigtimedwait_chld`] (even where its action is to ignore it).
    pub fn rt_sigprocmask_block_chld(&self) -> Result<()> {
        let chld = super::sigsets::mask_of(&[libc::SIGCHLD]);
        self.rt_sigprocmask_set(libc::SIG_BLOCK, Some(chld), false)
            .map(drop)
    }

    /// sigprocmask(SIG_UNBLOCK, {sig}): `rt_sigprocmask(SIG_UNBLOCK,
    /// [TERM], NULL, 8)`, before a re-raise (a blocked signal would not
    /// kill: see `Sys::die_by`).
    pub fn rt_sigprocmask_unblock(&self, sig: Signal) -> Result<()> {
        let set = super::sigsets::mask_of(&[sig as i32]);
        self.rt_sigprocmask_set(libc::SIG_UNBLOCK, Some(set), false)
            .map(drop)
    }

    /// The kernel's rt_sigprocmask(SIG_SETMASK, &set, &old, 8), not
    /// glibc's (which would leave out its own SIGRTMIN and SIGRT_1 for
    /// the caller): `rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], [], 8) =
    /// 0`. Returns the old mask. The `--wire` capture's thread starts with
    /// every signal blocked this way (a new thread inherits the mask).
    pub fn rt_sigprocmask_setmask(&self, set: u64) -> Result<u64> {
        self.rt_sigprocmask_set(libc::SIG_SETMASK, Some(set), true)
    }

    /// sigtimedwait({SIGCHLD}, NULL, &timeout): strace's
    /// `rt_sigtimedwait([CHLD], NULL, {tv_sec=1, tv_nsec=0}, 8) = 17 (SIGCHLD)`.
    /// Waits (SIGCHLD blocked) until a child ends or `deadline` passes:
    /// true if a child ended, false at the deadline (EAGAIN). Retried after
    /// an EINTR with the time left, so the deadline holds.
    pub fn rt_sigtimedwait_chld(&self, deadline: Instant) -> Result<bool> {
        let mut set = nix::sys::signal::SigSet::empty();
        set.add(nix::sys::signal::Signal::SIGCHLD);
        // The time left is read before the call: its `<unfinished ...>`
        // line (rendered at the entry) shows it, as strace does.
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
        };
        let got = self.call(
            Call {
                row: &calls::RT_SIGTIMEDWAIT,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: set and ts are live; info may be NULL.
                let r = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
                Errno::result(r).map(i64::from)
            },
            |ret| Rendered {
                args: row_args(
                    &calls::RT_SIGTIMEDWAIT,
                    &[
                        Text("[CHLD]".to_string()),
                        Null,
                        Text(format!("{{tv_sec={}, tv_nsec={}}}", ts.tv_sec, ts.tv_nsec)),
                        Int(8),
                    ],
                ),
                addr: None,
                note: match ret {
                    Ok(n) if *n == libc::SIGCHLD as i64 => "(SIGCHLD)".to_string(),
                    _ => String::new(),
                },
            },
        );
        match got {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(Errno::EAGAIN) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// glibc's fork passes `&THREAD_SELF->tid` as child_tidptr: the address,
/// inside this thread's `struct pthread`, of the int that holds its tid.
fn child_tidptr() -> usize {
    // SAFETY: pthread_self has no preconditions.
    super::threads::tid_address(unsafe { libc::pthread_self() })
}

/// `{WIFEXITED(s) && WEXITSTATUS(s) == 0}`, as strace prints a wait status.
fn wait_status(s: i32) -> String {
    if libc::WIFEXITED(s) {
        format!(
            "{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}",
            libc::WEXITSTATUS(s)
        )
    } else if libc::WIFSIGNALED(s) {
        let sig = nix::sys::signal::Signal::try_from(libc::WTERMSIG(s)).map_or_else(
            |_| libc::WTERMSIG(s).to_string(),
            |s| s.as_str().to_string(),
        );
        let core = if libc::WCOREDUMP(s) {
            " && WCOREDUMP(s)"
        } else {
            ""
        };
        format!("{{WIFSIGNALED(s) && WTERMSIG(s) == {sig}{core}}}")
    } else {
        format!("{{s={s:#x}}}")
    }
}

/// A counter shared by this process and the children it forks (an
/// anonymous shared mapping): `prefork:N`'s connections across workers.
/// mmap is memory management, not traced (as a Vec's allocation is not).
pub fn shared_counter() -> Result<&'static std::sync::atomic::AtomicU64> {
    // SAFETY: a fresh anonymous mapping of 8 zeroed bytes, page-aligned,
    // never unmapped: a valid &'static AtomicU64 (all zero bits are 0).
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            size_of::<u64>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(Error::Runtime(format!(
                "mmap of a shared counter: {}",
                strace::errno_text(Errno::last())
            )));
        }
        Ok(&*(p as *const std::sync::atomic::AtomicU64))
    }
}
