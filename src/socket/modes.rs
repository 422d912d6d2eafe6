//! Helpers built on `sys`: a bound socket, `--sockopt` settings, and
//! Python's blocking, timeout and non-blocking modes for connect, accept,
//! recv and send.
//!
//! Timeout mode is CPython's `settimeout(t)`: the socket is made non-blocking
//! once (`ioctl(FIONBIO)`), and each call is preceded by a `poll` with the
//! time left until the call's deadline; a poll that returns 0 is a timeout.
//! Non-blocking mode is `setblocking(False)`: the call is made at once; when
//! it fails with EAGAIN (shown in the trace), socklab waits in `poll` and
//! makes it again: never a busy loop. Where poll says ready and the call
//! still says EAGAIN (a UNIX datagram peer's full queue), both modes back
//! off, 1 ms doubling to 1 s, and a timeout ends at its deadline (see
//! `Retry`).

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use crate::output::Output;
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::values::sockopt::{self, Phase, Setting, Value};

use super::retry::{Retry, ready, waiting};
pub use super::wait::Wait;

/// How each socket of a program is set up: its wait mode and `--sockopt`s.
#[derive(Clone, Debug)]
pub struct Setup {
    pub wait: Wait,
    pub sockopts: Vec<Setting>,
    /// `--names`: show getsockname/getpeername at connect and accept.
    pub names: bool,
    /// `--send-flags`: the flags of every `sendto` the program makes for
    /// its messages (0: none; a client's only).
    pub send_flags: i32,
    /// `--recv-flags`: the flags of every `recvfrom` for its replies (a
    /// client's; a datagram server's datagrams). 0: none.
    pub recv_flags: i32,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            wait: Wait::Blocking,
            sockopts: Vec::new(),
            names: false,
            send_flags: 0,
            recv_flags: 0,
        }
    }
}

/// Refuse a `--sockopt` whose phase cannot happen in this program (an
/// `@accepted` option on a client, `@connected` on a server...): it would
/// be silently never set.
pub fn check_phases(setup: &Setup, accepts: bool, connects: bool) -> Result<()> {
    for setting in &setup.sockopts {
        let (ok, why) = match setting.phase {
            Phase::Created => (true, ""),
            Phase::Accepted => (accepts, "only a stream server accepts connections"),
            Phase::Connected => (
                connects,
                "only a stream client, or a datagram client with --connect, connects",
            ),
        };
        if !ok {
            let phase = if setting.phase == Phase::Accepted {
                "accepted"
            } else {
                "connected"
            };
            return Err(Error::Usage(format!(
                "--sockopt {}@{phase}: {why}",
                setting.opt.user_name
            )));
        }
    }
    Ok(())
}

/// Steps: 1. `socket(family, ty)`; 2. `setsockopt(SO_REUSEADDR, 1)` only
/// when `reuseaddr`; 3. the `--sockopt`s set right after socket (each set,
/// then read back); 4. `bind(addr)`.
pub fn bound_socket(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    ty: SockType,
    reuseaddr: bool,
    setup: &Setup,
) -> Result<Socket> {
    let s = socket_to_bind(sys, out, addr, ty, reuseaddr, setup)?;
    sys.bind(s, addr)?;
    Ok(s)
}

/// Steps 1 to 3 of [`bound_socket`], for a caller that does more before
/// bind (a UNIX server opens its socket file's directory).
pub fn socket_to_bind(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    ty: SockType,
    reuseaddr: bool,
    setup: &Setup,
) -> Result<Socket> {
    let s = sys.socket(family(addr), ty)?;
    if reuseaddr {
        sys.setsockopt(s, &sockopt::SO_REUSEADDR, &Value::int(1))?;
    }
    apply_sockopts(sys, out, s, setup, Phase::Created)?;
    Ok(s)
}

pub fn family(addr: &Addr) -> AddressFamily {
    addr.family().unwrap_or(AddressFamily::Inet)
}

/// For each `--sockopt` of `phase`: `setsockopt`, then `getsockopt` to read
/// it back. Prints the requested and the effective value, and why they
/// differ where Linux documents why.
pub fn apply_sockopts(
    sys: &Sys,
    out: &Output,
    s: Socket,
    setup: &Setup,
    phase: Phase,
) -> Result<()> {
    for setting in setup.sockopts.iter().filter(|o| o.phase == phase) {
        sys.setsockopt(s, &setting.opt, &setting.value)?;
        let effective = sys.getsockopt(s, &setting.opt)?;
        let kind = setting.opt.kind;
        let mut line = format!(
            "sockopt {} on fd {s}: requested {}",
            setting.opt.user_name,
            setting.value.human(kind)
        );
        if effective != setting.value {
            line += &format!(", effective {}", effective.human(kind));
            if let Some(why) = sockopt::explain(&setting.opt, &setting.value, &effective) {
                line += &format!(" ({why})");
            }
        }
        out.say(&line);
    }
    Ok(())
}

/// Put the socket in the mode `wait` asks for: `ioctl(FIONBIO, [1])` for a
/// timeout or non-blocking mode, nothing for blocking (sockets start so).
/// Then prints what Python's `gettimeout()` would now say.
pub fn set_wait(sys: &Sys, out: &Output, s: Socket, wait: Wait) -> Result<()> {
    let python = match wait {
        Wait::Blocking => return Ok(()),
        Wait::Timeout(d) => format!("settimeout({:?})", d.as_secs_f64()),
        Wait::NonBlocking => "setblocking(False)".to_string(),
    };
    sys.ioctl_fionbio(s, true)?;
    out.say(&format!(
        "fd {s}: {python}, gettimeout() -> {}",
        wait.gettimeout()
    ));
    Ok(())
}

/// `--names`: `getsockname` and `getpeername` of a connected socket, shown
/// as `fd N: local L, peer P`.
pub fn show_names(sys: &Sys, out: &Output, s: Socket) -> Result<()> {
    let local = sys.getsockname(s)?;
    let peer = sys.getpeername(s)?;
    out.say_addrs(
        &[(&format!("fd {s}: local "), &local), (", peer ", &peer)],
        "",
    );
    Ok(())
}

/// Python's `connect`. Blocking: one `connect`. Timeout and non-blocking:
/// `connect` → EINPROGRESS → `poll(POLLOUT|POLLERR)` → `getsockopt(SO_ERROR)`.
pub fn connect(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<()> {
    match connect_code(sys, s, addr, wait)? {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Python's `connect_ex`: the errno as a number instead of a failure: 0 on
/// success; EINPROGRESS (115) at once on a non-blocking socket; EAGAIN (11)
/// when the timeout expires, as CPython.
pub fn connect_ex(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<i32> {
    let code = |e: Error| -> Result<i32> {
        match e {
            e @ Error::Sys { .. } => Ok(e.errno().map_or(0, |e| e as i32)),
            Error::Timeout { .. } => Ok(Errno::EAGAIN as i32),
            e => Err(e),
        }
    };
    if wait == Wait::NonBlocking {
        return sys.connect(s, addr).map(|()| 0).or_else(code);
    }
    match connect_code(sys, s, addr, wait) {
        Ok(None) => Ok(0),
        Ok(Some(e)) | Err(e) => code(e),
    }
}

/// Ok(None) when connected; Ok(Some(error)) when SO_ERROR reports one.
fn connect_code(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<Option<Error>> {
    let deadline = wait.deadline();
    match sys.connect(s, addr) {
        Ok(()) => return Ok(None),
        Err(e) if wait != Wait::Blocking && e.errno() == Some(Errno::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let events = PollFlags::POLLOUT | PollFlags::POLLERR;
    if wait == Wait::NonBlocking {
        sys.poll(s, events, -1)?;
    }
    ready(sys, s, events, deadline, wait, "connect")?;
    match sys.getsockopt(s, &sockopt::SO_ERROR)?.as_int().unwrap_or(0) {
        0 => Ok(None),
        code => Ok(Some(Error::sys(
            &crate::values::calls::CONNECT,
            format!("connect({s}, {}, {})", addr.strace(), addr.kernel_len()),
            Errno::from_raw(code),
            addr.is_unix(),
        ))),
    }
}

/// Python's `accept`: one `accept4` (after `poll(POLLIN)` in timeout mode).
pub fn accept(sys: &Sys, s: Socket, wait: Wait) -> Result<(Socket, Addr)> {
    waiting(sys, s, PollFlags::POLLIN, wait, "accept4", || {
        sys.accept4(s)
    })
}

/// Python's `recv(n)`: one `recvfrom(..., NULL, NULL)`.
pub fn recv(sys: &Sys, s: Socket, buf: &mut [u8], wait: Wait) -> Result<usize> {
    recv_with(sys, s, buf, 0, wait)
}

/// Python's `recv(n, flags)`: one `recvfrom(..., flags, NULL, NULL)`.
pub fn recv_with(sys: &Sys, s: Socket, buf: &mut [u8], flags: i32, wait: Wait) -> Result<usize> {
    waiting(sys, s, PollFlags::POLLIN, wait, "recvfrom", || {
        Ok(sys.recvfrom_raw(s, buf, flags, false)?.0)
    })
}

/// A datagram: one `recvfrom(..., flags, ...)`, with the sender's address
/// when `want_from`. Returns the count recvfrom returned (with MSG_TRUNC
/// in `flags`, the datagram's real length: more than `buf.len()` when it
/// was cut, `buf` holding its start) and the sender.
pub fn recv_datagram(
    sys: &Sys,
    s: Socket,
    buf: &mut [u8],
    want_from: bool,
    flags: i32,
    wait: Wait,
) -> Result<(usize, Option<Addr>)> {
    waiting(sys, s, PollFlags::POLLIN, wait, "recvfrom", || {
        sys.recvfrom_raw(s, buf, flags, want_from)
    })
}

/// Python's `send`/`sendto`: one `sendto`; may send less than asked.
pub fn send(sys: &Sys, s: Socket, buf: &[u8], to: Option<&Addr>, wait: Wait) -> Result<usize> {
    send_with(sys, s, buf, to, 0, wait)
}

/// Python's `sendto(buf, flags, addr)`: one `sendto` with `flags`.
pub fn send_with(
    sys: &Sys,
    s: Socket,
    buf: &[u8],
    to: Option<&Addr>,
    flags: i32,
    wait: Wait,
) -> Result<usize> {
    waiting(sys, s, PollFlags::POLLOUT, wait, "sendto", || {
        sys.sendto_raw(s, buf, flags, to)
    })
}

/// Python's `sendall`: `sendto` until every byte is out, on one deadline.
/// A zero-length buffer still makes one `sendto(..., 0)`, as Python does.
/// On a failure it says how many bytes went out before it (Python cannot).
pub fn sendall(sys: &Sys, out: &Output, s: Socket, buf: &[u8], wait: Wait) -> Result<()> {
    sendall_with(sys, out, s, buf, 0, wait)
}

/// [`sendall`] with `flags` on each `sendto` (Python's `sendall(buf, flags)`).
pub fn sendall_with(
    sys: &Sys,
    out: &Output,
    s: Socket,
    buf: &[u8],
    flags: i32,
    wait: Wait,
) -> Result<()> {
    let mut retry = Retry::new(wait);
    let mut sent = 0;
    loop {
        let step = retry
            .ready(sys, s, PollFlags::POLLOUT, wait, "sendto")
            .and_then(|()| sys.sendto_raw(s, buf.get(sent..).unwrap_or_default(), flags, None));
        let e = match step {
            Ok(n) => {
                sent += n;
                if sent >= buf.len() {
                    return Ok(());
                }
                retry.progress();
                continue;
            }
            Err(e) => e,
        };
        let e = match retry.again(sys, s, PollFlags::POLLOUT, wait, "sendto", &e) {
            Ok(true) => continue,
            Ok(false) => e,
            Err(other) => other,
        };
        if sent > 0 && !matches!(e, Error::Signal(_)) {
            out.say(&format!(
                "sendall: {sent} of {} bytes went out before the failure",
                buf.len()
            ));
        }
        return Err(e);
    }
}
