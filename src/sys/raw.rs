//! A script's calls (src/script): one method per syscall that takes every
//! argument as the script wrote it (flags, levels, types as raw ints,
//! rendered by name with `values::xlat` as strace prints them) and adds
//! nothing: no SOCK_CLOEXEC, no option, no retry the script did not ask
//! for (EINTR is retried as by every sys call). socket, socketpair,
//! accept, accept4, shutdown, dup, dup2, kill, epoll_create1 here;
//! sendto, recvfrom, read, write in `transfer.rs`; sendmsg and recvmsg in
//! `msg.rs`; setsockopt, getsockopt, fcntl, ioctl in `options.rs`.
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::strace::ArgVal::{Fd, InOut, Int, Null, Ptr, Text};
use crate::values::xlat::{self, Group};

/// A raw int as strace prints it in this group (its bits, as C's
/// unsigned int: `-1` is `0xffffffff`; a signal as a number).
pub(super) fn named(group: Group, value: i32) -> ArgVal<'static> {
    let v = match group {
        Group::Sig => i64::from(value),
        _ => i64::from(value as u32),
    };
    Text(xlat::flags_text(group, v))
}

/// An accept's address and length arguments, as strace prints them:
/// `NULL, NULL` when not asked for; the peer and `[128 => 16]` after a
/// success; the buffer's address and `[128]` after a failure.
pub(super) fn peer_args(
    want: bool,
    ok: bool,
    ss: *const libc::sockaddr_storage,
    cap: libc::socklen_t,
    len: libc::socklen_t,
) -> [ArgVal<'static>; 2] {
    if !want {
        return [Null, Null];
    }
    if !ok {
        return [Ptr(ss.cast()), InOut(cap, None)];
    }
    // SAFETY: the call has returned; the kernel no longer writes to *ss.
    let shown = strace::sockaddr(unsafe { &*ss }, len);
    [Text(shown), InOut(cap, Some(len))]
}

impl Sys {
    /// socket(2) as a script writes it: `socket(AF_INET, SOCK_STREAM, 0)`
    /// makes exactly that call (no SOCK_CLOEXEC added).
    pub fn socket_raw(&self, domain: i32, ty: i32, protocol: i32) -> Result<Socket> {
        let fd = self.call(
            Call {
                row: &calls::SOCKET,
                fd: None,
                unix: domain == libc::AF_UNIX,
            },
            || {
                // SAFETY: plain syscall with integer arguments.
                Errno::result(unsafe { libc::socket(domain, ty, protocol) }).map(i64::from)
            },
            |_| {
                // strace names the protocol of an inet socket only.
                let proto = if matches!(domain, libc::AF_INET | libc::AF_INET6) {
                    named(Group::Ipproto, protocol)
                } else {
                    Int(i64::from(protocol))
                };
                let args = [named(Group::Af, domain), named(Group::Sock, ty), proto];
                plain(row_args(&calls::SOCKET, &args))
            },
        )?;
        self.opened(Socket(fd as RawFd), None, Some((domain, ty)));
        Ok(Socket(fd as RawFd))
    }

    /// socketpair(2) as a script writes it (strace prints its protocol as
    /// a number, whatever the family).
    pub fn socketpair_raw(&self, domain: i32, ty: i32, protocol: i32) -> Result<(Socket, Socket)> {
        let sv = Cell::new([-1 as RawFd; 2]);
        let sv_ptr = sv.as_ptr();
        self.call(
            Call {
                row: &calls::SOCKETPAIR,
                fd: None,
                unix: domain == libc::AF_UNIX,
            },
            || {
                // SAFETY: sv_ptr points to two live c_ints for the kernel to fill.
                let r = unsafe { libc::socketpair(domain, ty, protocol, sv_ptr.cast()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let [a, b] = sv.get();
                let shown = match ret {
                    Ok(_) => Text(format!("[{a}, {b}]")),
                    Err(_) => Ptr(sv_ptr.cast()),
                };
                let args = [
                    named(Group::Af, domain),
                    named(Group::Sock, ty),
                    Int(i64::from(protocol)),
                    shown,
                ];
                plain(row_args(&calls::SOCKETPAIR, &args))
            },
        )?;
        let [a, b] = sv.get();
        self.opened(Socket(a), None, Some((domain, ty)));
        self.opened(Socket(b), None, Some((domain, ty)));
        Ok((Socket(a), Socket(b)))
    }

    /// accept(2) (syscall 43): with `want_addr` false, `accept(3, NULL,
    /// NULL)`; with it, the peer's address in a sockaddr_storage.
    pub fn accept(&self, s: Socket, want_addr: bool) -> Result<(Socket, Option<Addr>)> {
        self.accept_with(&calls::ACCEPT, s, want_addr, None)
    }

    /// accept4(2) with the script's flags (`0`, `SOCK_CLOEXEC`, ...).
    pub fn accept4_raw(
        &self,
        s: Socket,
        want_addr: bool,
        flags: i32,
    ) -> Result<(Socket, Option<Addr>)> {
        self.accept_with(&calls::ACCEPT4, s, want_addr, Some(flags))
    }

    fn accept_with(
        &self,
        row: &'static Syscall,
        s: Socket,
        want_addr: bool,
        flags: Option<i32>,
    ) -> Result<(Socket, Option<Addr>)> {
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let fd = self.call(
            Call {
                row,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                let (sa, sa_len) = if want_addr {
                    (ss_ptr.cast::<libc::sockaddr>(), len.as_ptr())
                } else {
                    (std::ptr::null_mut(), std::ptr::null_mut())
                };
                // SAFETY: sa/sa_len are null or point to live locals of `cap` bytes.
                let r = unsafe {
                    match flags {
                        None => libc::accept(s.0, sa, sa_len),
                        Some(f) => libc::accept4(s.0, sa, sa_len, f),
                    }
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let [peer, peer_len] = peer_args(want_addr, ret.is_ok(), ss_ptr, cap, len.get());
                let mut args = vec![Fd(s.0), peer, peer_len];
                if let Some(f) = flags {
                    args.push(named(Group::SockFlags, f));
                }
                plain(row_args(row, &args))
            },
        )?;
        self.opened(Socket(fd as RawFd), Some(s), None);
        let peer = want_addr.then(|| Addr::from_raw(ss, len.get()));
        Ok((Socket(fd as RawFd), peer))
    }

    /// shutdown(2) with any `how` (`0x7 /* SHUT_??? */` when unknown).
    pub fn shutdown_raw(&self, s: Socket, how: i32) -> Result<()> {
        self.call(
            Call {
                row: &calls::SHUTDOWN,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: plain syscall with integer arguments.
                Errno::result(unsafe { libc::shutdown(s.0, how) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::SHUTDOWN,
                    &[Fd(s.0), named(Group::Shut, how)],
                ))
            },
        )?;
        Ok(())
    }

    /// dup(2): the lowest free fd, the same open socket.
    pub fn dup(&self, fd: Socket) -> Result<Socket> {
        let new = self.call(
            Call {
                row: &calls::DUP,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: plain syscall with an integer argument.
                Errno::result(unsafe { libc::dup(fd.0) }).map(i64::from)
            },
            |_| plain(row_args(&calls::DUP, &[Fd(fd.0)])),
        )?;
        self.opened(Socket(new as RawFd), Some(fd), None);
        Ok(Socket(new as RawFd))
    }

    /// dup2(2): `new` becomes `old`'s socket (closed first if open).
    pub fn dup2(&self, old: Socket, new: RawFd) -> Result<Socket> {
        let got = self.call(
            Call {
                row: &calls::DUP2,
                fd: Some(old),
                unix: false,
            },
            || {
                // SAFETY: plain syscall with integer arguments.
                Errno::result(unsafe { libc::dup2(old.0, new) }).map(i64::from)
            },
            |_| plain(row_args(&calls::DUP2, &[Fd(old.0), Fd(new)])),
        )?;
        self.opened(Socket(got as RawFd), Some(old), None);
        Ok(Socket(got as RawFd))
    }

    /// kill(2) with any signal number (`0`: only check the pid).
    pub fn kill_raw(&self, pid: i32, sig: i32) -> Result<()> {
        self.call(
            Call {
                row: &calls::KILL,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: plain syscall with integer arguments.
                Errno::result(unsafe { libc::kill(pid, sig) }).map(i64::from)
            },
            |_| {
                let args = [Int(pid.into()), named(Group::Sig, sig)];
                plain(row_args(&calls::KILL, &args))
            },
        )?;
        Ok(())
    }

    /// tgkill(2): a signal to one thread (a script's thread actor).
    pub fn tgkill_raw(&self, tgid: i32, tid: i32, sig: i32) -> Result<()> {
        self.tgkill_traced(tgid, tid, sig, || ())
    }

    /// tgkill(2), `ahead` run just before the syscall (a signal to
    /// oneself that kills: the lines the process cannot write after it).
    pub(super) fn tgkill_traced(
        &self,
        tgid: i32,
        tid: i32,
        sig: i32,
        ahead: impl Fn(),
    ) -> Result<()> {
        self.call(
            Call {
                row: &calls::TGKILL,
                fd: None,
                unix: false,
            },
            || {
                ahead();
                // SAFETY: plain syscall with integer arguments.
                let r = unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) };
                Errno::result(r)
            },
            |_| {
                let args = [Int(tgid.into()), Int(tid.into()), named(Group::Sig, sig)];
                plain(row_args(&calls::TGKILL, &args))
            },
        )?;
        Ok(())
    }

    /// rt_sigaction(2) with SIG_DFL or SIG_IGN, no flag, no mask and no
    /// old action asked for: `rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL,
    /// sa_mask=[], sa_flags=0}, NULL, 8)` (the raw syscall: glibc's
    /// sigaction would add SA_RESTORER and its restorer).
    pub fn rt_sigaction_raw(&self, sig: i32, default: bool) -> Result<()> {
        let handler = if default {
            libc::SIG_DFL
        } else {
            libc::SIG_IGN
        };
        // The kernel's struct sigaction on x86-64 and aarch64: handler,
        // flags, restorer, mask (8 bytes of signals).
        let act: [u64; 4] = [handler as u64, 0, 0, 0];
        self.call(
            Call {
                row: &calls::RT_SIGACTION,
                fd: None,
                unix: false,
            },
            // SIG_DFL and SIG_IGN install no handler code.
            || kernel_sigaction(sig, &act),
            |_| {
                let name = if default { "SIG_DFL" } else { "SIG_IGN" };
                let act = format!("{{sa_handler={name}, sa_mask=[], sa_flags=0}}");
                let args = [named(Group::Sig, sig), Text(act), Null, Int(8)];
                plain(row_args(&calls::RT_SIGACTION, &args))
            },
        )?;
        Ok(())
    }

    /// epoll_create1(2) with the script's flags (`0`, `EPOLL_CLOEXEC`).
    pub fn epoll_create1_raw(&self, flags: i32) -> Result<Socket> {
        let fd = self.call(
            Call {
                row: &calls::EPOLL_CREATE1,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: no pointers.
                Errno::result(unsafe { libc::epoll_create1(flags) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::EPOLL_CREATE1,
                    &[named(Group::EpollFlags, flags)],
                ))
            },
        )?;
        Ok(Socket(fd as RawFd))
    }

    /// epoll_ctl(2) with any op: `event` Some((events, data)) passes an
    /// epoll_event (`{events=EPOLLIN, data={u32=7, u64=7}}`: a script's
    /// line says its data), None passes NULL (EPOLL_CTL_DEL).
    pub fn epoll_ctl_raw(
        &self,
        ep: Socket,
        op: i32,
        fd: Socket,
        event: Option<(u32, u64)>,
    ) -> Result<()> {
        self.call(
            Call {
                row: &calls::EPOLL_CTL,
                fd: None,
                unix: false,
            },
            || {
                let (events, data) = event.unwrap_or_default();
                let mut ev = libc::epoll_event { events, u64: data };
                let ptr = match event {
                    Some(_) => &mut ev as *mut libc::epoll_event,
                    None => std::ptr::null_mut(),
                };
                // SAFETY: ptr is null or points to a live epoll_event.
                Errno::result(unsafe { libc::epoll_ctl(ep.0, op, fd.0, ptr) }).map(i64::from)
            },
            |_| {
                let ev = match event {
                    Some((e, data)) => Text(super::epoll::epoll_event(e, data)),
                    None => Null,
                };
                let args = [Fd(ep.0), named(Group::EpollCtl, op), Fd(fd.0), ev];
                plain(row_args(&calls::EPOLL_CTL, &args))
            },
        )?;
        Ok(())
    }
}

/// The raw rt_sigaction syscall with the kernel's struct sigaction
/// (handler, flags, restorer, mask: 8 bytes of signals), no old action
/// asked for: glibc's sigaction would add SA_RESTORER and its restorer.
pub(super) fn kernel_sigaction(sig: i32, act: &[u64; 4]) -> nix::Result<libc::c_long> {
    // SAFETY: act is a live kernel sigaction for the call's length; oldact
    // is NULL; the handler it names (if any) is the caller's to vouch for.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            act.as_ptr(),
            std::ptr::null::<libc::c_void>(),
            8usize,
        )
    };
    if r == 0 {
        super::sigpipe::disposition(sig, act[0]);
    }
    Errno::result(r)
}
