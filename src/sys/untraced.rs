//! The calls socklab makes without a trace line of their own, each named
//! in the call table (`traced: false`): the C library's `pthread_create`
//! (glibc's clone3), `pthread_join` and `pthread_detach`; `_exit`
//! (exit_group); `geteuid`; `sysconf` (no syscall: glibc answers
//! `_SC_CLK_TCK` from the auxiliary vector); the SIGPIPE disposition of a
//! lab's child (rt_sigaction); a thread's signal mask (rt_sigprocmask);
//! gettid; the `--trace-file`'s O_NONBLOCK (fcntl); a script runner's
//! /proc files moved above the fds a script gets (fcntl F_DUPFD_CLOEXEC);
//! getegid for a script's SCM_CREDENTIALS; a script's pipes to its
//! process actors (pipe2, close, waitid WNOWAIT, getpid). Their syscalls are glibc's or come after the
//! trace would end; socklab does not print them, as the C twins do not.
#![allow(clippy::disallowed_methods)]

use std::ffi::c_void;
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};

use crate::values::calls;
use crate::values::error::{Error, Result};

/// A thread's start routine, as pthread_create(3) takes it.
pub type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;

/// pthread_create(3) with the default attributes (glibc's clone3): the new
/// thread's id. A failure is the errno it returns: `pthread_create: EAGAIN`.
///
/// # Safety
/// `start` must be sound to run on a new thread with `arg`, which it owns
/// from here on when this returns Ok (the caller keeps it on Err).
pub unsafe fn pthread_create(start: StartRoutine, arg: *mut c_void) -> Result<libc::pthread_t> {
    // SAFETY: a zeroed pthread_t is a valid place for the new id.
    let mut id: libc::pthread_t = unsafe { std::mem::zeroed() };
    // SAFETY: the caller vouches for `start` and `arg`; NULL attributes are
    // the defaults.
    let rc = unsafe { libc::pthread_create(&mut id, std::ptr::null(), start, arg) };
    if rc != 0 {
        return Err(Error::Lib {
            func: "pthread_create",
            call: &calls::PTHREAD_CREATE,
            errno: Errno::from_raw(rc),
        });
    }
    Ok(id)
}

/// pthread_join(3): wait for a thread of ours to end (its result is left
/// where the thread put it).
///
/// # Safety
/// `id` is a joinable thread of this process, joined or detached only once.
pub unsafe fn pthread_join(id: libc::pthread_t) {
    // SAFETY: the caller vouches for `id`; we take no return value.
    unsafe { libc::pthread_join(id, std::ptr::null_mut()) };
}

/// pthread_detach(3): its resources go when it ends.
///
/// # Safety
/// `id` is a thread of this process that has been neither joined nor detached.
pub unsafe fn pthread_detach(id: libc::pthread_t) {
    // SAFETY: the caller vouches for `id`.
    unsafe { libc::pthread_detach(id) };
}

/// _exit(2) (exit_group): end the process now, without exit(3)'s
/// handlers or any destructor.
pub fn exit(code: i32) -> ! {
    // strace -f's count of live tasks (`[pid N]`): this one ends.
    crate::strace::tasks::ended();
    // SAFETY: _exit ends the process at once; it takes only the code.
    unsafe { libc::_exit(code) }
}

/// geteuid(2): the effective user id (never fails).
pub fn geteuid() -> u32 {
    // SAFETY: geteuid only reads the process's effective uid.
    unsafe { libc::geteuid() }
}

/// sysconf(_SC_CLK_TCK): the clock ticks per second of /proc's times.
pub fn clock_ticks() -> i64 {
    // SAFETY: sysconf only reads a value.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as i64
}

/// pthread_sigmask(3) (rt_sigprocmask) on the calling thread: `how` with
/// `set`; the mask before.
pub fn sigmask(how: SigmaskHow, set: &SigSet) -> std::result::Result<SigSet, Errno> {
    let mut old = SigSet::empty();
    pthread_sigmask(how, Some(set), Some(&mut old))?;
    Ok(old)
}

/// gettid(2): the calling thread's kernel id.
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// fcntl(F_GETFL), then fcntl(F_SETFL) without O_NONBLOCK: a file opened
/// without blocking (a FIFO whose reader may come later) written with it.
pub fn clear_nonblock(file: &impl AsFd) -> std::result::Result<(), Errno> {
    let flags = OFlag::from_bits_truncate(fcntl(file, FcntlArg::F_GETFL)?);
    fcntl(file, FcntlArg::F_SETFL(flags & !OFlag::O_NONBLOCK)).map(drop)
}

/// getegid(2): a script's SCM_CREDENTIALS `gid=...` (its own group).
pub fn getegid() -> u32 {
    // SAFETY: getegid only reads the process's effective gid.
    unsafe { libc::getegid() }
}

/// fcntl(F_DUPFD_CLOEXEC, min): the same open file at the lowest fd
/// number from `min` up (the original is closed when `file` drops); the
/// file itself if that fails. A script runner keeps its /proc files
/// there, so that they never take the number a script's socket gets.
pub fn above(file: std::fs::File, min: std::os::fd::RawFd) -> std::fs::File {
    use std::os::fd::FromRawFd;
    match fcntl(&file, FcntlArg::F_DUPFD_CLOEXEC(min)) {
        // SAFETY: fcntl returned a new fd that nothing else owns.
        Ok(fd) => unsafe { std::fs::File::from_raw_fd(fd) },
        Err(_) => file,
    }
}

/// pipe2(O_CLOEXEC), both ends moved above `min`: a script's channel to
/// a process actor (socklab's plumbing, not the experiment's).
pub fn pipe(min: std::os::fd::RawFd) -> Result<(std::fs::File, std::fs::File)> {
    let (r, w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::Runtime(format!("pipe2: {e}")))?;
    Ok((
        above(std::fs::File::from(r), min),
        above(std::fs::File::from(w), min),
    ))
}

/// close(2) of an fd socklab's plumbing owns (a forked process actor
/// closes the runner's ends of the pipes).
pub fn close(fd: std::os::fd::RawFd) {
    // SAFETY: the caller owns `fd` and nothing uses it afterwards.
    unsafe { libc::close(fd) };
}

/// getpid(2): a script's own pid (a thread actor's tgkill, a signal's
/// `si_pid`).
pub fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// How a child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(i32),
    /// Its status could not be read (waitid failed with this errno: ECHILD
    /// when SIGCHLD is ignored and the kernel reaped it at once).
    Unknown(Errno),
}

/// waitid(P_PID, pid, WEXITED|WNOWAIT): how a child ended, without
/// reaping it (the script's traced wait4 does, at the end).
pub fn ended(pid: i32) -> Ended {
    ended_info(pid).0
}

/// [`ended`], with the SIGCHLD siginfo's si_uid, si_utime and si_stime
/// (None when waitid failed): the parent's `--- SIGCHLD {...} ---` line.
pub fn ended_info(pid: i32) -> (Ended, Option<[i64; 3]>) {
    // SAFETY: all-zero bytes are a valid siginfo_t.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: info is a live siginfo_t; pid is our child.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        match Errno::result(r) {
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return (Ended::Unknown(e), None),
        }
    }
    // SAFETY: waitid filled a SIGCHLD siginfo: its fields are set.
    let (status, uid, utime, stime) = unsafe {
        (
            info.si_status(),
            info.si_uid(),
            info.si_utime(),
            info.si_stime(),
        )
    };
    let how = match info.si_code {
        libc::CLD_EXITED => Ended::Exited(status),
        _ => Ended::Killed(status),
    };
    (how, Some([i64::from(uid), utime, stime]))
}

/// open(2) of a file the user named for socklab's own output (`--trace-file`,
/// `--record`, `--pcap`, the shell's `--history` and `save`): created, then
/// truncated or appended to, with O_NOFOLLOW|O_CLOEXEC (`flags` adds more).
/// socklab runs as root in labs: a symbolic link planted at that name must
/// not make it overwrite the link's target. Untraced: not the experiment's.
pub fn create_output(
    path: &std::path::Path,
    append: bool,
    flags: i32,
) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | flags)
        .open(path)
}

/// Why [`create_output`] failed, said for a user: ELOOP is the symbolic link.
pub fn output_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "it is a symbolic link (ELOOP); socklab does not write \
             through one: name the file itself"
            .to_string(),
        _ => io_error_text(e),
    }
}

/// A failed file operation's error as socklab names an errno, strace's
/// way: `ENOENT (No such file or directory)` (io's own text when no
/// errno is behind it).
pub fn io_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::values::error::errno_text(Errno::from_raw(n)),
        None => e.to_string(),
    }
}

/// A file of the user's read whole (the shell's `--history`): opened
/// with O_NOFOLLOW (a symbolic link is ELOOP) and O_NONBLOCK (a FIFO does
/// not hang the open), and only if it is a regular file (else EINVAL,
/// said by [`input_error`]).
pub fn read_input(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Why [`read_input`] failed, said for a user.
pub fn input_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "it is a symbolic link (ELOOP); socklab does not read \
             through one: name the file itself"
            .to_string(),
        Some(libc::EINVAL) => {
            "it is not a regular file: name a file (created if missing)".to_string()
        }
        _ => io_error_text(e),
    }
}

/// kill(pid, 0) = ESRCH: no process has that pid any more (EPERM means
/// one does). A lab's network left by a lab process that was killed.
pub fn process_gone(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(Errno::ESRCH)
}

/// The path open fd `fd` names (readlink of /proc/self/fd/FD), if any.
pub fn fd_path(fd: std::os::fd::RawFd) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// The current directory (getcwd), if it can be read.
pub fn cwd() -> Option<std::path::PathBuf> {
    std::env::current_dir().ok()
}

/// The names in directory `path` (getdents64), none if it cannot be read.
pub fn dir_names(path: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(path)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
