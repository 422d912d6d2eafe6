//! A benchmark's connection, made within `--connect-timeout`: a server
//! that does not accept (an iterative one, busy with its first client,
//! whose listen backlog is full) would keep a blocking connect waiting for
//! minutes (TCP retries its SYN; net.ipv4.tcp_syn_retries).
//!
//! Steps: 1. `socket`; [`--source`: `bind` to the connection's source
//! address, port 0]; 2. `ioctl(FIONBIO, 1)`; 3. `connect`: EINPROGRESS
//! (TCP), then `poll(POLLOUT, ms left)` and `getsockopt(SO_ERROR)`; a UNIX
//! socket's EAGAIN (its server's backlog is full) is tried again after
//! `poll([], 0, 10 ms)` (a sleep: a poll on the unconnected socket
//! itself says POLLHUP at once) until the deadline; 4. `ioctl(FIONBIO, 0)`: the
//! loads start from a blocking socket, as before.

use std::time::Instant;

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::SockType;

use super::Opts;
use crate::socket::modes;
use crate::sys::{Socket, Sys};
use crate::values::calls;
use crate::values::error::{Error, Result};
use crate::values::sockopt;

/// How long a UNIX connect refused with EAGAIN waits before it tries again.
const UNIX_RETRY_MS: i32 = 10;

/// socket, [bind], connect within `opts.connect_timeout`; `n` counts the
/// connections made so far (the source address, the message).
pub(super) fn connected(sys: &Sys, opts: &Opts, n: usize) -> Result<Socket> {
    let s = sys.socket(modes::family(&opts.addr), SockType::Stream)?;
    if let Some(from) = super::source::source_of(&opts.source, n) {
        sys.bind(s, from)
            .map_err(|e| super::source::out_of_ports(e, n, opts.conns, from))?;
    }
    sys.ioctl_fionbio(s, true)?;
    let deadline = Instant::now() + opts.connect_timeout;
    loop {
        match sys.connect(s, &opts.addr) {
            Ok(()) => break,
            Err(e) if e.errno() == Some(Errno::EINPROGRESS) => {
                if sys
                    .poll(s, PollFlags::POLLOUT, ms_left(deadline))?
                    .is_empty()
                {
                    return Err(not_accepting(opts, n));
                }
                match sys.getsockopt(s, &sockopt::SO_ERROR)?.as_int().unwrap_or(0) {
                    0 => break,
                    code => {
                        return Err(Error::sys(
                            &calls::CONNECT,
                            format!(
                                "connect({s}, {}, {})",
                                opts.addr.strace(),
                                opts.addr.kernel_len()
                            ),
                            Errno::from_raw(code),
                            opts.addr.is_unix(),
                        ));
                    }
                }
            }
            Err(e) if e.errno() == Some(Errno::EAGAIN) && opts.addr.is_unix() => {
                if Instant::now() >= deadline {
                    return Err(not_accepting(opts, n));
                }
                sys.poll_fds(&mut [], UNIX_RETRY_MS.min(ms_left(deadline)))?;
            }
            Err(e) => return Err(e),
        }
    }
    sys.ioctl_fionbio(s, false)?;
    Ok(s)
}

/// Whole milliseconds until `deadline`, rounded up.
fn ms_left(deadline: Instant) -> i32 {
    let left = deadline.saturating_duration_since(Instant::now());
    i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
}

fn not_accepting(opts: &Opts, n: usize) -> Error {
    Error::Runtime(format!(
        "connection {} of {} did not complete within {} s (--connect-timeout): the server is not \
         accepting. An iterative server (the default --model of socklab's servers) serves one client at a time \
         and its listen backlog (--backlog) holds only a few more waiting: run it with \
         --model epoll (or thread, fork), or use fewer --conns",
        n + 1,
        opts.conns,
        opts.connect_timeout.as_secs_f64()
    ))
}
