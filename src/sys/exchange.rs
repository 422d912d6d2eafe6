//! Connections and data: accept4, connect, sendto, recvfrom, getsockname, getpeername.
#![allow(clippy::disallowed_methods)]

use super::*;

impl Sys {
    /// accept4(2) with a sockaddr_storage, so the one syscall gives the peer
    /// (nix's accept4 passes NULL and throws it away).
    pub fn accept4(&self, s: Socket) -> Result<(Socket, Addr)> {
        self.accept4_flags(s, false)
    }

    /// accept4(2) with SOCK_NONBLOCK|SOCK_CLOEXEC: the event loops' accept.
    pub fn accept4_nonblock(&self, s: Socket) -> Result<(Socket, Addr)> {
        self.accept4_flags(s, true)
    }

    fn accept4_flags(&self, s: Socket, nonblock: bool) -> Result<(Socket, Addr)> {
        let (flags, flag_names) = if nonblock {
            (
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                "SOCK_CLOEXEC|SOCK_NONBLOCK",
            )
        } else {
            (libc::SOCK_CLOEXEC, "SOCK_CLOEXEC")
        };
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let fd = self.call(
            Call {
                row: &calls::ACCEPT4,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                // SAFETY: ss_ptr points to a live sockaddr_storage of `len` bytes.
                let r = unsafe {
                    libc::accept4(s.0, ss_ptr as *mut libc::sockaddr, len.as_ptr(), flags)
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to ss.
                let ss = unsafe { &*ss_ptr };
                let peer = match ret {
                    Ok(_) => ArgVal::Text(strace::sockaddr(ss, len.get())),
                    Err(_) => ArgVal::Ptr(ss_ptr.cast()),
                };
                plain(row_args(
                    &calls::ACCEPT4,
                    &[
                        ArgVal::Fd(s.0),
                        peer,
                        ArgVal::InOut(cap, Some(len.get())),
                        ArgVal::Name(flag_names),
                    ],
                ))
            },
        )?;
        self.opened(Socket(fd as RawFd), Some(s), None);
        Ok((Socket(fd as RawFd), Addr::from_raw(ss, len.get())))
    }

    /// connect(2).
    pub fn connect(&self, s: Socket, addr: &Addr) -> Result<()> {
        let len = addr.kernel_len();
        self.call(
            Call {
                row: &calls::CONNECT,
                fd: Some(s),
                unix: addr.is_unix(),
            },
            || {
                addr.with_nix(|a| ns::connect(s.0, a).map(|()| 0))
                    .unwrap_or(Err(Errno::EAFNOSUPPORT))
            },
            |_| {
                with_addr(
                    row_args(
                        &calls::CONNECT,
                        &[
                            ArgVal::Fd(s.0),
                            ArgVal::Text(addr.strace()),
                            ArgVal::Int(i64::from(len)),
                        ],
                    ),
                    *addr,
                )
            },
        )?;
        Ok(())
    }

    /// sendto(2): `send` when `to` is None (glibc's send is sendto with NULL, 0).
    pub fn sendto(&self, s: Socket, buf: &[u8], to: Option<&Addr>) -> Result<usize> {
        self.sendto_flags(s, buf, to, MsgFlags::empty())
    }

    /// sendto(2) with `MSG_DONTWAIT`: this one call does not block, whatever
    /// the socket's mode (a datagram server's reply to a UNIX peer whose
    /// receive queue is full fails with EAGAIN instead of waiting for it).
    pub fn sendto_dontwait(&self, s: Socket, buf: &[u8], to: Option<&Addr>) -> Result<usize> {
        self.sendto_flags(s, buf, to, MsgFlags::MSG_DONTWAIT)
    }

    fn sendto_flags(
        &self,
        s: Socket,
        buf: &[u8],
        to: Option<&Addr>,
        flags: MsgFlags,
    ) -> Result<usize> {
        self.sendto_raw(s, buf, flags.bits(), to)
    }

    /// recvfrom(2). With `want_from` false it is Python's `recv`
    /// (`NULL, NULL`); with it, `recvfrom` and the sender's address.
    pub fn recvfrom(
        &self,
        s: Socket,
        buf: &mut [u8],
        want_from: bool,
    ) -> Result<(usize, Option<Addr>)> {
        self.recvfrom_flags(s, buf, want_from, false)
    }

    /// recvfrom(2) with `MSG_TRUNC` when `trunc`: on a datagram socket the
    /// kernel then returns the datagram's real length, even when it was
    /// longer than `buf` (which holds its first `buf.len()` bytes): the
    /// caller can tell a truncated datagram (returned length > buf.len()).
    pub fn recvfrom_flags(
        &self,
        s: Socket,
        buf: &mut [u8],
        want_from: bool,
        trunc: bool,
    ) -> Result<(usize, Option<Addr>)> {
        let flags = if trunc { libc::MSG_TRUNC } else { 0 };
        self.recvfrom_raw(s, buf, flags, want_from)
    }

    /// getsockname(2): the local address (the real port after binding port 0).
    pub fn getsockname(&self, s: Socket) -> Result<Addr> {
        self.sockname(&calls::GETSOCKNAME, s, |fd, sa, len| {
            // SAFETY: sa/len point to a live storage and its size.
            unsafe { libc::getsockname(fd, sa, len) }
        })
    }

    /// getpeername(2): the connected peer's address.
    pub fn getpeername(&self, s: Socket) -> Result<Addr> {
        self.sockname(&calls::GETPEERNAME, s, |fd, sa, len| {
            // SAFETY: sa/len point to a live storage and its size.
            unsafe { libc::getpeername(fd, sa, len) }
        })
    }

    fn sockname(
        &self,
        row: &'static Syscall,
        s: Socket,
        f: impl Fn(RawFd, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int,
    ) -> Result<Addr> {
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        self.call(
            Call {
                row,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                Errno::result(f(s.0, ss_ptr as *mut libc::sockaddr, len.as_ptr())).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to ss.
                let ss = unsafe { &*ss_ptr };
                match ret {
                    Ok(_) => with_addr(
                        row_args(
                            row,
                            &[
                                ArgVal::Fd(s.0),
                                ArgVal::Text(strace::sockaddr(ss, len.get())),
                                ArgVal::InOut(cap, Some(len.get())),
                            ],
                        ),
                        Addr::from_raw(*ss, len.get()),
                    ),
                    Err(_) => plain(row_args(
                        row,
                        &[
                            ArgVal::Fd(s.0),
                            ArgVal::Ptr(ss_ptr.cast_const().cast()),
                            ArgVal::InOut(cap, None),
                        ],
                    )),
                }
            },
        )?;
        Ok(Addr::from_raw(ss, len.get()))
    }
}
