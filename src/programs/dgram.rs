//! The tutorial's datagram server and client, shared by UDP (`udp.rs`) and
//! UNIX datagram sockets (`unix.rs --dgram`).
//!
//! Server, after `modes::bound_socket` (socket, [setsockopt SO_REUSEADDR], bind):
//! 1. `getsockname(fd)` → print `listening on ADDR`
//! 2. loop: `recvfrom(fd, flags)` (flags 0, or `--recv-flags`) → print
//!    sender and bytes (an empty datagram too; with MSG_TRUNC, a datagram
//!    longer than `--bufsize`: `truncated`, since recvfrom then returns its
//!    real length; without it, the kept bytes only; with `-q` nothing); `sendto(fd, upper-cased, sender)`, to a UNIX peer with
//!    `MSG_DONTWAIT` (a peer whose queue is full gets EAGAIN, reported, and
//!    no reply); until `--once` or `--max-conns` datagrams
//! 3. `close(fd)`
//!
//! `--model uring`: steps 1-3 on an io_uring instead (`model/uring_dgram.rs`).
//!
//! Client: 1. `socket(SOCK_DGRAM)`; 2. `ioctl(FIONBIO)` with `--timeout`;
//! 3. `bind(ADDR)` with `--bind`; else UNIX only: `bind({sa_family=AF_UNIX},
//! 2)`, the kernel's autobind, so the server's reply has an address to go
//! to; 4. `connect` with `--connect`;
//! 5. per line, empty ones too: `sendto` (or `send` when connected; flags
//! `--send-flags`), then (not with `--no-reply`) `recvfrom` (flags
//! `--recv-flags`; MSG_PEEK: a peek printed, then the same recvfrom
//! without it) → print the reply (with MSG_TRUNC: or that it was truncated);
//! UDP with `--names` and no `--connect`: after the first `sendto` (the
//! kernel's implicit bind), `getsockname` → `fd N: local L (bound by the
//! first sendto)`; with `--bind`, or UNIX (its autobind), after the bind:
//! `fd N: local L (bound by --bind)` / `(the kernel's autobind name)`;
//! 6. `close`.

use nix::sys::socket::SockType;

use crate::output::{Output, shown};
use crate::socket::buffer::buffer;
use crate::socket::messages::Messages;
use crate::socket::modes::{self, Setup};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::Result;
use crate::values::sockopt::Phase;

#[derive(Clone, Debug)]
pub struct ServerOpts {
    pub bufsize: usize,
    pub once: bool,
    /// Exit after this many datagrams (the datagram server has no connections).
    pub max_conns: Option<u64>,
    pub quiet: bool,
    pub setup: Setup,
    /// `--model`: iterative, epoll (`epoll_wait` before each `recvfrom`)
    /// or uring (`model/uring_dgram.rs`).
    pub model: crate::programs::server_opts::Model,
    /// `--batch N`: recvmmsg/sendmmsg of up to N datagrams (dgram_batch.rs).
    pub batch: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct ClientOpts {
    pub bufsize: usize,
    pub connect: bool,
    /// `--raw`, or stdout is not a terminal: print the server's bytes as
    /// they came (else control characters are shown escaped).
    pub raw: bool,
    /// `--no-reply`: send the messages, no recvfrom.
    pub no_reply: bool,
    /// `--bind ADDR`: bind it instead of the UNIX autobind; UDP: before
    /// connect or the first sendto.
    pub bind: Option<Addr>,
    pub setup: Setup,
}

/// Serve on a bound socket (steps 1 to 3); `--batch N` is
/// `dgram_batch::serve`'s (udp.rs and unix.rs choose).
pub fn serve(sys: &Sys, out: &Output, s: Socket, opts: &ServerOpts) -> Result<()> {
    if opts.model == crate::programs::server_opts::Model::Uring {
        let limit = if opts.once { Some(1) } else { opts.max_conns };
        let (bufsize, quiet) = (opts.bufsize, opts.quiet);
        let uring = crate::programs::model::DgramUring {
            bufsize,
            limit,
            quiet,
        };
        return crate::programs::model::serve_dgram_uring(sys, out, s, &uring);
    }
    // Allocated first: a --bufsize that cannot be allocated fails before
    // `listening on`.
    let mut buf = buffer(opts.bufsize, "--bufsize")?;
    out.listening(&sys.getsockname(s)?);
    modes::set_wait(sys, out, s, opts.setup.wait)?;
    let mut epoll = match opts.model {
        crate::programs::server_opts::Model::Epoll => {
            Some(crate::programs::model::serve_dgram_epoll(sys, s)?)
        }
        _ => None,
    };
    let mut served = 0u64;
    loop {
        if let Some(ep) = &mut epoll {
            ep.wait(sys)?;
        }
        let (real, from) = modes::recv_datagram(
            sys,
            s,
            &mut buf,
            true,
            opts.setup.recv_flags,
            opts.setup.wait,
        )?;
        let from = from.unwrap_or_else(Addr::unix_autobind);
        let n = real.min(buf.len());
        if !opts.quiet {
            let trunc = opts.setup.recv_flags & libc::MSG_TRUNC != 0;
            let empty = crate::output::zero_bytes_suffix(n, real, buf.len(), trunc);
            out.say_addr(
                "datagram from ",
                &from,
                &format!(": {}{empty}", shown(&buf[..n])),
            );
        }
        if real > n && !opts.quiet {
            say_truncated(out, &from, real, n);
        }
        let reply = &mut buf[..n];
        reply.make_ascii_uppercase();
        // A reply that cannot go out (an unbound UNIX client has no address,
        // an ICMP error came back, a UNIX peer's queue is full) is that
        // peer's failure: reported, the reply dropped; the server goes on.
        if let Err(e) = reply_to(sys, s, reply, &from, opts.setup.wait) {
            if matches!(e, crate::values::error::Error::Signal(_)) {
                return Err(e);
            }
            crate::output::report(&e);
        }
        served += 1;
        if opts.once || opts.max_conns.is_some_and(|max| served >= max) {
            break;
        }
    }
    if let Some(ep) = epoll {
        ep.close(sys)?;
    }
    sys.close(s)
}

/// The reply of step 2. To a UNIX peer: one `sendto(..., MSG_DONTWAIT,
/// ...)` in every mode, never a wait: a UNIX datagram `sendto` waits for
/// room in the receiver's queue, so a peer that never reads would hold the
/// server (and every other client) forever; EAGAIN is that peer's failure,
/// as a UDP reply the kernel cannot deliver is (UDP never waits on its
/// receiver). To a UDP peer: Python's `sendto` in the socket's mode.
fn reply_to(sys: &Sys, s: Socket, reply: &[u8], to: &Addr, wait: modes::Wait) -> Result<usize> {
    if to.is_unix() {
        sys.sendto_dontwait(s, reply, Some(to))
    } else {
        modes::send(sys, s, reply, Some(to), wait)
    }
}

/// The client (steps 1 to 6).
pub fn client(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &ClientOpts,
) -> Result<()> {
    // --raw: its --names lines' UNIX names as they are, as its replies.
    let out = &out.with_raw(opts.raw);
    // Before any call: a --bufsize that cannot be allocated is exit 1 at once.
    let mut buf = buffer(opts.bufsize, "--bufsize")?;
    let s = sys.socket(modes::family(addr), SockType::Datagram)?;
    modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Created)?;
    modes::set_wait(sys, out, s, opts.setup.wait)?;
    match &opts.bind {
        Some(local) => sys.bind(s, local)?,
        None if addr.is_unix() => sys.bind(s, &Addr::unix_autobind())?,
        None => {}
    }
    if opts.connect {
        modes::connect(sys, s, addr, opts.setup.wait)?;
        modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Connected)?;
        if opts.setup.names {
            modes::show_names(sys, out, s)?;
        }
    }
    // --names on an unconnected socket that bind named (--bind, a UNIX
    // client's autobind): no connect shows it, so getsockname now.
    if opts.setup.names && !opts.connect && (opts.bind.is_some() || addr.is_unix()) {
        let local = sys.getsockname(s)?;
        let how = if opts.bind.is_some() {
            " (bound by --bind)"
        } else {
            " (the kernel's autobind name)"
        };
        out.say_addr(&format!("fd {s}: local "), &local, how);
    }
    let to = (!opts.connect).then_some(addr);
    // --names on an unconnected UDP socket: the first sendto bound it.
    let mut show_bound =
        opts.setup.names && !opts.connect && !addr.is_unix() && opts.bind.is_none();
    for msg in messages {
        let msg = msg?;
        modes::send_with(sys, s, &msg, to, opts.setup.send_flags, opts.setup.wait)?;
        if show_bound {
            show_bound = false;
            let local = sys.getsockname(s)?;
            out.say_addr(
                &format!("fd {s}: local "),
                &local,
                " (bound by the first sendto)",
            );
        }
        if opts.no_reply {
            continue;
        }
        let (real, from) = recv_reply(sys, out, s, &mut buf, opts)?;
        let from = from.unwrap_or(*addr);
        let n = real.min(buf.len());
        if real > n {
            say_truncated(out, &from, real, n);
        }
        if n == 0 && real == 0 {
            let trunc = opts.setup.recv_flags & libc::MSG_TRUNC != 0;
            match crate::output::zero_bytes(0, 0, buf.len(), trunc) {
                Some("an empty datagram") | None => {
                    out.say_addr("(an empty datagram from ", &from, ")");
                }
                Some(note) => out.say_addr("(a datagram from ", &from, &format!(": {note})")),
            }
        } else if n > 0 {
            out.say_peer(&buf[..n], opts.raw);
        }
    }
    sys.close(s)
}

/// The reply's `recvfrom` with `--recv-flags`; with MSG_PEEK among them,
/// the peek first (its bytes printed), then the same call without it.
fn recv_reply(
    sys: &Sys,
    out: &Output,
    s: Socket,
    buf: &mut [u8],
    opts: &ClientOpts,
) -> Result<(usize, Option<Addr>)> {
    let (flags, wait) = (opts.setup.recv_flags, opts.setup.wait);
    if flags & libc::MSG_PEEK != 0 {
        let (real, _) = modes::recv_datagram(sys, s, buf, !opts.connect, flags, wait)?;
        let n = real.min(buf.len());
        if n > 0 {
            out.say_peer(buf.get(..n).unwrap_or_default(), opts.raw);
        }
    }
    modes::recv_datagram(sys, s, buf, !opts.connect, flags & !libc::MSG_PEEK, wait)
}

/// A datagram longer than the buffer: recvfrom kept its first `kept` bytes
/// and the kernel dropped the rest; MSG_TRUNC (`--recv-flags`) told its
/// real length.
pub(super) fn say_truncated(out: &Output, from: &Addr, real: usize, kept: usize) {
    out.say_addr(
        "datagram from ",
        from,
        &format!(": truncated: {real} bytes, buffer {kept} (--bufsize)"),
    );
}
