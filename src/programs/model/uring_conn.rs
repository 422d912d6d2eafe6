//! `--model uring`'s completions (`uring.rs` has the loop and the SQEs):
//! what each CQE does to the listener and the connections.

use nix::errno::Errno;

use crate::output::shown;
use crate::socket::modes;
use crate::sys::{CQE_F_BUFFER, CQE_F_MORE, Cqe};
use crate::values::calls;
use crate::values::error::{Error, Result};
use crate::values::sockopt::Phase;

use super::uring::{Conn, Loop};

impl Loop<'_> {
    /// An ACCEPT's CQE: a new connection, or why not.
    pub(super) fn on_accept(&mut self, c: Cqe) -> Result<()> {
        if c.flags & CQE_F_MORE == 0 {
            self.accepting = false;
        }
        if c.res < 0 {
            let e = self.failed(&calls::ACCEPT4, "ACCEPT", self.listener.fd(), c.res);
            match Errno::from_raw(-c.res) {
                Errno::EAGAIN | Errno::ECANCELED => {}
                Errno::EMFILE | Errno::ENFILE => {
                    crate::output::report(&e);
                    if self.live == 0 {
                        return Err(e);
                    }
                    self.listening = false; // resumed by the next close
                }
                _ => crate::output::report(&e),
            }
        } else {
            self.accepted += 1;
            if self.limit.is_some_and(|max| self.accepted >= max) {
                self.listening = false;
            }
            self.accepted_conn(crate::sys::Socket::raw(c.res))?;
        }
        if self.listening && !self.accepting {
            self.arm_accept()?;
        }
        Ok(())
    }

    /// A new connection: its options and lines, then its multishot RECV.
    fn accepted_conn(&mut self, conn: crate::sys::Socket) -> Result<()> {
        let (sys, out, opts) = (self.sys, self.out, self.opts);
        let setup =
            modes::apply_sockopts(sys, out, conn, &opts.setup, Phase::Accepted).and_then(|()| {
                if opts.setup.names {
                    modes::show_names(sys, out, conn)?;
                }
                if opts.quiet {
                    return Ok(None);
                }
                let peer = sys.getpeername(conn)?;
                let cred = if peer.is_unix() {
                    let c = sys.peercred(conn)?;
                    format!(" (pid {}, uid {}, gid {})", c.pid, c.uid, c.gid)
                } else {
                    String::new()
                };
                Ok(Some((peer, cred)))
            });
        let peer = match setup {
            Ok(p) => p,
            Err(e) if matches!(e, Error::Signal(_)) => return Err(e),
            Err(e) => {
                crate::output::report(&e);
                return sys.close(conn);
            }
        };
        if let Some((peer, cred)) = &peer {
            out.say_addr("connection from ", peer, cred);
        }
        let fd = conn.fd() as usize;
        if self.conns.len() <= fd {
            self.conns.resize_with(fd + 1, || None);
        }
        self.conns[fd] = Some(Conn {
            sock: conn,
            peer: peer.map(|(p, _)| Box::new(p)),
            recv: false,
            cancelling: false,
            sending: None,
            waiting: std::collections::VecDeque::new(),
            closing: false,
            starved: false,
        });
        self.live += 1;
        self.arm_recv(conn.fd())
    }

    /// A RECV's CQE: bytes in a buffer, the end of the stream, or an error.
    pub(super) fn on_recv(&mut self, fd: i32, c: Cqe) -> Result<()> {
        let (out, opts) = (self.out, self.opts);
        let bid = (c.flags >> 16) as u16;
        if c.flags & CQE_F_BUFFER != 0 {
            self.held += 1;
        }
        let Some(Some(conn)) = self.conns.get_mut(fd as usize) else {
            if c.flags & CQE_F_BUFFER != 0 {
                self.give(bid);
            }
            return Ok(());
        };
        if c.flags & CQE_F_MORE == 0 {
            conn.recv = false;
            conn.cancelling = false;
        }
        if c.res > 0 && c.flags & CQE_F_BUFFER != 0 {
            let n = c.res as usize;
            let msg = self.ring.buf(bid, n);
            if let Some(peer) = &conn.peer {
                out.say_addr("from ", peer, &format!(": {}", shown(msg)));
            }
            if opts.sink || conn.closing {
                self.give(bid);
            } else {
                msg.make_ascii_uppercase();
                if conn.sending.is_none() {
                    conn.sending = Some((bid, 0, n));
                    self.send(fd, bid, 0, n)?;
                } else {
                    conn.waiting.push_back((bid, n));
                }
            }
        } else if c.res == 0 {
            if let Some(peer) = &conn.peer {
                out.say_addr("", peer, " closed");
            }
            conn.closing = true;
        } else if c.res == -libc::ENOBUFS {
            if !conn.closing && !conn.starved {
                conn.starved = true;
                self.starved.push_back(fd);
            }
        } else if c.res == -libc::ECANCELED {
            // Cancelled by settle: the connection is closing.
        } else if c.res < 0 {
            crate::output::report(&self.failed(&calls::RECVFROM, "RECV", fd, c.res));
            if let Some(Some(conn)) = self.conns.get_mut(fd as usize) {
                conn.closing = true;
            }
        }
        self.rearm(fd)?;
        self.settle(fd)
    }

    /// A RECV that ended at its byte limit, armed again once nothing of
    /// the connection waits to be sent.
    fn rearm(&mut self, fd: i32) -> Result<()> {
        let idle = self
            .conns
            .get(fd as usize)
            .and_then(Option::as_ref)
            .is_some_and(|c| {
                !c.recv && !c.closing && !c.starved && c.sending.is_none() && c.waiting.is_empty()
            });
        if idle {
            return self.arm_recv(fd);
        }
        Ok(())
    }

    /// A SEND's CQE: the rest of the message, the next one, or an error.
    pub(super) fn on_send(&mut self, fd: i32, c: Cqe) -> Result<()> {
        let Some(Some(conn)) = self.conns.get_mut(fd as usize) else {
            return Ok(());
        };
        let Some((bid, sent, len)) = conn.sending.take() else {
            return Ok(());
        };
        if c.res < 0 {
            self.give(bid);
            crate::output::report(&self.failed(&calls::SENDTO, "SEND", fd, c.res));
            if let Some(Some(conn)) = self.conns.get_mut(fd as usize) {
                conn.closing = true;
            }
            return self.settle(fd);
        }
        let sent = sent + c.res as usize;
        if sent < len {
            conn.sending = Some((bid, sent, len));
            return self.send(fd, bid, sent, len);
        }
        self.give(bid);
        let Some(Some(conn)) = self.conns.get_mut(fd as usize) else {
            return Ok(());
        };
        if self.opts.once {
            conn.closing = true;
        } else if let Some((next, n)) = conn.waiting.pop_front() {
            conn.sending = Some((next, 0, n));
            return self.send(fd, next, 0, n);
        }
        self.rearm(fd)?;
        self.settle(fd)
    }

    /// A closing connection: its RECV cancelled if armed; closed once
    /// nothing of it is in flight.
    fn settle(&mut self, fd: i32) -> Result<()> {
        let Some(Some(conn)) = self.conns.get_mut(fd as usize) else {
            return Ok(());
        };
        if !conn.closing {
            return Ok(());
        }
        if conn.recv {
            if !conn.cancelling {
                conn.cancelling = true;
                return self.cancel_recv(fd);
            }
            return Ok(());
        }
        if conn.sending.is_some() {
            return Ok(());
        }
        let Some(conn) = self.conns.get_mut(fd as usize).and_then(Option::take) else {
            return Ok(());
        };
        for (bid, _) in conn.waiting {
            self.give(bid);
        }
        self.live -= 1;
        if let Err(e) = self.sys.close(conn.sock) {
            crate::output::report(&e);
        }
        // Out of fds earlier: one is free now.
        if !self.listening && self.limit.is_none_or(|max| self.accepted < max) {
            self.listening = true;
            if !self.accepting {
                self.arm_accept()?;
            }
        }
        Ok(())
    }

    fn give(&mut self, bid: u16) {
        self.ring.give(bid);
        self.held = self.held.saturating_sub(1);
    }

    /// RECVs that ended for want of buffers, re-armed: as many as buffers
    /// are free, in the order they starved. One that is sending is not
    /// re-armed here but when its SEND completes (`rearm`).
    pub(super) fn rearm_starved(&mut self) -> Result<()> {
        let mut free = usize::from(super::uring::NBUFS).saturating_sub(self.held);
        while free > 0 {
            let Some(fd) = self.starved.pop_front() else {
                break;
            };
            let Some(Some(c)) = self.conns.get_mut(fd as usize) else {
                continue;
            };
            if !std::mem::take(&mut c.starved) {
                continue; // an earlier connection's fd
            }
            if !c.closing && !c.recv && c.sending.is_none() {
                self.arm_recv(fd)?;
                free -= 1;
            }
        }
        Ok(())
    }
}
