//! The tutorial's stream server and client, shared by TCP (`tcp.rs`) and
//! UNIX stream sockets (`unix.rs`): the phone call of `../shared/seed`.
//!
//! Server (`model::serve` picks the `--model`; these are the iterative
//! server's steps, and every model serves a connection as 3 to 5 say,
//! `conn.rs`), after `modes::bound_socket` (socket, [setsockopt SO_REUSEADDR], bind):
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
//! Client: 1. `socket`; [`bind` with `--bind`]; 2. `ioctl(FIONBIO)` with
//! `--timeout`; 3. `connect`; 4. per message: `sendto` (all of it; its
//! flags `--send-flags`), `recvfrom` (its flags `--recv-flags`; with
//! MSG_PEEK a peek, then the same recvfrom without it) → print the reply;
//! none with `--no-reply` (a message over 128 KiB without those options:
//! `sendto(MSG_DONTWAIT)`, `poll(POLLIN|POLLOUT)` and `recvfrom` in turn,
//! see `duplex.rs`); 5. `close`.

use nix::sys::socket::{Shutdown, SockType};

use crate::output::Output;
use crate::programs::model;
use crate::socket::buffer::buffer;
use crate::socket::duplex::{self, Echo};
use crate::socket::lines;
use crate::socket::messages::Messages;
use crate::socket::modes::{self, Setup};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::Result;
use crate::values::sockopt::Phase;

pub use crate::programs::server_opts::ServerOpts;

/// Serve on a bound socket with the server model `--model` names.
pub fn serve(sys: &Sys, out: &Output, listener: Socket, opts: &ServerOpts) -> Result<()> {
    model::serve(sys, out, listener, opts)
}

/// How the client sends a message: Python's `send` or `sendall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SendMode {
    /// One `sendto`, as the tutorial's clients (`s.send(...)`); reports it when the kernel took less than asked.
    Send,
    /// `sendto` until all is out (the default: for a message the send buffer holds, the same one `sendto` as send).
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
    /// `--no-reply`: send the messages, no recvfrom.
    pub no_reply: bool,
    /// `--bind ADDR`: bind before connect.
    pub bind: Option<Addr>,
    pub setup: Setup,
    /// A UNIX stream socket (false: TCP): MSG_TRUNC's meaning differs.
    pub unix: bool,
}

/// One `recvfrom` for a reply, with `--recv-flags`. With MSG_PEEK among
/// them: the peek first (its bytes printed when `show_peek`), then the
/// same call without MSG_PEEK, whose count is returned (the peek alone
/// would never consume the bytes: every later recv would see them again).
fn recv_reply(
    sys: &Sys,
    out: &Output,
    s: Socket,
    buf: &mut [u8],
    opts: &ClientOpts,
    show_peek: bool,
) -> Result<usize> {
    let flags = opts.setup.recv_flags;
    if flags & libc::MSG_PEEK != 0 {
        let n = modes::recv_with(sys, s, buf, flags, opts.setup.wait)?;
        if n == 0 {
            return Ok(0);
        }
        if show_peek {
            say_reply(out, buf, n, opts, true);
        }
    }
    modes::recv_with(sys, s, buf, flags & !libc::MSG_PEEK, opts.setup.wait)
}

/// A reply's `n` bytes, printed; but a TCP recv with MSG_TRUNC discards
/// the bytes it takes, copying nothing (tcp(7)): the buffer holds none of
/// them, so it says that instead of printing the buffer (a UNIX stream
/// socket ignores the flag and copies them).
fn say_reply(out: &Output, buf: &[u8], n: usize, opts: &ClientOpts, peek: bool) {
    if opts.setup.recv_flags & libc::MSG_TRUNC != 0 && !opts.unix {
        out.say(&if peek {
            format!("({n} bytes from the server waiting, not copied: a TCP peek with MSG_TRUNC copies nothing into the buffer; tcp(7))")
        } else {
            format!("({n} bytes from the server discarded: a TCP recv with MSG_TRUNC drops what it takes, copying nothing into the buffer; tcp(7))")
        });
    } else {
        out.say_peer(buf.get(..n).unwrap_or_default(), opts.raw);
    }
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
        SendMode::Sendall => {
            modes::sendall_with(sys, out, s, msg, opts.setup.send_flags, opts.setup.wait)
                .map(|()| msg.len())
        }
        SendMode::Send => {
            let n = modes::send_with(sys, s, msg, None, opts.setup.send_flags, opts.setup.wait)?;
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
        let n = recv_reply(sys, out, s, buf, opts, false)?;
        if n == 0 {
            out.say(&closed(
                buf,
                format!(
                    "server closed the connection after {} of {} bytes",
                    echo.got,
                    echo.expected()
                ),
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
    // --raw: its --names lines' UNIX names as they are, as its replies.
    let out = &out.with_raw(opts.raw);
    // Before any call: a --bufsize that cannot be allocated is exit 1 at once.
    let mut buf = buffer(opts.bufsize, "--bufsize")?;
    let s = sys.socket(modes::family(addr), SockType::Stream)?;
    modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Created)?;
    if let Some(local) = &opts.bind {
        sys.bind(s, local)?;
    }
    modes::set_wait(sys, out, s, opts.setup.wait)?;
    if opts.connect_ex {
        let code = modes::connect_ex(sys, s, addr, opts.setup.wait)?;
        out.say(&format!(
            "connect_ex -> {}",
            crate::output::errno_code(code)
        ));
        if code != 0 {
            // Python's client goes on after a failed connect_ex: what
            // fails next is told there is no connection.
            return after_connect(sys, out, s, messages, &mut buf, opts)
                .map_err(|e| e.in_context(|c| c.not_connected = true));
        }
    } else {
        modes::connect(sys, s, addr, opts.setup.wait)?;
    }
    after_connect(sys, out, s, messages, &mut buf, opts)
}

/// The client after its connect: --names, then each message.
fn after_connect(
    sys: &Sys,
    out: &Output,
    s: Socket,
    messages: Messages,
    buf: &mut [u8],
    opts: &ClientOpts,
) -> Result<()> {
    modes::apply_sockopts(sys, out, s, &opts.setup, Phase::Connected)?;
    if opts.setup.names {
        modes::show_names(sys, out, s)?;
    }
    if opts.lines {
        let all: Vec<Vec<u8>> = messages.collect::<Result<_>>()?;
        lines::exchange(sys, out, s, &all, buf, &opts.setup, opts.raw)?;
        return finish(sys, out, s, buf, opts);
    }
    for msg in messages {
        let msg = msg?;
        // The tutorial's client skips empty lines: `if not msg: continue`.
        if msg.is_empty() && !opts.send_empty {
            continue;
        }
        // The duplex path makes calls of its own (MSG_DONTWAIT, poll): not
        // with --no-reply (nothing to read) nor with flags the user chose.
        let own_calls = opts.no_reply || opts.setup.send_flags != 0 || opts.setup.recv_flags != 0;
        if !own_calls && duplex::needed(msg.len(), opts.send_mode == SendMode::Sendall, &opts.setup)
        {
            if !exchange_long(sys, out, s, buf, &msg, opts)? {
                break;
            }
            continue;
        }
        let sent = send_message(sys, out, s, &msg, opts)?;
        if opts.no_reply {
            continue;
        }
        if opts.sized {
            if !receive_echo(sys, out, s, buf, Echo::new(&msg[..sent]), opts)? {
                break;
            }
            continue;
        }
        let n = recv_reply(sys, out, s, buf, opts, true)?;
        if n == 0 {
            out.say(&closed(buf, String::from("server closed the connection")));
            break;
        }
        say_reply(out, buf, n, opts, false);
    }
    finish(sys, out, s, buf, opts)
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
            out.say_peer(piece, opts.raw);
        }
        echo.take(piece);
        Ok(())
    })?;
    if let duplex::Sent::Closed(n) = sent {
        out.say(&closed(
            buf,
            format!(
                "server closed the connection after {} of {} bytes were sent ({} bytes came back)",
                n,
                msg.len(),
                echo.got
            ),
        ));
        return Ok(false);
    }
    if opts.sized {
        return receive_echo(sys, out, s, buf, echo, opts);
    }
    if echo.calls == 0 {
        let n = modes::recv(sys, s, buf, opts.setup.wait)?;
        if n == 0 {
            out.say(&closed(buf, String::from("server closed the connection")));
            return Ok(false);
        }
        out.say_peer(&buf[..n], opts.raw);
    }
    Ok(true)
}

/// What a recv that returned 0 means: the server closed, unless the
/// buffer is empty (`--bufsize 0`: a zero-length recv always returns 0;
/// the client says so and ends as if the server had closed).
fn closed(buf: &[u8], what: String) -> String {
    if buf.is_empty() {
        crate::output::zero_length_recv("server")
    } else {
        what
    }
}

/// The end of the client: with `--shutdown`, a half-close
/// (`shutdown(SHUT_WR)`: the server's recv returns 0) and `recvfrom` until
/// the server closes too; then `close`.
fn finish(sys: &Sys, out: &Output, s: Socket, buf: &mut [u8], opts: &ClientOpts) -> Result<()> {
    if opts.shutdown {
        sys.shutdown(s, Shutdown::Write)?;
        loop {
            let n = recv_reply(sys, out, s, buf, opts, true)?;
            if n == 0 {
                out.say(&closed(buf, String::from("server closed the connection")));
                break;
            }
            say_reply(out, buf, n, opts, false);
        }
    }
    sys.close(s)
}
