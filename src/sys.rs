//! The one traced syscall layer (DESIGN.md §1): every socket, I/O and
//! socket-file call socklab makes goes through a method here.
//!
//! One method is one kernel syscall, named as strace prints it, arguments in
//! C order. With tracing on, each call emits one event that renders exactly
//! like strace's line; a failure becomes an [`Error::Sys`] carrying the same
//! line and the errno. Calls interrupted by a signal (EINTR) are retried, as
//! Python does since PEP 475, unless the signal asks socklab to stop.
//!
//! nix is used where its wrapper passes exactly what the kernel should see;
//! `accept4`, `recvfrom`, `getsockname`, `getpeername`, `setsockopt` and
//! `getsockopt` go to libc because nix's wrappers drop what strace shows
//! (the peer address of accept4, the in/out address length, raw options).
#![allow(clippy::disallowed_methods)]

use std::cell::Cell;
use std::ffi::CString;
use std::fmt;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Instant, SystemTime};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{
    self as ns, AddressFamily, Backlog, MsgFlags, Shutdown, SockFlag, SockType,
};

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::inspect::Inspect;
use crate::signals;
use crate::sockopt::{Opt, Value};
use crate::trace::{self, Event, STRACE_MAX_STRLEN, Tracer, len_in_out, quote};

/// A socket's file descriptor. Not closed on drop: socklab closes each socket
/// with an explicit, traced [`Sys::close`], as the C twin does; on a fatal
/// error the process exits and the kernel closes what is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Socket(RawFd);

impl Socket {
    pub fn fd(self) -> RawFd {
        self.0
    }

    fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: a Socket holds an fd returned by socket/accept4 that stays
        // open until Sys::close consumes the Socket.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

impl fmt::Display for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The type of a socket file found on disk by [`Sys::newfstatat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Socket,
    Symlink,
    Other,
}

/// The syscall layer: a tracer plus who to tell when a server is listening.
#[derive(Clone)]
pub struct Sys {
    tracer: Tracer,
    on_listening: Option<SyncSender<Addr>>,
    /// `--show-state`, `--pause-*`, `--step`: None when none is asked for.
    inspect: Option<Arc<Inspect>>,
}

/// Which syscall `Sys::call` makes: its name, the socket it is on (for
/// `--show-state` and pauses), and whether its address is AF_UNIX (hints).
struct Call {
    name: &'static str,
    fd: Option<Socket>,
    unix: bool,
}

/// How a call's arguments and return value render once it has returned.
struct Rendered {
    args: String,
    note: String,
}

impl Sys {
    pub fn new(tracer: Tracer) -> Sys {
        Sys {
            tracer,
            on_listening: None,
            inspect: None,
        }
    }

    /// `socklab demo` learns a server's address this way instead of reading
    /// its `listening on` line.
    pub fn notify_listening(mut self, tx: SyncSender<Addr>) -> Sys {
        self.on_listening = Some(tx);
        self
    }

    pub fn with_inspect(mut self, inspect: Inspect) -> Sys {
        self.inspect = inspect.is_active().then(|| Arc::new(inspect));
        self
    }

    /// The same layer without inspection, for the calls inspection makes.
    fn plain(&self) -> Sys {
        Sys {
            inspect: None,
            ..self.clone()
        }
    }

    /// A comment line in the trace stream (stderr when tracing), or on
    /// stdout when not tracing: the `--show-state` lines.
    pub fn note(&self, text: &str) {
        if self.tracer.enabled() {
            self.tracer.note(text);
        } else {
            self.say(text);
        }
    }

    /// One line of program output on stdout.
    pub fn say(&self, text: &str) {
        self.tracer.say(text);
    }

    /// Print the contract line `listening on ADDR` (tests and scripts read it).
    pub fn listening(&self, addr: &Addr) {
        self.say(&format!("listening on {addr}"));
        if let Some(tx) = &self.on_listening {
            let _ = tx.send(*addr);
        }
    }

    /// Make one syscall: trace it, retry it on EINTR, map a failure to an Error.
    /// Calls that can block first check for a stop signal that arrived
    /// before them; `--step`, `--pause-*` and `--show-state` hook in here.
    fn call(
        &self,
        c: Call,
        mut syscall: impl FnMut() -> std::result::Result<i64, Errno>,
        render: impl Fn(&std::result::Result<i64, Errno>) -> Rendered,
    ) -> Result<i64> {
        let name = c.name;
        let blocking = matches!(name, "accept4" | "connect" | "sendto" | "recvfrom" | "poll");
        loop {
            if blocking && let Some(sig) = signals::pending() {
                return Err(Error::Signal(sig));
            }
            if let Some(inspect) = &self.inspect {
                inspect.before(&self.plain(), name, c.fd);
            }
            let mut held = self
                .tracer
                .hold(matches!(name, "accept4" | "recvfrom" | "poll"));
            let start = SystemTime::now();
            let t0 = Instant::now();
            let ret = syscall();
            let duration = t0.elapsed();
            if let (Ok(v), false, None) = (ret, self.tracer.enabled(), &self.inspect) {
                return Ok(v);
            }
            let r = render(&ret);
            let event = Event {
                call: name,
                args: &r.args,
                ret: &ret,
                ret_note: &r.note,
                start,
                duration,
            };
            self.tracer.emit(&event, held.as_mut());
            drop(held);
            if let Some(inspect) = &self.inspect {
                inspect.after(&self.plain(), name, c.fd);
            }
            match ret {
                Ok(v) => return Ok(v),
                Err(Errno::EINTR) => match signals::pending() {
                    Some(sig) => return Err(Error::Signal(sig)),
                    None => continue,
                },
                Err(errno) => {
                    return Err(Error::Sys {
                        call: name,
                        line: format!("{name}({})", r.args),
                        errno,
                        unix: c.unix,
                    });
                }
            }
        }
    }

    /// socket(2), always with SOCK_CLOEXEC (as Python and the C twin).
    pub fn socket(&self, family: AddressFamily, ty: SockType) -> Result<Socket> {
        let fd = self.call(
            Call {
                name: "socket",
                fd: None,
                unix: family == AddressFamily::Unix,
            },
            || {
                ns::socket(family, ty, SockFlag::SOCK_CLOEXEC, None)
                    .map(|fd| i64::from(std::os::fd::IntoRawFd::into_raw_fd(fd)))
            },
            |_| Rendered {
                args: format!(
                    "{}, {}|SOCK_CLOEXEC, {}",
                    family_name(family),
                    type_name(ty),
                    if family == AddressFamily::Unix {
                        "0"
                    } else {
                        "IPPROTO_IP"
                    }
                ),
                note: String::new(),
            },
        )?;
        if let Some(inspect) = &self.inspect {
            inspect.track(
                fd as RawFd,
                family != AddressFamily::Unix && ty == SockType::Stream,
            );
        }
        Ok(Socket(fd as RawFd))
    }

    /// setsockopt(2): the value's bytes as its kind lays them out.
    pub fn setsockopt(&self, s: Socket, opt: &Opt, value: &Value) -> Result<()> {
        let bytes = &value.0;
        self.call(
            Call {
                name: "setsockopt",
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
                plain(format!(
                    "{s}, {}, {}, {}, {}",
                    opt.level_name,
                    opt.opt_name,
                    value.strace(opt.kind),
                    bytes.len()
                ))
            },
        )?;
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
                name: "getsockopt",
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
                let shown = match ret {
                    Ok(_) => Value(b[..(len.get() as usize).min(cap)].to_vec()).strace(opt.kind),
                    Err(_) => format!("{:p}", b.as_ptr()),
                };
                let lens = match ret {
                    Ok(_) => len_in_out(cap as libc::socklen_t, len.get()),
                    Err(_) => format!("[{cap}]"),
                };
                plain(format!(
                    "{s}, {}, {}, {shown}, {lens}",
                    opt.level_name, opt.opt_name
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
                name: "bind",
                fd: Some(s),
                unix: addr.is_unix(),
            },
            || {
                addr.with_nix(|a| ns::bind(s.0, a).map(|()| 0))
                    .unwrap_or(Err(Errno::EAFNOSUPPORT))
            },
            |_| plain(format!("{s}, {}, {len}", addr.strace())),
        )?;
        Ok(())
    }

    /// listen(2).
    pub fn listen(&self, s: Socket, backlog: i32) -> Result<()> {
        self.call(
            Call {
                name: "listen",
                fd: Some(s),
                unix: false,
            },
            || {
                let backlog = Backlog::new(backlog).map_err(|_| Errno::EINVAL)?;
                ns::listen(&s.borrow(), backlog).map(|()| 0)
            },
            |_| plain(format!("{s}, {backlog}")),
        )?;
        Ok(())
    }

    /// accept4(2) with a sockaddr_storage, so the one syscall gives the peer
    /// (nix's accept4 passes NULL and throws it away).
    pub fn accept4(&self, s: Socket) -> Result<(Socket, Addr)> {
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let fd = self.call(
            Call {
                name: "accept4",
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                // SAFETY: ss_ptr points to a live sockaddr_storage of `len` bytes.
                let r = unsafe {
                    libc::accept4(
                        s.0,
                        ss_ptr as *mut libc::sockaddr,
                        len.as_ptr(),
                        libc::SOCK_CLOEXEC,
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to ss.
                let ss = unsafe { &*ss_ptr };
                let peer = match ret {
                    Ok(_) => trace::sockaddr(ss, len.get()),
                    Err(_) => format!("{ss_ptr:p}"),
                };
                plain(format!(
                    "{s}, {peer}, {}, SOCK_CLOEXEC",
                    len_in_out(cap, len.get())
                ))
            },
        )?;
        if let Some(inspect) = &self.inspect {
            inspect.track(fd as RawFd, inspect.is_tcp(s.0));
        }
        Ok((Socket(fd as RawFd), Addr::from_raw(ss, len.get())))
    }

    /// connect(2).
    pub fn connect(&self, s: Socket, addr: &Addr) -> Result<()> {
        let len = addr.kernel_len();
        self.call(
            Call {
                name: "connect",
                fd: Some(s),
                unix: addr.is_unix(),
            },
            || {
                addr.with_nix(|a| ns::connect(s.0, a).map(|()| 0))
                    .unwrap_or(Err(Errno::EAFNOSUPPORT))
            },
            |_| plain(format!("{s}, {}, {len}", addr.strace())),
        )?;
        Ok(())
    }

    /// sendto(2): `send` when `to` is None (glibc's send is sendto with NULL, 0).
    pub fn sendto(&self, s: Socket, buf: &[u8], to: Option<&Addr>) -> Result<usize> {
        let n = self.call(
            Call {
                name: "sendto",
                fd: Some(s),
                unix: to.is_some_and(Addr::is_unix),
            },
            || {
                let n = match to {
                    None => ns::send(s.0, buf, MsgFlags::empty()),
                    Some(to) => to
                        .with_nix(|a| ns::sendto(s.0, buf, a, MsgFlags::empty()))
                        .unwrap_or(Err(Errno::EAFNOSUPPORT)),
                }?;
                Ok(n as i64)
            },
            |_| {
                let dest = match to {
                    None => "NULL, 0".to_string(),
                    Some(a) => format!("{}, {}", a.strace(), a.kernel_len()),
                };
                plain(format!(
                    "{s}, {}, {}, 0, {dest}",
                    quote(buf, STRACE_MAX_STRLEN),
                    buf.len()
                ))
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
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let buf_ptr = buf.as_mut_ptr();
        let buf_len = buf.len();
        let n = self.call(
            Call {
                name: "recvfrom",
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
                        0,
                        from,
                        from_len,
                    )
                };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let data = match ret {
                    // SAFETY: the kernel wrote n bytes to the live buffer.
                    Ok(n) => quote(
                        unsafe { std::slice::from_raw_parts(buf_ptr, *n as usize) },
                        STRACE_MAX_STRLEN,
                    ),
                    Err(_) => format!("{buf_ptr:p}"),
                };
                let from = if !want_from {
                    "NULL, NULL".to_string()
                } else {
                    // SAFETY: the call has returned; the kernel no longer writes to ss.
                    let ss = unsafe { &*ss_ptr };
                    let shown = if ret.is_ok() && len.get() > 0 {
                        trace::sockaddr(ss, len.get())
                    } else {
                        format!("{ss_ptr:p}")
                    };
                    let lens = if ret.is_ok() {
                        len_in_out(cap, len.get())
                    } else {
                        format!("[{cap}]")
                    };
                    format!("{shown}, {lens}")
                };
                plain(format!("{s}, {data}, {buf_len}, 0, {from}"))
            },
        )?;
        let from = want_from.then(|| Addr::from_raw(ss, len.get()));
        Ok((n as usize, from))
    }

    /// getsockname(2): the local address (the real port after binding port 0).
    pub fn getsockname(&self, s: Socket) -> Result<Addr> {
        self.sockname("getsockname", s, |fd, sa, len| {
            // SAFETY: sa/len point to a live storage and its size.
            unsafe { libc::getsockname(fd, sa, len) }
        })
    }

    /// getpeername(2): the connected peer's address.
    pub fn getpeername(&self, s: Socket) -> Result<Addr> {
        self.sockname("getpeername", s, |fd, sa, len| {
            // SAFETY: sa/len point to a live storage and its size.
            unsafe { libc::getpeername(fd, sa, len) }
        })
    }

    fn sockname(
        &self,
        name: &'static str,
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
                name,
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
                    Ok(_) => plain(format!(
                        "{s}, {}, {}",
                        trace::sockaddr(ss, len.get()),
                        len_in_out(cap, len.get())
                    )),
                    Err(_) => plain(format!("{s}, {ss_ptr:p}, [{cap}]")),
                }
            },
        )?;
        Ok(Addr::from_raw(ss, len.get()))
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
                name: "shutdown",
                fd: Some(s),
                unix: false,
            },
            || ns::shutdown(s.0, how).map(|()| 0),
            |_| plain(format!("{s}, {name}")),
        )?;
        Ok(())
    }

    /// close(2). Consumes the socket: it cannot be used after this.
    pub fn close(&self, s: Socket) -> Result<()> {
        // Not retried on EINTR: on Linux the fd is gone either way (close(2)).
        if let Some(inspect) = &self.inspect {
            inspect.before(&self.plain(), "close", Some(s));
            inspect.track(s.0, false);
        }
        let mut held = self.tracer.hold(false);
        let start = SystemTime::now();
        let t0 = Instant::now();
        let ret = nix::unistd::close(s.0).map(|()| 0);
        if self.tracer.enabled() {
            let event = Event {
                call: "close",
                args: &s.to_string(),
                ret: &ret,
                ret_note: "",
                start,
                duration: t0.elapsed(),
            };
            self.tracer.emit(&event, held.as_mut());
        }
        drop(held);
        if let Some(inspect) = &self.inspect {
            inspect.after(&self.plain(), "close", Some(s));
        }
        ret.map(drop).map_err(|errno| Error::Sys {
            call: "close",
            line: format!("close({s})"),
            errno,
            unix: false,
        })
    }

    /// poll(2) on one socket; returns its revents (empty on timeout).
    /// `timeout_ms` -1 waits forever.
    pub fn poll(&self, s: Socket, events: PollFlags, timeout_ms: i32) -> Result<PollFlags> {
        let revents = Cell::new(PollFlags::empty());
        self.call(
            Call {
                name: "poll",
                fd: Some(s),
                unix: false,
            },
            || {
                let mut fds = [PollFd::new(s.borrow(), events)];
                let timeout = nix::poll::PollTimeout::try_from(timeout_ms)
                    .unwrap_or(nix::poll::PollTimeout::NONE);
                let n = nix::poll::poll(&mut fds, timeout)?;
                revents.set(fds[0].revents().unwrap_or(PollFlags::empty()));
                Ok(i64::from(n))
            },
            |ret| Rendered {
                args: format!(
                    "[{{fd={s}, events={}}}], 1, {timeout_ms}",
                    poll_flags(events)
                ),
                note: match ret {
                    Ok(0) => "(Timeout)".to_string(),
                    Ok(_) => format!("([{{fd={s}, revents={}}}])", poll_flags(revents.get())),
                    Err(_) => String::new(),
                },
            },
        )?;
        Ok(revents.get())
    }

    /// ioctl(fd, FIONBIO, [on]): Python's `setblocking(False)` / `settimeout`.
    pub fn ioctl_fionbio(&self, s: Socket, on: bool) -> Result<()> {
        let value: libc::c_int = on.into();
        self.call(
            Call {
                name: "ioctl",
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: FIONBIO reads one int from the pointer we pass.
                let r = unsafe { libc::ioctl(s.0, libc::FIONBIO, &value as *const libc::c_int) };
                Errno::result(r).map(i64::from)
            },
            |_| plain(format!("{s}, FIONBIO, [{value}]")),
        )?;
        Ok(())
    }

    /// getsockopt(fd, SOL_TCP, TCP_INFO): the kernel's view of a TCP socket.
    pub fn tcp_info(&self, s: Socket) -> Result<libc::tcp_info> {
        let size = size_of::<libc::tcp_info>();
        let v = self.getsockopt_sized(s, &crate::sockopt::TCP_INFO, size)?;
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

    /// ioctl(fd, FIONREAD or TIOCOUTQ, [n]): SIOCINQ / SIOCOUTQ, bytes
    /// waiting to be read / not yet acknowledged by the peer.
    pub fn ioctl_queue(&self, s: Socket, request: libc::Ioctl, name: &'static str) -> Result<i32> {
        let value = Cell::new(0 as libc::c_int);
        self.call(
            Call {
                name: "ioctl",
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: these requests write one int to the pointer we pass.
                let r = unsafe { libc::ioctl(s.0, request, value.as_ptr()) };
                Errno::result(r).map(i64::from)
            },
            |ret| match ret {
                Ok(_) => plain(format!("{s}, {name}, [{}]", value.get())),
                Err(_) => plain(format!("{s}, {name}, {:p}", value.as_ptr())),
            },
        )?;
        Ok(value.get())
    }

    /// unlink(2): remove a socket file.
    pub fn unlink(&self, path: &Path) -> Result<()> {
        let c = cstring(path)?;
        self.call(
            Call {
                name: "unlink",
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::unlink(c.as_ptr()) }).map(i64::from)
            },
            |_| plain(quote(path.as_os_str().as_bytes(), usize::MAX)),
        )?;
        Ok(())
    }

    /// newfstatat(AT_FDCWD, path, ..., AT_SYMLINK_NOFOLLOW), glibc's lstat:
    /// what is at a UNIX server's path before it binds. None if nothing.
    pub fn newfstatat(&self, path: &Path) -> Result<Option<FileKind>> {
        let c = cstring(path)?;
        // SAFETY: a zeroed stat is valid.
        let mut st: libc::stat = unsafe { zeroed() };
        let st_ptr: *mut libc::stat = &mut st;
        let ret = self.call(
            Call {
                name: "newfstatat",
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid path and st_ptr a live stat buffer.
                let r = unsafe {
                    libc::fstatat(
                        libc::AT_FDCWD,
                        c.as_ptr(),
                        st_ptr,
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to st.
                let st = unsafe { &*st_ptr };
                let shown = match ret {
                    Ok(_) => format!(
                        "{{st_mode={}|{:04o}, st_size={}, ...}}",
                        file_type_name(st.st_mode),
                        st.st_mode & 0o7777,
                        st.st_size
                    ),
                    Err(_) => format!("{st_ptr:p}"),
                };
                plain(format!(
                    "AT_FDCWD, {}, {shown}, AT_SYMLINK_NOFOLLOW",
                    quote(path.as_os_str().as_bytes(), usize::MAX)
                ))
            },
        );
        match ret {
            Ok(_) => Ok(Some(match st.st_mode & libc::S_IFMT {
                libc::S_IFSOCK => FileKind::Socket,
                libc::S_IFLNK => FileKind::Symlink,
                _ => FileKind::Other,
            })),
            Err(e) if e.errno() == Some(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn plain(args: String) -> Rendered {
    Rendered {
        args,
        note: String::new(),
    }
}

fn cstring(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Usage(format!("path {} contains a NUL byte", path.display())))
}

pub fn family_name(f: AddressFamily) -> &'static str {
    match f {
        AddressFamily::Inet => "AF_INET",
        AddressFamily::Inet6 => "AF_INET6",
        AddressFamily::Unix => "AF_UNIX",
        _ => "AF_???",
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

fn file_type_name(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFSOCK => "S_IFSOCK",
        libc::S_IFLNK => "S_IFLNK",
        libc::S_IFREG => "S_IFREG",
        libc::S_IFDIR => "S_IFDIR",
        libc::S_IFIFO => "S_IFIFO",
        libc::S_IFCHR => "S_IFCHR",
        libc::S_IFBLK => "S_IFBLK",
        _ => "0",
    }
}

/// `POLLIN|POLLOUT`, in strace's bit order.
fn poll_flags(f: PollFlags) -> String {
    const NAMES: [(PollFlags, &str); 6] = [
        (PollFlags::POLLIN, "POLLIN"),
        (PollFlags::POLLPRI, "POLLPRI"),
        (PollFlags::POLLOUT, "POLLOUT"),
        (PollFlags::POLLERR, "POLLERR"),
        (PollFlags::POLLHUP, "POLLHUP"),
        (PollFlags::POLLNVAL, "POLLNVAL"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(flag, _)| f.contains(*flag))
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "0".to_string()
    } else {
        names.join("|")
    }
}
