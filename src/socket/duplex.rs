//! A long message sent while its echo is read (issue 12).
//!
//! A client that sends a whole message before reading deadlocks with an
//! echo server once the message is longer than the buffers between them:
//! the server's `sendto` waits for the client to read, the client's
//! `sendto` waits for the server to read. Up to [`SENDALL_MAX`] bytes the
//! clients keep the tutorial's order (`sendall`, then `recv`); a longer
//! message goes out in pieces, and what came back is read in between
//! (not with `--send-mode send` or SO_SNDTIMEO: see [`needed`]):
//!
//! 1. `sendto(fd, rest, len, MSG_DONTWAIT, NULL, 0)`: what fits in the
//!    send buffer now (blocking mode; a `--timeout` or `--nonblocking` fd
//!    is non-blocking already, flags 0), or EAGAIN;
//! 2. `poll([{fd, POLLIN|POLLOUT}], 1, -1)` (with `--timeout`: the time
//!    left; 0 ready is a timeout, and this poll comes before step 1 too);
//! 3. POLLIN (or POLLERR/POLLHUP): one `recvfrom(fd, buf, bufsize)`, the
//!    bytes handed to the caller; 0 bytes: the server closed, stop;
//! 4. POLLOUT: back to 1, until every byte is out.

use nix::errno::Errno;
use nix::poll::PollFlags;

use crate::output::Output;
use crate::socket::modes::{Setup, Wait};
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// The longest message sent in one `sendall` before the echo is read:
/// 128 KiB, which loopback's default buffers hold (a TCP receive buffer
/// starts at 128 KiB, tcp_rmem; a UNIX socket's send buffer is 208 KiB).
pub const SENDALL_MAX: usize = 128 * 1024;

/// Whether a message of `len` bytes goes out while its echo is read: when
/// it is longer than [`SENDALL_MAX`] and sent with `sendall`
/// (`--send-mode send` is one `sendto`, as Python's), unless the user set
/// the kernel's send timeout (SO_SNDTIMEO, `--sndtimeo`): then the blocking
/// `sendto` they asked to watch is kept, and the timeout ends its wait.
pub fn needed(len: usize, sendall: bool, setup: &Setup) -> bool {
    let kernel_send_timeout = setup
        .sockopts
        .iter()
        .any(|s| s.opt.level == libc::SOL_SOCKET && s.opt.name == libc::SO_SNDTIMEO);
    len > SENDALL_MAX && sendall && !kernel_send_timeout
}

/// How a send-while-reading ended.
pub enum Sent {
    /// Every byte went out.
    All,
    /// The server closed (recvfrom returned 0) after `n` bytes went out.
    Closed(usize),
}

/// Send all of `msg` on the connected stream socket `s` in pieces, handing
/// each piece of the peer's bytes that arrives meanwhile to `on_data`
/// (steps 1 to 4 of the module doc).
pub fn send_reading(
    sys: &Sys,
    out: &Output,
    s: Socket,
    msg: &[u8],
    buf: &mut [u8],
    wait: Wait,
    on_data: impl FnMut(&[u8]) -> Result<()>,
) -> Result<Sent> {
    let mut sent = 0;
    let result = send_reading_from(sys, s, msg, &mut sent, buf, wait, on_data);
    if let Err(e) = &result
        && sent > 0
        && !matches!(e, Error::Signal(_))
    {
        // A failure of sendto, poll or recvfrom: say how far it got (as
        // io::sendall does).
        out.say(&format!(
            "sendall: {sent} of {} bytes went out before the failure",
            msg.len()
        ));
    }
    result
}

fn send_reading_from(
    sys: &Sys,
    s: Socket,
    msg: &[u8],
    sent: &mut usize,
    buf: &mut [u8],
    wait: Wait,
    mut on_data: impl FnMut(&[u8]) -> Result<()>,
) -> Result<Sent> {
    let deadline = match wait {
        Wait::Timeout(limit) => Some((std::time::Instant::now() + limit, limit)),
        Wait::Blocking | Wait::NonBlocking => None,
    };
    // With --timeout every call waits in poll first, as io's calls do.
    let mut poll_first = deadline.is_some();
    while *sent < msg.len() {
        if poll_first {
            let ms = match deadline {
                Some((at, _)) => {
                    let left = at.saturating_duration_since(std::time::Instant::now());
                    i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
                }
                None => -1,
            };
            let ready = sys.poll(s, PollFlags::POLLIN | PollFlags::POLLOUT, ms)?;
            if ready.is_empty() {
                let secs = deadline.map_or(0.0, |(_, limit)| limit.as_secs_f64());
                return Err(Error::timeout(format!("sendto({s}, ...)"), secs));
            }
            if ready.intersects(PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP) {
                let (n, _) = sys.recvfrom(s, buf, false)?;
                if n == 0 {
                    return Ok(Sent::Closed(*sent));
                }
                on_data(&buf[..n])?;
            }
            if !ready.contains(PollFlags::POLLOUT) {
                continue;
            }
        }
        poll_first = true;
        let step = if wait == Wait::Blocking {
            sys.sendto_dontwait(s, &msg[*sent..], None)
        } else {
            sys.sendto(s, &msg[*sent..], None)
        };
        match step {
            Ok(n) => *sent += n,
            Err(e) if e.errno() == Some(Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Sent::All)
}

/// The upper-cased echo of a message, checked piece by piece as it
/// arrives (no copy of the message or of the echo is kept).
pub struct Echo<'a> {
    sent: &'a [u8],
    /// Bytes received so far.
    pub got: usize,
    /// recvfrom calls that returned bytes.
    pub calls: usize,
    intact: bool,
}

impl<'a> Echo<'a> {
    pub fn new(sent: &'a [u8]) -> Echo<'a> {
        Echo {
            sent,
            got: 0,
            calls: 0,
            intact: true,
        }
    }

    /// One piece as `recvfrom` returned it.
    pub fn take(&mut self, piece: &[u8]) {
        let want = self.sent.get(self.got..).unwrap_or(&[]);
        self.intact = self.intact
            && piece.len() <= want.len()
            && piece
                .iter()
                .zip(want)
                .all(|(&b, &m)| b == m.to_ascii_uppercase());
        self.got += piece.len();
        self.calls += 1;
    }

    pub fn complete(&self) -> bool {
        self.got >= self.sent.len()
    }

    /// The echo is exactly the upper-cased message.
    pub fn intact(&self) -> bool {
        self.intact && self.got == self.sent.len()
    }

    pub fn expected(&self) -> usize {
        self.sent.len()
    }
}
