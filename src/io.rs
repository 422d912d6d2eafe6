//! Helpers built on `sys`: a bound socket, and Python's blocking and timeout
//! modes for connect, accept, recv and send.
//!
//! Timeout mode is CPython's `settimeout(t)`: the socket is made non-blocking
//! once (`ioctl(FIONBIO)`), and each call is preceded by a `poll` with the
//! time left until the call's deadline; a poll that returns 0 is a timeout.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::sockopt;
use crate::sys::{Socket, Sys};

/// How a socket's calls wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// The default: calls block until they can complete.
    Blocking,
    /// Python's `settimeout(secs)`: non-blocking fd plus `poll` before each call.
    Timeout(Duration),
}

impl Wait {
    pub fn from_secs(secs: Option<f64>) -> Wait {
        secs.map_or(Wait::Blocking, |s| {
            Wait::Timeout(Duration::from_secs_f64(s))
        })
    }

    /// `gettimeout()` as Python prints it: `None` or seconds.
    pub fn describe(&self) -> String {
        match self {
            Wait::Blocking => "timeout None (blocking)".to_string(),
            Wait::Timeout(d) => format!("timeout {}s", d.as_secs_f64()),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::Blocking => None,
            Wait::Timeout(d) => Some(Instant::now() + *d),
        }
    }
}

/// Steps: 1. `socket(family, ty)`; 2. `setsockopt(SO_REUSEADDR, 1)` only
/// when `reuseaddr`; 3. `bind(addr)`.
pub fn bound_socket(sys: &Sys, addr: &Addr, ty: SockType, reuseaddr: bool) -> Result<Socket> {
    let s = sys.socket(family(addr), ty)?;
    if reuseaddr {
        sys.setsockopt(s, &sockopt::SO_REUSEADDR, 1)?;
    }
    sys.bind(s, addr)?;
    Ok(s)
}

pub fn family(addr: &Addr) -> AddressFamily {
    addr.family().unwrap_or(AddressFamily::Inet)
}

/// Put the socket in the mode `wait` asks for: `ioctl(FIONBIO, [1])` for a
/// timeout, nothing for blocking (sockets start blocking).
pub fn set_wait(sys: &Sys, s: Socket, wait: Wait) -> Result<()> {
    match wait {
        Wait::Blocking => Ok(()),
        Wait::Timeout(_) => sys.ioctl_fionbio(s, true),
    }
}

/// Before a call in timeout mode: `poll(events, ms left)`; 0 means timeout.
fn ready(
    sys: &Sys,
    s: Socket,
    events: PollFlags,
    deadline: Option<Instant>,
    wait: Wait,
    call: &str,
) -> Result<()> {
    let Some(deadline) = deadline else {
        return Ok(());
    };
    let left = deadline.saturating_duration_since(Instant::now());
    // CPython rounds the interval up to whole milliseconds.
    let ms = i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX);
    if sys.poll(s, events, ms)?.is_empty() {
        let secs = match wait {
            Wait::Timeout(d) => d.as_secs_f64(),
            Wait::Blocking => 0.0,
        };
        return Err(Error::Timeout {
            line: format!("{call}({s}, ...)"),
            secs,
        });
    }
    Ok(())
}

/// Run `op` the way CPython's `sock_call` does: in timeout mode, poll first,
/// and poll again if the call still says EAGAIN (a spurious wake-up).
fn waiting<T>(
    sys: &Sys,
    s: Socket,
    events: PollFlags,
    wait: Wait,
    call: &str,
    mut op: impl FnMut() -> Result<T>,
) -> Result<T> {
    let deadline = wait.deadline();
    loop {
        ready(sys, s, events, deadline, wait, call)?;
        match op() {
            Err(e) if deadline.is_some() && e.errno() == Some(Errno::EAGAIN) => continue,
            r => return r,
        }
    }
}

/// Python's `connect`. Blocking: one `connect`. Timeout: `connect` →
/// EINPROGRESS → `poll(POLLOUT|POLLERR)` → `getsockopt(SO_ERROR)`.
pub fn connect(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<()> {
    match connect_code(sys, s, addr, wait)? {
        None => Ok(()),
        Some(err) => Err(err),
    }
}

/// Python's `connect_ex`: the errno as a number instead of a failure
/// (0 on success; EAGAIN, 11, when the timeout expires, as CPython).
pub fn connect_ex(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<i32> {
    match connect_code(sys, s, addr, wait) {
        Ok(None) => Ok(0),
        Ok(Some(e)) | Err(e @ Error::Sys { .. }) => Ok(e.errno().map_or(0, |e| e as i32)),
        Err(Error::Timeout { .. }) => Ok(Errno::EAGAIN as i32),
        Err(e) => Err(e),
    }
}

/// Ok(None) when connected; Ok(Some(error)) when SO_ERROR reports one.
fn connect_code(sys: &Sys, s: Socket, addr: &Addr, wait: Wait) -> Result<Option<Error>> {
    let deadline = wait.deadline();
    match sys.connect(s, addr) {
        Ok(()) => return Ok(None),
        Err(e) if deadline.is_some() && e.errno() == Some(Errno::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    ready(
        sys,
        s,
        PollFlags::POLLOUT | PollFlags::POLLERR,
        deadline,
        wait,
        "connect",
    )?;
    match sys.getsockopt(s, &sockopt::SO_ERROR)? {
        0 => Ok(None),
        code => Ok(Some(Error::Sys {
            call: "connect",
            line: format!("connect({s}, {}, {})", addr.strace(), addr.kernel_len()),
            errno: Errno::from_raw(code),
            unix: addr.is_unix(),
        })),
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
    waiting(sys, s, PollFlags::POLLIN, wait, "recvfrom", || {
        Ok(sys.recvfrom(s, buf, false)?.0)
    })
}

/// Python's `recvfrom(n)`: one `recvfrom` with the sender's address.
pub fn recvfrom(sys: &Sys, s: Socket, buf: &mut [u8], wait: Wait) -> Result<(usize, Addr)> {
    waiting(sys, s, PollFlags::POLLIN, wait, "recvfrom", || {
        let (n, from) = sys.recvfrom(s, buf, true)?;
        Ok((n, from.unwrap_or_else(Addr::unix_autobind)))
    })
}

/// Python's `send`/`sendto`: one `sendto`; may send less than asked.
pub fn send(sys: &Sys, s: Socket, buf: &[u8], to: Option<&Addr>, wait: Wait) -> Result<usize> {
    waiting(sys, s, PollFlags::POLLOUT, wait, "sendto", || {
        sys.sendto(s, buf, to)
    })
}

/// Python's `sendall`: `sendto` until every byte is out, on one deadline.
/// A zero-length buffer still makes one `sendto(..., 0)`, as Python does.
pub fn sendall(sys: &Sys, s: Socket, buf: &[u8], wait: Wait) -> Result<()> {
    let deadline = wait.deadline();
    let mut sent = 0;
    loop {
        ready(sys, s, PollFlags::POLLOUT, deadline, wait, "sendto")?;
        match sys.sendto(s, &buf[sent..], None) {
            Ok(n) => sent += n,
            Err(e) if deadline.is_some() && e.errno() == Some(Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        if sent >= buf.len() {
            return Ok(());
        }
    }
}
