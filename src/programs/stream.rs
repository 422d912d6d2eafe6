//! The tutorial's stream server and client, shared by TCP (`tcp.rs`) and
//! UNIX stream sockets (`unix.rs`): the phone call of `../shared/seed`.
//!
//! Server, after `modes::bound_socket` (socket, [setsockopt SO_REUSEADDR], bind):
//! 1. `listen(fd, backlog)`
//! 2. `getsockname(fd)` → print `listening on ADDR`
//! 3. connection loop: `accept4(fd)` [UNIX: `getsockopt(conn, SO_PEERCRED)`]
//!    → print `connection from PEER` [UNIX: `(pid N, uid N, gid N)`]
//! 4. communication loop: `recvfrom(conn)`; 0 bytes → print `PEER closed`,
//!    leave the loop; else print the message and `sendto` it upper-cased
//!    (`--sink`: `recvfrom` until 0, no reply)
//! 5. `close(conn)`; back to 3 until `--once` or `--max-conns`
//! 6. `close(fd)`
//!
//! Client: 1. `socket`; 2. `ioctl(FIONBIO)` with `--timeout`; 3. `connect`;
//! 4. per message: `sendto` (all of it), `recvfrom` → print the reply (a
//! message over 128 KiB: `sendto(MSG_DONTWAIT)`, `poll(POLLIN|POLLOUT)`
//! and `recvfrom` in turn, see `duplex.rs`); 5. `close`.

use std::time::Instant;

use nix::sys::socket::{Shutdown, SockType};

use crate::output::{Output, peer_text, shown};
use crate::socket::buffer::buffer;
use crate::socket::duplex::{self, Echo};
use crate::socket::lines;
use crate::socket::messages::Messages;
use crate::socket::modes::{self, Setup, Wait};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::values::sockopt::Phase;

/// What the stream server does, from the command line.
#[derive(Clone, Debug)]
pub struct ServerOpts {
    pub backlog: i32,
    pub bufsize: usize,
    pub reuseaddr: bool,
    pub once: bool,
    pub max_conns: Option<u64>,
    pub quiet: bool,
    pub naive: bool,
    pub naive_limit: u64,
    /// `--lines`: read through a buffer line by line (Python's makefile).
    pub lines: bool,
    /// `--sink`: read and discard, no reply.
    pub sink: bool,
    pub setup: Setup,
    /// `--model`: how the server handles many clients (`model/`).
    pub model: crate::programs::model::Model,
}

/// How the client sends a message: Python's `send` or `sendall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SendMode {
    /// One `sendto`; reports it when the kernel took less than asked.
    Send,
    /// `sendto` until all is out (the default, as the tutorial's clients).
    Sendall,
}

/// What the stream client does, from the command line.
#[derive(Clone, Debug)]
pub struct ClientOpts {
    pub bufsize: usize,
    pub send_mode: SendMode,
    /// `--size N`: the message is a pattern; read the whole echo back.
    pub sized: bool,
    /// `--lines`: send every line first, read the replies through a buffer.
    pub lines: bool,
    /// `--shutdown`: after the last message, shutdown(SHUT_WR) and read
    /// until the server closes.
    pub shutdown: bool,
    pub send_empty: bool,
    pub connect_ex: bool,
    /// `--raw`, or stdout is not a terminal: print the server's bytes as
    /// they came (else control characters are shown escaped).
    pub raw: bool,
    pub setup: Setup,
}

/// Serve on a bound socket (steps 1 to 6); `--model` other than
/// `iterative` hands over to `model::serve` after `getsockname`.
pub fn serve(sys: &Sys, out: &Output, listener: Socket, opts: &ServerOpts) -> Result<()> {
    let iterative = opts.model == crate::programs::model::Model::Iterative;
    // One receive buffer for every connection (as the C twin), allocated
    // first: a --bufsize that cannot be allocated fails before listen.
    let mut buf = if iterative {
        buffer(opts.bufsize, "--bufsize")?
    } else {
        Vec::new()
    };
    sys.listen(listener, opts.backlog)?;
    let me = sys.getsockname(listener)?;
    if !iterative {
        // Each model says `listening on` once it is ready to serve.
        return crate::programs::model::serve(sys, out, listener, &me, opts);
    }
    out.listening(&me);
    modes::set_wait(sys, out, listener, opts.setup.wait)?;
    let mut served = 0u64;
    loop {
        let (conn, peer) = match modes::accept(sys, listener, opts.setup.wait) {
            Ok(accepted) => accepted,
            // accept(2): Linux passes a pending network error of the new
            // connection on as accept's error; the listener is fine: go on.
            Err(e) if e.errno().is_some_and(accept_error_is_the_peers) => {
                crate::output::report(&e);
                continue;
            }
            Err(e) => return Err(e),
        };
        serve_conn(sys, out, conn, &peer, opts, &mut buf)?;
        served += 1;
        if opts.once || opts.max_conns.is_some_and(|max| served >= max) {
            break;
        }
    }
    sys.close(listener)
}

/// One accepted connection, steps 3 to 5 after `accept4`: [ioctl(FIONBIO)],
/// the @accepted `--sockopt`s, [--names], `connection from PEER`, the
/// communication loop, `close(conn)`. A failure on the connection is
/// reported and ends only it; only a stop signal is returned. The same in
/// every model that gives a connection its own process or thread.
pub fn serve_conn(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    let result = serve_one(sys, out, conn, peer, opts, buf);
    // A failure on one connection ends that connection, not the server.
    if let Err(e) = result {
        if matches!(e, Error::Signal(_)) {
            return Err(e);
        }
        crate::output::report(&e);
    }
    // The descriptor is gone even when close fails (close(2)): say so,
    // and serve the next client.
    if let Err(e) = sys.close(conn) {
        crate::output::report(&e);
    }
    Ok(())
}

/// One accepted connection: its setup (non-blocking mode, `@accepted`
/// options, names), then the conversation. An error here is this
/// connection's: the caller reports it and serves the next client.
fn serve_one(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    if opts.setup.wait == Wait::NonBlocking {
        // Linux's accept4 does not pass O_NONBLOCK on; make the
        // connection non-blocking too, so its EAGAINs show.
        modes::set_wait(sys, out, conn, opts.setup.wait)?;
    }
    modes::apply_sockopts(sys, out, conn, &opts.setup, Phase::Accepted)?;
    if opts.setup.names {
        modes::show_names(sys, out, conn)?;
    }
    // A UNIX peer's credentials, as the kernel recorded them at connect.
    let cred = if peer.is_unix() {
        let c = sys.peercred(conn)?;
        format!(" (pid {}, uid {}, gid {})", c.pid, c.uid, c.gid)
    } else {
        String::new()
    };
    if !opts.quiet {
        out.say(&format!("connection from {peer}{cred}"));
    }
    if opts.once {
        answer_once(sys, out, conn, peer, opts, buf)
    } else if opts.naive {
        converse_naively(sys, out, conn, peer, opts, buf)
    } else if opts.sink {
        sink(sys, out, conn, peer, opts, buf)
    } else if opts.lines {
        lines::converse(sys, out, conn, peer, buf, opts.setup.wait)
    } else {
        converse(sys, out, conn, peer, opts, buf)
    }
}

/// The errors accept(2) says to treat like EAGAIN: the connection being
/// accepted failed (reset before accept, a network error), not the listener.
pub fn accept_error_is_the_peers(errno: nix::errno::Errno) -> bool {
    use nix::errno::Errno::*;
    matches!(
        errno,
        ECONNABORTED
            | EPROTO
            | EPERM
            | ENETDOWN
            | ENOPROTOOPT
            | EHOSTDOWN
            | ENONET
            | EHOSTUNREACH
            | EOPNOTSUPP
            | ENETUNREACH
    )
}

/// The tutorial's "low version": one `recvfrom`, one reply.
fn answer_once(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    let n = modes::recv(sys, conn, buf, opts.setup.wait)?;
    if n == 0 {
        if !opts.quiet {
            out.say(&format!("{peer} closed"));
        }
        return Ok(());
    }
    reply(sys, out, conn, peer, &mut buf[..n], opts)
}

/// The improved server's communication loop, with the `len(msg) == 0` check.
fn converse(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    loop {
        let n = modes::recv(sys, conn, buf, opts.setup.wait)?;
        if n == 0 {
            if !opts.quiet {
                out.say(&format!("{peer} closed"));
            }
            return Ok(());
        }
        reply(sys, out, conn, peer, &mut buf[..n], opts)?;
    }
}

/// `--sink`: `recvfrom` until the peer closes; nothing is sent back.
fn sink(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    while modes::recv(sys, conn, buf, opts.setup.wait)? > 0 {}
    if !opts.quiet {
        out.say(&format!("{peer} closed"));
    }
    Ok(())
}

/// The tutorial's server without the `len(msg) == 0` check: after the peer
/// closes, `recv` returns 0 at once, forever, and the server answers each
/// empty message with an empty send. Stops after `--naive-limit` spins.
fn converse_naively(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    opts: &ServerOpts,
    buf: &mut [u8],
) -> Result<()> {
    let mut empty = 0u64;
    let mut first_empty: Option<Instant> = None;
    loop {
        let n = modes::recv(sys, conn, buf, opts.setup.wait)?;
        if n == 0 {
            empty += 1;
            first_empty.get_or_insert_with(Instant::now);
        }
        reply(sys, out, conn, peer, &mut buf[..n], opts)?;
        if empty >= opts.naive_limit {
            break;
        }
    }
    let secs = first_empty.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let rate = if secs > 0.0 {
        empty as f64 / secs
    } else {
        f64::INFINITY
    };
    out.say(&format!(
        "{peer} closed, but the naive server does not check for it: recv returned 0 bytes {empty} times in {:.3} ms ({rate:.0}/s), never blocking; stopped at --naive-limit {}",
        secs * 1e3,
        opts.naive_limit
    ));
    Ok(())
}

/// Print the message, send it back upper-cased (in place: no allocation
/// per message).
fn reply(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    msg: &mut [u8],
    opts: &ServerOpts,
) -> Result<()> {
    if !opts.quiet && !msg.is_empty() {
        out.say(&format!("from {peer}: {}", shown(msg)));
    }
    msg.make_ascii_uppercase();
    modes::sendall(sys, out, conn, msg, opts.setup.wait)
}

/// Send one message as `--send-mode` says; returns the bytes that went out.
fn send_message(
    sys: &Sys,
    out: &Output,
    s: Socket,
    msg: &[u8],
    opts: &ClientOpts,
) -> Result<usize> {
    match opts.send_mode {
        SendMode::Sendall => modes::sendall(sys, out, s, msg, opts.setup.wait).map(|()| msg.len()),
        SendMode::Send => {
            let n = modes::send(sys, s, msg, None, opts.setup.wait)?;
            if n < msg.len() {
                out.say(&format!(
                    "send: {n} of {} bytes sent; the rest was not (send may send less than asked: sendall loops)",
                    msg.len()
                ));
            }
            Ok(n)
        }
    }
}

/// Read until the upper-cased echo of `sent` is back (one `recv` may carry
/// part of it; `echo` may hold the pieces that came while sending); print
/// what arrived. False when the server closed first.
fn receive_echo(
    sys: &Sys,
    out: &Output,
    s: Socket,
    buf: &mut [u8],
    mut echo: Echo,
    opts: &ClientOpts,
) -> Result<bool> {
    while !echo.complete() {
        let n = modes::recv(sys, s, buf, opts.setup.wait)?;
        if n == 0 {
            out.say(&format!(
                "server closed the connection after {} of {} bytes",
                echo.got,
                echo.expected()
            ));
            return Ok(false);
        }
        echo.take(&buf[..n]);
    }
    let intact = echo.intact();
    out.say(&format!(
        "received {} bytes in {} recv calls: {}",
        echo.got,
        echo.calls,
        if intact {
            "the upper-cased message, intact"
        } else {
            "NOT the upper-cased message"
        }
    ));
    Ok(intact)
}

/// The client: connect, then one exchange per message.
pub fn client(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &ClientOpts,
) -> Result<()> {
    // Before any call: a --bufsize that cannot be allocated is exit 1 at once.
    let mut buf = buffer(opts.bufsize, "--bufsize")?;
    let s = sys.socket(modes::family(addr), SockType::Stream)?;
    modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Created)?;
    modes::set_wait(sys, out, s, opts.setup.wait)?;
    if opts.connect_ex {
        let code = modes::connect_ex(sys, s, addr, opts.setup.wait)?;
        out.say(&format!(
            "connect_ex -> {}",
            crate::output::errno_code(code)
        ));
    } else {
        modes::connect(sys, s, addr, opts.setup.wait)?;
    }
    modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Connected)?;
    if opts.setup.names {
        modes::show_names(sys, out, s)?;
    }
    if opts.lines {
        let all: Vec<Vec<u8>> = messages.collect::<Result<_>>()?;
        lines::exchange(sys, out, s, &all, &mut buf, &opts.setup, opts.raw)?;
        return finish(sys, out, s, &mut buf, opts);
    }
    for msg in messages {
        let msg = msg?;
        // The tutorial's client skips empty lines: `if not msg: continue`.
        if msg.is_empty() && !opts.send_empty {
            continue;
        }
        if duplex::needed(msg.len(), opts.send_mode == SendMode::Sendall, &opts.setup) {
            if !exchange_long(sys, out, s, &mut buf, &msg, opts)? {
                break;
            }
            continue;
        }
        let sent = send_message(sys, out, s, &msg, opts)?;
        if opts.sized {
            if !receive_echo(sys, out, s, &mut buf, Echo::new(&msg[..sent]), opts)? {
                break;
            }
            continue;
        }
        let n = modes::recv(sys, s, &mut buf, opts.setup.wait)?;
        if n == 0 {
            out.say("server closed the connection");
            break;
        }
        out.say(&peer_text(&buf[..n], opts.raw));
    }
    finish(sys, out, s, &mut buf, opts)
}

/// A message longer than `duplex::SENDALL_MAX`: sent while the echo is read
/// (`duplex`), so client and server cannot both wait in `sendto`. With
/// `--size` the echo is checked as with a short one; else each piece is
/// printed as it came, and when none came while sending, one `recv` as
/// for a short message. False when the server closed first.
fn exchange_long(
    sys: &Sys,
    out: &Output,
    s: Socket,
    buf: &mut [u8],
    msg: &[u8],
    opts: &ClientOpts,
) -> Result<bool> {
    let mut echo = Echo::new(msg);
    let sent = duplex::send_reading(sys, out, s, msg, buf, opts.setup.wait, |piece| {
        if !opts.sized {
            out.say(&peer_text(piece, opts.raw));
        }
        echo.take(piece);
        Ok(())
    })?;
    if let duplex::Sent::Closed(n) = sent {
        out.say(&format!(
            "server closed the connection after {} of {} bytes were sent ({} bytes came back)",
            n,
            msg.len(),
            echo.got
        ));
        return Ok(false);
    }
    if opts.sized {
        return receive_echo(sys, out, s, buf, echo, opts);
    }
    if echo.calls == 0 {
        let n = modes::recv(sys, s, buf, opts.setup.wait)?;
        if n == 0 {
            out.say("server closed the connection");
            return Ok(false);
        }
        out.say(&peer_text(&buf[..n], opts.raw));
    }
    Ok(true)
}

/// The end of the client: with `--shutdown`, a half-close
/// (`shutdown(SHUT_WR)`: the server's recv returns 0) and `recvfrom` until
/// the server closes too; then `close`.
fn finish(sys: &Sys, out: &Output, s: Socket, buf: &mut [u8], opts: &ClientOpts) -> Result<()> {
    if opts.shutdown {
        sys.shutdown(s, Shutdown::Write)?;
        loop {
            let n = modes::recv(sys, s, buf, opts.setup.wait)?;
            if n == 0 {
                out.say("server closed the connection");
                break;
            }
            out.say(&peer_text(&buf[..n], opts.raw));
        }
    }
    sys.close(s)
}
