//! Making and naming a socket: socket, socketpair, setsockopt, getsockopt,
//! bind, listen, shutdown.
#![allow(clippy::disallowed_methods)]

use super::*;

impl Sys {
    /// socket(2), always with SOCK_CLOEXEC (as Python and the C twin).
    pub fn socket(&self, family: AddressFamily, ty: SockType) -> Result<Socket> {
        self.socket_flags(family, ty, SockFlag::empty())
    }

    /// socket(2) with `SOCK_NONBLOCK` too: a probe whose connect must not
    /// wait (EAGAIN when the listener's backlog is full).
    pub fn socket_nonblock(&self, family: AddressFamily, ty: SockType) -> Result<Socket> {
        self.socket_flags(family, ty, SockFlag::SOCK_NONBLOCK)
    }

    fn socket_flags(&self, family: AddressFamily, ty: SockType, flags: SockFlag) -> Result<Socket> {
        let nonblock = if flags.contains(SockFlag::SOCK_NONBLOCK) {
            "|SOCK_NONBLOCK"
        } else {
            ""
        };
        let fd = self.call(
            Call {
                row: &calls::SOCKET,
                fd: None,
                unix: family == AddressFamily::Unix,
            },
            || {
                ns::socket(family, ty, SockFlag::SOCK_CLOEXEC | flags, None)
                    .map(|fd| i64::from(std::os::fd::IntoRawFd::into_raw_fd(fd)))
            },
            |_| {
                plain(row_args(
                    &calls::SOCKET,
                    &[
                        ArgVal::Name(family_name(family)),
                        ArgVal::Text(format!("{}|SOCK_CLOEXEC{nonblock}", type_name(ty))),
                        ArgVal::Name(protocol_name(family)),
                    ],
                ))
            },
        )?;
        self.opened(Socket(fd as RawFd), None, Some((family as i32, ty as i32)));
        Ok(Socket(fd as RawFd))
    }

    /// socketpair(2), with SOCK_CLOEXEC (as Python's `socket.socketpair`):
    /// two sockets connected to each other (Linux pairs AF_UNIX only).
    pub fn socketpair(&self, family: AddressFamily, ty: SockType) -> Result<(Socket, Socket)> {
        let sv = Cell::new([-1 as RawFd; 2]);
        let sv_ptr = sv.as_ptr();
        self.call(
            Call {
                row: &calls::SOCKETPAIR,
                fd: None,
                unix: family == AddressFamily::Unix,
            },
            || {
                let ty = ty as libc::c_int | libc::SOCK_CLOEXEC;
                // SAFETY: sv_ptr points to two live c_ints for the kernel to fill.
                let r = unsafe { libc::socketpair(family as libc::c_int, ty, 0, sv_ptr.cast()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let [a, b] = sv.get();
                let sv = match ret {
                    Ok(_) => ArgVal::Text(format!("[{a}, {b}]")),
                    Err(_) => ArgVal::Ptr(sv_ptr.cast()),
                };
                plain(row_args(
                    &calls::SOCKETPAIR,
                    &[
                        ArgVal::Name(family_name(family)),
                        ArgVal::Text(format!("{}|SOCK_CLOEXEC", type_name(ty))),
                        ArgVal::Name("0"),
                        sv,
                    ],
                ))
            },
        )?;
        let [a, b] = sv.get();
        for fd in [a, b] {
            self.opened(Socket(fd), None, Some((family as i32, ty as i32)));
        }
        Ok((Socket(a), Socket(b)))
    }

    /// setsockopt(2): the value's bytes as its kind lays them out.
    pub fn setsockopt(&self, s: Socket, opt: &Opt, value: &Value) -> Result<()> {
        let bytes = &value.0;
        self.call(
            Call {
                row: &calls::SETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: bytes is a live buffer and we pass its exact size.
                let r = unsafe {
                    libc::setsockopt(
                        s.0,
                        opt.level,
                        opt.name,
                        bytes.as_ptr() as *const libc::c_void,
                        bytes.len() as libc::socklen_t,
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::SETSOCKOPT,
                    &[
                        ArgVal::Fd(s.0),
                        ArgVal::Name(opt.level_name),
                        ArgVal::Name(&opt.opt_name),
                        match options::set_value(opt.level, opt.name, bytes) {
                            Some(text) => ArgVal::Text(text),
                            None => ArgVal::Ptr(bytes.as_ptr().cast()),
                        },
                        ArgVal::Int(bytes.len() as i64),
                    ],
                ))
            },
        )
        .map_err(|e| e.in_context(|c| c.option = Some((opt.level, opt.name))))?;
        Ok(())
    }

    /// getsockopt(2): read an option back, sized for its kind.
    pub fn getsockopt(&self, s: Socket, opt: &Opt) -> Result<Value> {
        self.getsockopt_sized(s, opt, Value::size(opt.kind))
    }

    /// getsockopt(2) into a buffer of `cap` bytes (TCP_INFO's struct).
    fn getsockopt_sized(&self, s: Socket, opt: &Opt, cap: usize) -> Result<Value> {
        let buf = std::cell::RefCell::new(vec![0u8; cap]);
        let len = Cell::new(cap as libc::socklen_t);
        self.call(
            Call {
                row: &calls::GETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap as libc::socklen_t);
                let mut b = buf.borrow_mut();
                // SAFETY: b is a live buffer of `len` bytes.
                let r = unsafe {
                    libc::getsockopt(
                        s.0,
                        opt.level,
                        opt.name,
                        b.as_mut_ptr() as *mut libc::c_void,
                        len.as_ptr(),
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let b = buf.borrow();
                let (shown, out_len) = match ret {
                    Ok(_) => (
                        ArgVal::Text(options::get_value(
                            opt.level,
                            opt.name,
                            &b[..(len.get() as usize).min(cap)],
                        )),
                        Some(len.get()),
                    ),
                    Err(_) => (ArgVal::Ptr(b.as_ptr().cast()), None),
                };
                plain(row_args(
                    &calls::GETSOCKOPT,
                    &[
                        ArgVal::Fd(s.0),
                        ArgVal::Name(opt.level_name),
                        ArgVal::Name(&opt.opt_name),
                        shown,
                        ArgVal::InOut(cap as libc::socklen_t, out_len),
                    ],
                ))
            },
        )?;
        let mut v = buf.into_inner();
        v.truncate((len.get() as usize).min(cap));
        Ok(Value(v))
    }

    /// bind(2).
    pub fn bind(&self, s: Socket, addr: &Addr) -> Result<()> {
        let len = addr.kernel_len();
        self.call(
            Call {
                row: &calls::BIND,
                fd: Some(s),
                unix: addr.is_unix(),
            },
            || {
                addr.with_nix(|a| ns::bind(s.0, a).map(|()| 0))
                    .unwrap_or(Err(Errno::EAFNOSUPPORT))
            },
            |_| {
                with_addr(
                    row_args(
                        &calls::BIND,
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

    /// listen(2), with the backlog as given: the kernel, not socklab,
    /// decides what it means (it caps it at net.core.somaxconn, as the C
    /// twin's call shows). nix's `Backlog` refuses values above 4096 without
    /// making the call, so this goes to libc.
    ///
    /// With tracing on, a note after the call says when the kernel cut the
    /// backlog, from the somaxconn read at startup ([`Sys::with_somaxconn`]).
    pub fn listen(&self, s: Socket, backlog: i32) -> Result<()> {
        self.call(
            Call {
                row: &calls::LISTEN,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: listen(2) takes an fd and an int; no memory is passed.
                let r = unsafe { libc::listen(s.0, backlog) };
                Errno::result(r).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::LISTEN,
                    &[ArgVal::Fd(s.0), ArgVal::Int(i64::from(backlog))],
                ))
            },
        )?;
        if let Some(max) = self.somaxconn
            && self.tracer.enabled()
        {
            // The kernel compares the backlog as unsigned: -1 is above any cap.
            if backlog < 0 {
                self.tracer.note(&format!(
                    "[listen: a negative backlog is a large unsigned one to the kernel: it takes net.core.somaxconn = {max}]"
                ));
            } else if backlog > max {
                self.tracer.note(&format!(
                    "[listen: the kernel caps the backlog {backlog} at net.core.somaxconn = {max}]"
                ));
            }
        }
        Ok(())
    }

    /// shutdown(2).
    pub fn shutdown(&self, s: Socket, how: Shutdown) -> Result<()> {
        let name = match how {
            Shutdown::Read => "SHUT_RD",
            Shutdown::Write => "SHUT_WR",
            Shutdown::Both => "SHUT_RDWR",
        };
        self.call(
            Call {
                row: &calls::SHUTDOWN,
                fd: Some(s),
                unix: false,
            },
            || ns::shutdown(s.0, how).map(|()| 0),
            |_| {
                plain(row_args(
                    &calls::SHUTDOWN,
                    &[ArgVal::Fd(s.0), ArgVal::Name(name)],
                ))
            },
        )?;
        Ok(())
    }

    /// getsockopt(fd, SOL_TCP, TCP_INFO): the kernel's view of a TCP socket.
    pub fn tcp_info(&self, s: Socket) -> Result<libc::tcp_info> {
        let size = size_of::<libc::tcp_info>();
        let v = self.getsockopt_sized(s, &crate::values::sockopt::TCP_INFO, size)?;
        // SAFETY: a zeroed tcp_info is valid; we copy at most its size from
        // what the kernel wrote (older kernels write less).
        let mut info: libc::tcp_info = unsafe { zeroed() };
        unsafe {
            std::ptr::copy_nonoverlapping(
                v.0.as_ptr(),
                &mut info as *mut _ as *mut u8,
                v.0.len().min(size),
            )
        };
        Ok(info)
    }
}

fn family_name(f: AddressFamily) -> &'static str {
    match f {
        AddressFamily::Inet => "AF_INET",
        AddressFamily::Inet6 => "AF_INET6",
        AddressFamily::Unix => "AF_UNIX",
        _ => "AF_???",
    }
}

/// The protocol socklab passes (0, the family's default), as strace
/// names it for the family.
fn protocol_name(f: AddressFamily) -> &'static str {
    if f == AddressFamily::Unix {
        "0"
    } else {
        "IPPROTO_IP"
    }
}

fn type_name(t: SockType) -> &'static str {
    match t {
        SockType::Stream => "SOCK_STREAM",
        SockType::Datagram => "SOCK_DGRAM",
        SockType::SeqPacket => "SOCK_SEQPACKET",
        SockType::Raw => "SOCK_RAW",
        _ => "SOCK_???",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::Format;
    use crate::sys::traced_lines::traced;

    #[test]
    fn socketpair_traces_as_strace_and_connects_its_two_sockets() {
        let (sys, lines) = traced();
        let (a, b) = sys
            .socketpair(AddressFamily::Unix, SockType::Stream)
            .unwrap();
        sys.sendto(a, b"ping", None).unwrap();
        let mut buf = [0u8; 8];
        let (n, _) = sys.recvfrom(b, &mut buf, false).unwrap();
        assert_eq!(&buf[..n], b"ping");
        sys.close(a).unwrap();
        sys.close(b).unwrap();
        let text = lines.text();
        // As `strace -e socketpair python3 -c 'socket.socketpair()'` prints it.
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            format!("socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [{a}, {b}]) = 0")
        );
    }

    /// strace prints the protocol of socketpair as a number, even for
    /// AF_INET (`socketpair(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0, 0x7ffd...)
    /// = -1 EOPNOTSUPP`), unlike socket's `IPPROTO_IP`.
    #[test]
    fn socketpair_of_inet_fails_with_its_line() {
        let sys = Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink())));
        let e = sys
            .socketpair(AddressFamily::Inet, SockType::Stream)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP));
        assert!(
            e.to_string()
                .starts_with("socketpair(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0, 0x"),
            "{e}"
        );
    }
}
