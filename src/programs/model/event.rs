//! `--model poll` and `--model epoll`: one thread, an event loop over
//! non-blocking sockets (level-triggered).
//!
//! 1. `prlimit64(RLIMIT_NOFILE)` read, then the soft limit set to the hard
//!    limit (many connections need many fds; said by a note in the trace
//!    under `--trace`, never on stdout: `listening on` stays its first line)
//! 2. epoll: `epoll_create1(EPOLL_CLOEXEC)`, `epoll_ctl(ADD, listener,
//!    EPOLLIN)`; then `listening on ADDR`
//! 3. loop: `epoll_wait(ep, events, 512, -1)` (poll: `poll(all fds, -1)`);
//!    for each ready fd:
//!    - the listener: one `accept4(..., SOCK_CLOEXEC|SOCK_NONBLOCK)`, the
//!      @accepted `--sockopt`s, [--names], `connection from PEER`,
//!      `epoll_ctl(ADD, conn, EPOLLIN)`; after `--max-conns` connections
//!      (`--once`: one), `epoll_ctl(DEL, listener)`: no more are accepted
//!    - a connection with output pending: one `sendto` of the rest; all out
//!      → `epoll_ctl(MOD, conn, EPOLLIN)` (reading again)
//!    - otherwise: one `recvfrom` (bufsize, into the one shared buffer);
//!      0 → `PEER closed`, `close(conn)`; else print the message and one
//!      `sendto` of it upper-cased; if the kernel took less, the rest is
//!      kept in the connection's own buffer (allocated then, at most
//!      bufsize bytes) and `epoll_ctl(MOD, conn, EPOLLOUT)`: reading stops
//!      until it is out, so a client that does not read cannot make the
//!      server buffer more than bufsize bytes for it
//!    - `--sink`: the bytes are dropped, nothing is sent
//!    - a failing call (ECONNRESET, EPIPE...) is reported as usual and
//!      ends that connection (`close`) only
//! 4. when the last connection of `--max-conns` is closed: `close(ep)`,
//!    `close(listener)`.
//!
//! One `recvfrom` and one `sendto` per message, plus one `epoll_wait` per
//! batch of ready connections: no `epoll_ctl` per message, no `recvfrom`
//! just to see EAGAIN.

use crate::output::Output;
use crate::output::shown;
use crate::programs::server_opts::ServerOpts;
use crate::socket::modes;
use crate::sys::{EpollOp, Socket, Sys};

use super::poller::{ERROR, Kind, MAX_EVENTS, Poller, READ, WRITE};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::values::sockopt::Phase;

/// One connection's state.
struct Conn {
    sock: Socket,
    /// For the `from PEER` and `PEER closed` lines; not kept with `-q`
    /// (10,000 connections: 8 bytes each instead of a sockaddr_storage).
    peer: Option<Box<Addr>>,
    /// Output the kernel did not take yet (empty, unallocated, usually).
    out: Vec<u8>,
    sent: usize,
}

/// Step 1: the soft RLIMIT_NOFILE up to the hard limit (also `socklab
/// bench`, which opens thousands of connections).
pub fn raise_fd_limit(sys: &Sys, out: &Output) -> Result<()> {
    let (soft, hard) = sys.prlimit64_get_nofile()?;
    sys.prlimit64_set_nofile(hard, hard)?;
    out.note_traced(&format!(
        "RLIMIT_NOFILE: soft limit {soft} raised to the hard limit {hard} (one fd per connection)"
    ));
    Ok(())
}

/// The event loop: the state of the server between waits.
struct Loop<'a> {
    sys: &'a Sys,
    out: &'a Output,
    opts: &'a ServerOpts,
    listener: Socket,
    poller: Poller,
    /// Connections by fd.
    conns: Vec<Option<Conn>>,
    live: usize,
    accepted: u64,
    limit: Option<u64>,
    /// Whether the listener is in the poll set (not after the limit, nor
    /// while accept4 fails with EMFILE until a connection closes).
    listening: bool,
    buf: Vec<u8>,
}

/// Steps 1 to 4 on a listening socket.
pub fn serve(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
    kind: Kind,
) -> Result<()> {
    raise_fd_limit(sys, out)?;
    let mut poller = Poller::new(sys, kind)?;
    poller.add(sys, listener, READ)?;
    out.listening(me);
    let mut lp = Loop {
        sys,
        out,
        opts,
        listener,
        poller,
        conns: Vec::new(),
        live: 0,
        accepted: 0,
        limit: if opts.once { Some(1) } else { opts.max_conns },
        listening: true,
        buf: crate::socket::buffer::buffer(opts.bufsize, "--bufsize")?,
    };
    let mut ready = Vec::with_capacity(MAX_EVENTS);
    while lp.listening || lp.live > 0 || lp.accepted < lp.limit.unwrap_or(u64::MAX) {
        lp.poller.wait(sys, &mut ready)?;
        for &(fd, r) in &ready {
            if fd == listener.fd() {
                lp.accept()?;
            } else {
                lp.on_conn(fd, r)?;
            }
        }
    }
    lp.poller.close(sys)?;
    sys.close(listener)
}

impl Loop<'_> {
    /// One accept4 on the ready listener.
    fn accept(&mut self) -> Result<()> {
        let (sys, out, opts) = (self.sys, self.out, self.opts);
        let (conn, peer) = match sys.accept4_nonblock(self.listener) {
            Ok(c) => c,
            Err(e) => return self.failed_accept(e),
        };
        self.accepted += 1;
        if self.limit.is_some_and(|max| self.accepted >= max) {
            self.poller.remove(sys, self.listener, false)?;
            self.listening = false;
        }
        let setup =
            modes::apply_sockopts(sys, out, conn, &opts.setup, Phase::Accepted).and_then(|()| {
                if opts.setup.names {
                    modes::show_names(sys, out, conn)?;
                }
                // A UNIX peer's credentials, as the kernel recorded them at connect.
                if peer.is_unix() {
                    let c = sys.peercred(conn)?;
                    return Ok(format!(" (pid {}, uid {}, gid {})", c.pid, c.uid, c.gid));
                }
                Ok(String::new())
            });
        let cred = match setup {
            Ok(cred) => cred,
            Err(e) => {
                if matches!(e, Error::Signal(_)) {
                    return Err(e);
                }
                crate::output::report(&e);
                return sys.close(conn);
            }
        };
        if !opts.quiet {
            out.say_addr("connection from ", &peer, &cred);
        }
        // Watching the connection can fail (epoll_ctl: ENOMEM, ENOSPC):
        // that connection's failure, not the server's.
        if let Err(e) = self.poller.add(sys, conn, READ) {
            if matches!(e, Error::Signal(_)) {
                return Err(e);
            }
            crate::output::report(&e);
            return sys.close(conn);
        }
        let fd = conn.fd() as usize;
        if self.conns.len() <= fd {
            self.conns.resize_with(fd + 1, || None);
        }
        self.conns[fd] = Some(Conn {
            sock: conn,
            peer: (!opts.quiet).then(|| Box::new(peer)),
            out: Vec::new(),
            sent: 0,
        });
        self.live += 1;
        Ok(())
    }

    /// accept4 failed: EAGAIN (another wake-up took it) is nothing; out of
    /// fds (EMFILE, ENFILE) stops accepting until a connection closes (the
    /// level-triggered listener would otherwise wake the loop at once,
    /// forever); anything else is reported and the loop goes on.
    fn failed_accept(&mut self, e: Error) -> Result<()> {
        match e.errno() {
            Some(nix::errno::Errno::EAGAIN) => Ok(()),
            Some(nix::errno::Errno::EMFILE | nix::errno::Errno::ENFILE) => {
                crate::output::report(&e);
                if self.live == 0 {
                    return Err(e);
                }
                self.poller.remove(self.sys, self.listener, false)?;
                self.listening = false;
                Ok(())
            }
            Some(_) => {
                crate::output::report(&e);
                Ok(())
            }
            None => Err(e),
        }
    }

    fn on_conn(&mut self, fd: i32, r: u32) -> Result<()> {
        let Some(Some(c)) = self.conns.get_mut(fd as usize) else {
            return Ok(());
        };
        let pending = c.sent < c.out.len();
        let step = if pending {
            if r & (WRITE | ERROR) == 0 {
                return Ok(());
            }
            self.flush(fd)
        } else {
            if r & (READ | ERROR) == 0 {
                return Ok(());
            }
            self.read(fd)
        };
        match step {
            Ok(true) => Ok(()),
            Ok(false) => self.close(fd),
            Err(e) if matches!(e, Error::Signal(_)) => Err(e),
            Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => Ok(()),
            Err(e) => {
                crate::output::report(&e);
                self.close(fd)
            }
        }
    }

    /// One recvfrom, and the reply. Ok(false): the connection is done.
    fn read(&mut self, fd: i32) -> Result<bool> {
        let (sys, out, opts) = (self.sys, self.out, self.opts);
        let Some(Some(c)) = self.conns.get_mut(fd as usize) else {
            return Ok(false);
        };
        let n = sys.recvfrom(c.sock, &mut self.buf, false)?.0;
        if n == 0 {
            if let Some(peer) = &c.peer {
                if self.buf.is_empty() {
                    out.say(&crate::output::zero_length_recv(&peer.to_string()));
                } else {
                    out.say_addr("", peer, " closed");
                }
            }
            return Ok(false);
        }
        if opts.sink {
            return Ok(true); // read and discard: no reply
        }
        let msg = &mut self.buf[..n];
        if let Some(peer) = &c.peer {
            out.say_addr("from ", peer, &format!(": {}", shown(msg)));
        }
        msg.make_ascii_uppercase();
        let took = match sys.sendto(c.sock, msg, None) {
            Ok(m) => m,
            Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => 0,
            Err(e) => return Err(e),
        };
        if took < n {
            c.out.clear();
            c.out.extend_from_slice(&msg[took..]);
            c.sent = 0;
            let sock = c.sock;
            self.poller.modify(sys, sock, WRITE)?;
            return Ok(true);
        }
        Ok(!opts.once)
    }

    /// One sendto of the pending output. Ok(false): the connection is done.
    fn flush(&mut self, fd: i32) -> Result<bool> {
        let (sys, opts) = (self.sys, self.opts);
        let Some(Some(c)) = self.conns.get_mut(fd as usize) else {
            return Ok(false);
        };
        c.sent += sys.sendto(c.sock, &c.out[c.sent..], None)?;
        if c.sent < c.out.len() {
            return Ok(true);
        }
        c.out.clear();
        c.sent = 0;
        if opts.once {
            return Ok(false);
        }
        let sock = c.sock;
        self.poller.modify(sys, sock, READ)?;
        Ok(true)
    }

    fn close(&mut self, fd: i32) -> Result<()> {
        let Some(c) = self.conns.get_mut(fd as usize).and_then(Option::take) else {
            return Ok(());
        };
        self.live -= 1;
        self.poller.remove(self.sys, c.sock, true)?;
        // The descriptor is gone even when close fails (close(2)): say so,
        // and serve the others.
        if let Err(e) = self.sys.close(c.sock) {
            crate::output::report(&e);
        }
        // Out of fds earlier: one is free now.
        if !self.listening && self.limit.is_none_or(|max| self.accepted < max) {
            self.poller.add(self.sys, self.listener, READ)?;
            self.listening = true;
        }
        Ok(())
    }
}

/// `udp server --model epoll`: `epoll_create1`, `epoll_ctl(ADD, fd,
/// EPOLLIN)`; the datagram server then calls [`DgramEpoll::wait`]
/// (`epoll_wait`) before each `recvfrom`.
pub struct DgramEpoll {
    ep: Socket,
    events: [libc::epoll_event; 1],
}

pub fn serve_dgram_epoll(sys: &Sys, s: Socket) -> Result<DgramEpoll> {
    let ep = sys.epoll_create1()?;
    sys.epoll_ctl(ep, EpollOp::Add, s, libc::EPOLLIN as u32)?;
    Ok(DgramEpoll {
        ep,
        events: [libc::epoll_event { events: 0, u64: 0 }],
    })
}

impl DgramEpoll {
    pub fn wait(&mut self, sys: &Sys) -> Result<()> {
        sys.epoll_wait(self.ep, &mut self.events, -1).map(drop)
    }

    pub fn close(self, sys: &Sys) -> Result<()> {
        sys.close(self.ep)
    }
}
