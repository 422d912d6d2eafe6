//! One accepted stream connection, served the same way by every server
//! model (steps 3 to 5 of `stream.rs`): the @accepted `--sockopt`s,
//! `connection from PEER`, then the communication loop (echo, `--lines`,
//! `--naive`, `--sink`), `close(conn)`. With `--bufsize 0` the loop is
//! one `recvfrom(fd, "", 0, ...)` = 0 and a note: a zero-length recv
//! returns 0 whether or not the peer closed, so it is not taken as EOF.

use std::time::Instant;

use crate::output::{Output, shown};
use crate::programs::server_opts::ServerOpts;
use crate::socket::lines;
use crate::socket::modes::{self, Wait};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::values::sockopt::Phase;

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
        out.say_addr("connection from ", peer, &cred);
    }
    let served = Served {
        sys,
        out,
        conn,
        peer,
        opts,
    };
    if buf.is_empty() {
        // --bufsize 0: recvfrom(fd, "", 0, ...) returns 0 whatever the
        // peer does, so it cannot tell an end of file: one call, a note.
        served.recv(buf)?;
        if !opts.quiet {
            out.say(&crate::output::zero_length_recv(&peer.to_string()));
        }
        Ok(())
    } else if opts.once {
        served.answer_once(buf)
    } else if opts.naive {
        served.converse_naively(buf)
    } else if opts.sink {
        served.sink(buf)
    } else if opts.lines {
        lines::converse(sys, out, conn, peer, buf, opts.setup.wait)
    } else {
        served.converse(buf)
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

/// One connection being served, once its setup is done: the
/// communication loops of `serve_one`.
struct Served<'a> {
    sys: &'a Sys,
    out: &'a Output,
    conn: Socket,
    peer: &'a Addr,
    opts: &'a ServerOpts,
}

impl Served<'_> {
    /// One `recvfrom` into `buf`.
    fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        modes::recv(self.sys, self.conn, buf, self.opts.setup.wait)
    }

    /// The peer closed (a `recvfrom` returned 0): said, unless `-q`.
    fn closed(&self) {
        if !self.opts.quiet {
            self.out.say_addr("", self.peer, " closed");
        }
    }

    /// The tutorial's "low version": one `recvfrom`, one reply.
    fn answer_once(&self, buf: &mut [u8]) -> Result<()> {
        let n = self.recv(buf)?;
        if n == 0 {
            self.closed();
            return Ok(());
        }
        self.reply(&mut buf[..n])
    }

    /// The improved server's communication loop, with the `len(msg) == 0` check.
    fn converse(&self, buf: &mut [u8]) -> Result<()> {
        loop {
            let n = self.recv(buf)?;
            if n == 0 {
                self.closed();
                return Ok(());
            }
            self.reply(&mut buf[..n])?;
        }
    }

    /// `--sink`: `recvfrom` until the peer closes; nothing is sent back.
    fn sink(&self, buf: &mut [u8]) -> Result<()> {
        while self.recv(buf)? > 0 {}
        self.closed();
        Ok(())
    }

    /// The tutorial's server without the `len(msg) == 0` check: after the peer
    /// closes, `recv` returns 0 at once, forever, and the server answers each
    /// empty message with an empty send. Stops after `--naive-limit` spins.
    fn converse_naively(&self, buf: &mut [u8]) -> Result<()> {
        let mut empty = 0u64;
        let mut first_empty: Option<Instant> = None;
        loop {
            let n = self.recv(buf)?;
            if n == 0 {
                empty += 1;
                first_empty.get_or_insert_with(Instant::now);
            }
            self.reply(&mut buf[..n])?;
            if empty >= self.opts.naive_limit {
                break;
            }
        }
        let secs = first_empty.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let rate = if secs > 0.0 {
            empty as f64 / secs
        } else {
            f64::INFINITY
        };
        self.out.say_addr("", self.peer, &format!(
            " closed, but the naive server does not check for it: recv returned 0 bytes {empty} times in {:.3} ms ({rate:.0}/s), never blocking; stopped at --naive-limit {}",
            secs * 1e3,
            self.opts.naive_limit
        ));
        Ok(())
    }

    /// Print the message, send it back upper-cased (in place: no allocation
    /// per message).
    fn reply(&self, msg: &mut [u8]) -> Result<()> {
        if !self.opts.quiet && !msg.is_empty() {
            self.out
                .say_addr("from ", self.peer, &format!(": {}", shown(msg)));
        }
        msg.make_ascii_uppercase();
        modes::sendall(self.sys, self.out, self.conn, msg, self.opts.setup.wait)
    }
}
