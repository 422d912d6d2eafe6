//! One arm per call: which `sys` method a request is made with, and what
//! came back (the return value or errno, the bytes received, the fds it
//! opened or closed). Made on the actor's thread.

use std::os::fd::RawFd;
use std::path::PathBuf;

use nix::errno::Errno;

use crate::sys::{Batch, Cmsg, PathFd, Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::Result;

/// A call with its values, ready to make.
#[derive(Debug, Clone)]
pub enum Req {
    Socket(i32, i32, i32),
    Socketpair(i32, i32, i32),
    Bind(RawFd, Addr),
    Connect(RawFd, Addr),
    Listen(RawFd, i32),
    Accept(RawFd, bool),
    Accept4(RawFd, bool, i32),
    Getsockname(RawFd),
    Getpeername(RawFd),
    Shutdown(RawFd, i32),
    Close(RawFd),
    Dup(RawFd),
    Dup2(RawFd, RawFd),
    Sendto(RawFd, Vec<u8>, i32, Option<Addr>),
    Recvfrom(RawFd, usize, i32, bool),
    Read(RawFd, usize),
    Write(RawFd, Vec<u8>),
    Setsockopt(RawFd, i32, i32, Vec<u8>),
    Getsockopt(RawFd, i32, i32, u32),
    Fcntl(RawFd, i32, Option<i64>),
    Ioctl(RawFd, u64, i32),
    Sendmsg(RawFd, Vec<Vec<u8>>, Option<Addr>, Vec<Cmsg>, i32),
    Recvmsg(RawFd, Vec<usize>, usize, i32, bool),
    /// recvmmsg(fd, vlen entries of `size` bytes, vlen, flags, NULL),
    /// each with its msg_name (`named`) or NULL.
    Recvmmsg(RawFd, usize, usize, i32, bool),
    /// sendmmsg(fd, one entry per datagram (its bytes, its msg_name), vlen, flags).
    Sendmmsg(RawFd, Vec<Vec<u8>>, Vec<Option<Addr>>, i32),
    Poll(Vec<(RawFd, i16)>, i32),
    EpollCreate1(i32),
    /// The event: (events, data), None for NULL.
    EpollCtl(RawFd, i32, RawFd, Option<(u32, u64)>),
    EpollWait(RawFd, usize, i32),
    Kill(i32, i32),
    /// tgkill(tgid, tid, sig): a signal to a thread actor.
    Tgkill(i32, i32, i32),
    /// rt_sigaction(sig, SIG_DFL (true) or SIG_IGN).
    Sigaction(i32, bool),
    /// rt_sigaction(sig, socklab's handler, sa_flags): sys/handler.rs.
    Handler(i32, u64),
    /// openat(dirfd or AT_FDCWD, path, flags, mode).
    Openat(RawFd, PathBuf, i32, u32),
    /// getrandom(buflen, flags).
    Getrandom(usize, u32),
    Mkdirat(RawFd, PathBuf, u32),
    /// newfstatat(dirfd, path, ..., AT_SYMLINK_NOFOLLOW).
    Newfstatat(RawFd, PathBuf),
    Fchmod(RawFd, u32),
    Fchmodat(RawFd, PathBuf, u32),
    Unlinkat(RawFd, PathBuf, i32),
    /// unlink(path), a script's line (the end's is [`Req::Unlink`]).
    UnlinkPath(PathBuf),
    Setgroups(Vec<u32>),
    Setgid(u32),
    Setuid(u32),
    Umask(u32),
    /// getpid() (false) or getppid() (true): a pid, a label in an expectation.
    Getpid(bool),
    /// prlimit64(0, RLIMIT_NOFILE, new or NULL, old or NULL): sets (soft,
    /// hard) when given, else reads them (socklab's two uses of it).
    PrlimitNofile(Option<(u64, u64)>),
    /// gettid() (false; a pid label) or geteuid() (true).
    Getid(bool),
    /// prctl(PR_SET_PDEATHSIG, sig): a process actor's.
    PrctlPdeathsig(i32),
    /// rt_sigprocmask(how, set or NULL, old mask read back or NULL, 8).
    Sigprocmask(i32, Option<u64>, bool),
    /// rt_sigtimedwait(set, NULL, timeout or NULL (for ever), 8).
    Sigtimedwait(u64, Option<(u64, u64)>),
    /// sched_setaffinity(0, size, cpus): the actor's thread.
    Setaffinity(usize, Vec<usize>),
    /// alarm(secs): a process actor's.
    Alarm(u32),
    /// fork(): a process actor (`process.rs`), with the pipes it talks
    /// to the runner through.
    Fork(Pipes),
    /// clone3: a thread actor started by this actor (`birth.rs`).
    Thread(super::birth::Birth),
    /// The end of a run: a process actor's wait4 by its parent.
    /// Its pid (-1: any child) and options (`WNOHANG`).
    Wait4(i32, i32),
    /// The end of a run: a process actor ends (exit_group, not traced).
    Exit(i32),
    /// The end of a run: a socket file a bind made, removed only if the
    /// same file (device, inode) is still there (newfstatat,
    /// AT_SYMLINK_NOFOLLOW, then unlink): a file, a link or another
    /// socket file put in its place is left alone. Returns 1 when it
    /// unlinked, 0 when it left another file alone, 2 when nothing was
    /// there.
    Unlink(std::path::PathBuf, u64, u64),
    /// The end of a run: a directory a mkdirat made, removed only if the
    /// same directory (device, inode) is still there (newfstatat, then
    /// unlinkat AT_REMOVEDIR, which the kernel does only on an empty
    /// one). Returns 1 when it removed it, 0 when it left another alone,
    /// 2 when nothing was there.
    Rmdir(std::path::PathBuf, u64, u64),
}

/// What a made call gave.
#[derive(Debug, Default, Clone)]
pub struct Made {
    /// The return value, or the errno (Err(UnknownErrno) with `failure`
    /// set: not a syscall failure).
    pub ret: Option<std::result::Result<i64, Errno>>,
    /// Bytes received (recvfrom, read, recvmsg's iovecs joined), or
    /// the option value getsockopt read.
    pub out: Vec<u8>,
    /// fds this call opened (socket, accept4, socketpair, dup, SCM_RIGHTS).
    pub opened: Vec<RawFd>,
    /// The fd this call closed.
    pub closed: Option<RawFd>,
    /// A failure that is not an errno (a signal, a runtime error).
    pub failure: Option<String>,
    /// The call table's hint for a failed call (the shell prints it).
    pub hint: Option<String>,
    /// A bind on a path: the socket file it made (device, inode), looked
    /// at right after the bind (newfstatat through an untraced Sys: the
    /// runner's bookkeeping for the end's clean-up, not the script's call).
    pub file: Option<(u64, u64)>,
    /// A mkdirat that made a directory (its device and inode are then in
    /// `file`), or an unlinkat AT_REMOVEDIR that removed one: its absolute
    /// path (the dirfd's from /proc/self/fd, untraced: bookkeeping for the
    /// end's clean-up).
    pub dir: Option<Box<PathBuf>>,
    /// In a fork's child: the pipes it serves the runner through
    /// (the actor's thread then becomes the child's loop).
    pub child: Option<Pipes>,
}

/// The two pipes of a fork: the runner writes `down_w`, the child reads
/// `down_r`; the child writes `up_w`, the runner reads `up_r`. `others`:
/// the runner's ends of the other process actors' pipes (the child
/// closes them, so that each pipe ends when its own child does).
#[derive(Debug, Clone)]
pub struct Pipes {
    pub down_r: RawFd,
    pub down_w: RawFd,
    pub up_r: RawFd,
    pub up_w: RawFd,
    pub others: Vec<RawFd>,
}

impl Pipes {
    /// In the runner after the fork (or its failure): the child's ends
    /// are the child's.
    pub fn forked(&self) {
        crate::sys::untraced::close(self.down_r);
        crate::sys::untraced::close(self.up_w);
    }
}

/// A Sys that prints nothing (the runner's own look at a bound file).
fn quiet() -> Sys {
    use crate::strace::{Format, Tracer};
    Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink())))
}

/// A script's dirfd: AT_FDCWD (None) or an fd.
fn dir(fd: RawFd) -> Option<PathFd> {
    (fd != libc::AT_FDCWD).then(|| PathFd::raw(fd))
}

/// The absolute path `path` names relative to `d` (AT_FDCWD: the current
/// directory), looked up in this process (a process actor's own fds).
fn absolute(d: RawFd, path: &std::path::Path) -> Option<PathBuf> {
    if path.is_absolute() {
        return Some(path.to_path_buf());
    }
    let base = if d == libc::AT_FDCWD {
        crate::sys::untraced::cwd()
    } else {
        crate::sys::untraced::fd_path(d)
    };
    base.map(|b| b.join(path))
}

fn s(fd: RawFd) -> Socket {
    Socket::raw(fd)
}

/// Make the call; its trace line goes to the actor's observer.
pub fn make(sys: &Sys, req: &Req) -> Made {
    let mut made = Made::default();
    let r = arm(sys, req, &mut made);
    made.ret = Some(match r {
        Ok(v) => Ok(v),
        Err(e) => match e.errno() {
            Some(errno) => {
                made.hint = e.hint();
                Err(errno)
            }
            None => {
                made.failure = Some(e.to_string());
                Err(Errno::UnknownErrno)
            }
        },
    });
    if let Req::Close(fd) = req {
        // Linux frees the fd even when close fails (close(2)).
        made.closed = Some(*fd);
    }
    made
}

fn arm(sys: &Sys, req: &Req, made: &mut Made) -> Result<i64> {
    let new = |made: &mut Made, sock: Socket| {
        made.opened.push(sock.fd());
        i64::from(sock.fd())
    };
    Ok(match req {
        Req::Socket(d, t, p) => {
            let sock = sys.socket_raw(*d, *t, *p)?;
            new(made, sock)
        }
        Req::Socketpair(d, t, p) => {
            let (a, b) = sys.socketpair_raw(*d, *t, *p)?;
            made.opened.extend([a.fd(), b.fd()]);
            0
        }
        Req::Bind(fd, addr) => {
            sys.bind(s(*fd), addr)?;
            if let Some(path) = addr.unix_path() {
                made.file = quiet()
                    .newfstatat_id(&path)
                    .ok()
                    .flatten()
                    .map(|id| (id.dev, id.ino));
            }
            0
        }
        Req::Connect(fd, addr) => sys.connect(s(*fd), addr).map(|()| 0)?,
        Req::Listen(fd, backlog) => sys.listen(s(*fd), *backlog).map(|()| 0)?,
        Req::Accept(fd, want) => {
            let (sock, _) = sys.accept(s(*fd), *want)?;
            new(made, sock)
        }
        Req::Accept4(fd, want, flags) => {
            let (sock, _) = sys.accept4_raw(s(*fd), *want, *flags)?;
            new(made, sock)
        }
        Req::Getsockname(fd) => sys.getsockname(s(*fd)).map(|_| 0)?,
        Req::Getpeername(fd) => sys.getpeername(s(*fd)).map(|_| 0)?,
        Req::Shutdown(fd, how) => sys.shutdown_raw(s(*fd), *how).map(|()| 0)?,
        Req::Close(fd) => sys.close(s(*fd)).map(|()| 0)?,
        Req::Dup(fd) => {
            let sock = sys.dup(s(*fd))?;
            new(made, sock)
        }
        Req::Dup2(fd, to) => {
            let sock = sys.dup2(s(*fd), *to)?;
            new(made, sock)
        }
        Req::Sendto(fd, data, flags, to) => {
            sys.sendto_raw(s(*fd), data, *flags, to.as_ref())? as i64
        }
        Req::Recvfrom(fd, len, flags, want) => {
            let mut buf = vec![0u8; *len];
            let (n, _) = sys.recvfrom_raw(s(*fd), &mut buf, *flags, *want)?;
            buf.truncate(n.min(*len));
            made.out = buf;
            n as i64
        }
        Req::Read(fd, len) => {
            let mut buf = vec![0u8; *len];
            let n = sys.read(s(*fd), &mut buf)?;
            buf.truncate(n.min(*len));
            made.out = buf;
            n as i64
        }
        Req::Write(fd, data) => sys.write(s(*fd), data)? as i64,
        Req::Setsockopt(fd, level, name, value) => sys
            .setsockopt_raw(s(*fd), *level, *name, value)
            .map(|()| 0)?,
        Req::Getsockopt(fd, level, name, len) => {
            made.out = sys.getsockopt_raw(s(*fd), *level, *name, *len)?;
            0
        }
        Req::Fcntl(fd, cmd, arg) => sys.fcntl_raw(s(*fd), *cmd, *arg)?,
        Req::Ioctl(fd, request, value) => sys.ioctl_int(s(*fd), *request, *value)?.0,
        Req::Sendmsg(fd, iov, to, control, flags) => {
            let iov: Vec<&[u8]> = iov.iter().map(Vec::as_slice).collect();
            sys.sendmsg(s(*fd), &iov, to.as_ref(), control, *flags)? as i64
        }
        Req::Recvmsg(fd, lens, controllen, flags, want) => {
            let got = sys.recvmsg_raw(s(*fd), lens, *controllen, *flags, *want)?;
            made.out = got.data.concat();
            for c in &got.control {
                if let Cmsg::Rights(fds) = c {
                    made.opened.extend(fds.iter().copied());
                }
            }
            got.ret as i64
        }
        Req::Recvmmsg(fd, vlen, size, flags, named) => {
            let mut b = Batch::new(vec![0u8; size * vlen], *size, *named);
            let n = sys.recvmmsg(s(*fd), &mut b, *vlen, *flags)?;
            for k in 0..n {
                let len = b.len(k).min(*size);
                made.out.extend(b.buf_mut(k).get(..len).unwrap_or_default());
            }
            n as i64
        }
        Req::Sendmmsg(fd, data, to, flags) => {
            super::batch::sendmmsg(sys, Socket::raw(*fd), data, to, *flags)?
        }
        Req::Poll(fds, timeout) => {
            let mut pfds: Vec<libc::pollfd> = fds
                .iter()
                .map(|&(fd, events)| libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                })
                .collect();
            sys.poll_fds(&mut pfds, *timeout)? as i64
        }
        Req::EpollCreate1(flags) => {
            let sock = sys.epoll_create1_raw(*flags)?;
            new(made, sock)
        }
        Req::EpollCtl(ep, op, fd, events) => sys
            .epoll_ctl_raw(s(*ep), *op, s(*fd), *events)
            .map(|()| 0)?,
        Req::EpollWait(ep, max, timeout) => {
            let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; *max];
            sys.epoll_wait(s(*ep), &mut events, *timeout)? as i64
        }
        Req::Kill(pid, sig) => sys.kill_raw(*pid, *sig).map(|()| 0)?,
        Req::Tgkill(tgid, tid, sig) => sys.tgkill_raw(*tgid, *tid, *sig).map(|()| 0)?,
        Req::Sigaction(sig, default) => sys.rt_sigaction_raw(*sig, *default).map(|()| 0)?,
        Req::Handler(sig, flags) => sys.rt_sigaction_handler(*sig, *flags).map(|()| 0)?,
        Req::Openat(d, path, flags, mode) => {
            let fd = sys.openat_raw(dir(*d), path, *flags, *mode)?.fd();
            made.opened.push(fd);
            i64::from(fd)
        }
        Req::Getrandom(len, flags) => {
            let mut buf = vec![0u8; *len];
            let n = sys.getrandom_raw(&mut buf, *flags)?;
            buf.truncate(n);
            made.out = buf;
            n as i64
        }
        Req::Mkdirat(d, path, mode) => {
            sys.mkdirat(dir(*d), path.as_os_str(), *mode)?;
            made.dir = absolute(*d, path).map(Box::new);
            made.file = made
                .dir
                .as_ref()
                .and_then(|p| quiet().newfstatat_id(p).ok().flatten())
                .map(|id| (id.dev, id.ino));
            0
        }
        Req::Newfstatat(d, path) => sys.fstatat_raw(dir(*d), path.as_os_str()).map(|_| 0)?,
        Req::Fchmod(fd, mode) => sys.fchmod(PathFd::raw(*fd), *mode).map(|()| 0)?,
        Req::Fchmodat(d, path, mode) => {
            sys.fchmodat(dir(*d), path.as_os_str(), *mode).map(|()| 0)?
        }
        Req::Unlinkat(d, path, flags) => {
            // The path it names before it is gone.
            let gone = absolute(*d, path);
            sys.unlinkat(dir(*d), path.as_os_str(), *flags)?;
            if flags & libc::AT_REMOVEDIR != 0 {
                made.dir = gone.map(Box::new);
            }
            0
        }
        Req::UnlinkPath(path) => sys.unlink(path).map(|()| 0)?,
        Req::Setgroups(groups) => sys.setgroups(groups).map(|()| 0)?,
        Req::Setgid(gid) => sys.setgid(*gid).map(|()| 0)?,
        Req::Setuid(uid) => sys.setuid(*uid).map(|()| 0)?,
        // The process's mask (every actor's): the old one is the result.
        Req::Umask(mask) => i64::from(sys.umask(*mask)?),
        Req::Getpid(false) => i64::from(sys.getpid()?),
        Req::Getpid(true) => i64::from(sys.getppid()?),
        Req::PrlimitNofile(Some((soft, hard))) => {
            sys.prlimit64_set_nofile(*soft, *hard).map(|()| 0)?
        }
        Req::PrlimitNofile(None) => sys.prlimit64_get_nofile().map(|_| 0)?,
        Req::Getid(false) => i64::from(sys.gettid()?),
        Req::Getid(true) => i64::from(sys.geteuid()?),
        Req::PrctlPdeathsig(sig) => {
            let sig = nix::sys::signal::Signal::try_from(*sig)
                .map_err(|_| crate::values::error::Error::Runtime(format!("signal {sig}")))?;
            sys.prctl_set_pdeathsig(sig).map(|()| 0)?
        }
        Req::Sigprocmask(how, set, old) => sys.rt_sigprocmask_set(*how, *set, *old).map(|_| 0)?,
        Req::Sigtimedwait(set, timeout) => i64::from(sys.rt_sigtimedwait_set(*set, *timeout)?),
        Req::Setaffinity(size, cpus) => sys.sched_setaffinity_cpus(*size, cpus).map(|()| 0)?,
        Req::Alarm(secs) => i64::from(sys.alarm(*secs)?),
        Req::Fork(pipes) => {
            let forked = sys.fork();
            if !matches!(forked, Ok(None)) {
                pipes.forked();
            }
            match forked? {
                Some(pid) => i64::from(pid),
                None => {
                    made.child = Some(pipes.clone());
                    0
                }
            }
        }
        Req::Thread(birth) => birth.start(sys)?,
        Req::Wait4(pid, options) => sys
            .wait4_options(*pid, *options)?
            .map_or(0, |r| i64::from(r.pid)),
        Req::Exit(code) => crate::sys::untraced::exit(*code),
        Req::Unlink(path, dev, ino) => match sys.newfstatat_id(path)? {
            Some(id) if id.dev == *dev && id.ino == *ino => sys.unlink(path).map(|()| 1)?,
            Some(_) => 0,
            None => 2,
        },
        Req::Rmdir(path, dev, ino) => match sys.newfstatat_id(path)? {
            Some(id) if id.dev == *dev && id.ino == *ino => sys
                .unlinkat(None, path.as_os_str(), libc::AT_REMOVEDIR)
                .map(|()| 1)?,
            Some(_) => 0,
            None => 2,
        },
    })
}
