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
        self.opened(Socket(fd as RawFd), Some(s), false);
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
        let flag_names = if flags.contains(MsgFlags::MSG_DONTWAIT) {
            "MSG_DONTWAIT"
        } else {
            "0"
        };
        let n = self.call(
            Call {
                row: &calls::SENDTO,
                fd: Some(s),
                unix: to.is_some_and(Addr::is_unix),
            },
            || {
                let n = match to {
                    None => ns::send(s.0, buf, flags),
                    Some(to) => to
                        .with_nix(|a| ns::sendto(s.0, buf, a, flags))
                        .unwrap_or(Err(Errno::EAFNOSUPPORT)),
                }?;
                Ok(n as i64)
            },
            |_| {
                let (dest, dest_len) = match to {
                    None => (ArgVal::Null, 0),
                    Some(a) => (ArgVal::Text(a.strace()), a.kernel_len()),
                };
                Rendered {
                    args: row_args(
                        &calls::SENDTO,
                        &[
                            ArgVal::Fd(s.0),
                            ArgVal::Buf(buf, STRACE_MAX_STRLEN),
                            ArgVal::Int(buf.len() as i64),
                            ArgVal::Name(flag_names),
                            dest,
                            ArgVal::Int(i64::from(dest_len)),
                        ],
                    ),
                    note: String::new(),
                    addr: to.copied(),
                }
            },
        )?;
        Ok(n as usize)
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
        let (flags, flags_name) = if trunc {
            (libc::MSG_TRUNC, "MSG_TRUNC")
        } else {
            (0, "0")
        };
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let buf_ptr = buf.as_mut_ptr();
        let buf_len = buf.len();
        let n = self.call(
            Call {
                row: &calls::RECVFROM,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                let (from, from_len) = if want_from {
                    (ss_ptr as *mut libc::sockaddr, len.as_ptr())
                } else {
                    (std::ptr::null_mut(), std::ptr::null_mut())
                };
                // SAFETY: buf_ptr/buf_len describe the caller's live buffer;
                // from/from_len are null or point to live locals.
                let r = unsafe {
                    libc::recvfrom(
                        s.0,
                        buf_ptr as *mut libc::c_void,
                        buf_len,
                        flags,
                        from,
                        from_len,
                    )
                };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let data = match ret {
                    // SAFETY: the kernel wrote n bytes to the live buffer,
                    // or filled it (MSG_TRUNC returns more than it holds;
                    // strace shows what the buffer holds, as here).
                    Ok(n) => ArgVal::Buf(
                        unsafe { std::slice::from_raw_parts(buf_ptr, (*n as usize).min(buf_len)) },
                        STRACE_MAX_STRLEN,
                    ),
                    Err(_) => ArgVal::Ptr(buf_ptr.cast_const().cast()),
                };
                let (from, from_len) = if !want_from {
                    (ArgVal::Null, ArgVal::Null)
                } else {
                    // SAFETY: the call has returned; the kernel no longer writes to ss.
                    let ss = unsafe { &*ss_ptr };
                    let shown = if ret.is_ok() && len.get() > 0 {
                        ArgVal::Text(strace::sockaddr(ss, len.get()))
                    } else {
                        ArgVal::Ptr(ss_ptr.cast_const().cast())
                    };
                    let out_len = ret.is_ok().then(|| len.get());
                    (shown, ArgVal::InOut(cap, out_len))
                };
                plain(row_args(
                    &calls::RECVFROM,
                    &[
                        ArgVal::Fd(s.0),
                        data,
                        ArgVal::Int(buf_len as i64),
                        ArgVal::Name(flags_name),
                        from,
                        from_len,
                    ],
                ))
            },
        )?;
        let from = want_from.then(|| Addr::from_raw(ss, len.get()));
        Ok((n as usize, from))
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
