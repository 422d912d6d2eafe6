//! `--model uring`: one thread, an io_uring event loop (issue 18). No
//! readiness and no syscall per message: the operations go through the
//! rings and one `io_uring_enter` per loop iteration submits every pending
//! SQE and reaps every CQE.
//!
//! 1. `prlimit64(RLIMIT_NOFILE)` raised as the epoll model does
//! 2. `io_uring_setup(1024)`, the rings `mmap`ed (SQ and CQ in one
//!    mapping, then the SQE array), 256 buffers of `--bufsize` bytes in
//!    one anonymous `mmap`, registered as buffer group 0
//!    (`io_uring_register(IORING_REGISTER_PBUF_RING)`); then `listening on ADDR`
//! 3. an ACCEPT SQE on the listener: multishot (one SQE, a CQE per
//!    connection, flags SOCK_CLOEXEC); with `--max-conns`/`--once` one
//!    single-shot ACCEPT at a time instead, so that no connection beyond
//!    the limit is accepted
//! 4. loop: `io_uring_enter(ring, pending, 1, IORING_ENTER_GETEVENTS)`;
//!    for each CQE:
//!    - accepted: the @accepted `--sockopt`s, [--names], `getpeername`
//!      (a multishot ACCEPT has no address per connection; not with -q),
//!      `connection from PEER`, a multishot RECV SQE (buffer group 0)
//!    - received N bytes in buffer B: `from PEER: MSG`, upper-cased in
//!      place, a SEND SQE from buffer B (no copy); the buffer goes back to
//!      the ring when the SEND completes. One SEND in flight per
//!      connection; later messages wait in order. Peer isolation: each
//!      RECV has a byte limit (`optlen`, 2 x --bufsize: the kernel ends
//!      the multishot RECV there), re-armed once what it read is sent: a
//!      client that does not read holds at most 2 buffers, never the pool
//!      (a kernel before 6.13 ignores the limit: then only the pool bounds it)
//!    - received 0: `PEER closed`; the connection is closed (`close`)
//!      once its RECV and SEND are done (a closed fd with an operation in
//!      flight would stay open inside the kernel; a failed SEND cancels
//!      its RECV: ASYNC_CANCEL)
//!    - `--once`: the tutorial's first version, as in the other models:
//!      one single-shot RECV (no byte limit), its reply, `close`; nothing
//!      reads the peer's close after the reply (a multishot RECV would
//!      report it or not, by whether its CQE beat the cancel)
//!    - RECV ended with ENOBUFS (all buffers in flight): queued; after each
//!      batch of CQEs, as many queued RECVs are re-armed as buffers are
//!      free, first come first served (each has data waiting and takes
//!      one: with 100,000 connections and 256 buffers, re-arming them all
//!      would fail most again, for nothing)
//!    - a failed operation (ECONNRESET, EPIPE...) is reported as the other
//!      models report a failed call, and ends that connection only
//!    - accept failing with EMFILE/ENFILE: reported; accepting resumes when
//!      a connection closes
//! 5. when the last connection of `--max-conns` is closed: `close(ring)`,
//!    `close(listener)`.
//!
//! io_uring unavailable (sysctl kernel.io_uring_disabled, seccomp):
//! io_uring_setup fails with EPERM/ENOSYS: one line, exit 1, no fallback.

use std::collections::VecDeque;

use super::ring_loop;
use crate::output::Output;
use crate::programs::server_opts::ServerOpts;
use crate::sys::{Cqe, Ring, Socket, Sqe, Sys};
use crate::values::addr::Addr;
use crate::values::calls;
use crate::values::error::{Error, Result};
use nix::errno::Errno;

const ENTRIES: u32 = 1024;
pub(super) const NBUFS: u16 = 256;
/// Buffers one connection's RECV may fill before it ends (its byte limit,
/// the SQE's `optlen`: kernel 6.13+); re-armed once they are sent back.
pub(super) const MAX_BUFS: usize = 2;

const OP_ACCEPT: u8 = 13;
const OP_ASYNC_CANCEL: u8 = 14;
const OP_SEND: u8 = 26;
const OP_RECV: u8 = 27;
const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
const IORING_ACCEPT_MULTISHOT: u16 = 1;
const IORING_RECV_MULTISHOT: u16 = 2;

/// user_data: the kind in bits 32-39, the fd below.
const ACCEPT: u64 = 1 << 32;
const RECV: u64 = 2 << 32;
const SEND: u64 = 3 << 32;
const CANCEL: u64 = 4 << 32;

pub(super) struct Conn {
    pub(super) sock: Socket,
    pub(super) peer: Option<Box<Addr>>,
    /// The multishot RECV is armed.
    pub(super) recv: bool,
    /// An ASYNC_CANCEL of the RECV is in flight.
    pub(super) cancelling: bool,
    /// The SEND in flight: buffer, bytes sent, length.
    pub(super) sending: Option<(u16, usize, usize)>,
    pub(super) waiting: VecDeque<(u16, usize)>,
    pub(super) closing: bool,
    /// Its RECV ended for want of buffers and it waits in `Loop::starved`.
    pub(super) starved: bool,
}

pub(super) struct Loop<'a> {
    pub(super) sys: &'a Sys,
    pub(super) out: &'a Output,
    pub(super) opts: &'a ServerOpts,
    pub(super) listener: Socket,
    pub(super) ring: Ring,
    pub(super) conns: Vec<Option<Conn>>,
    pub(super) live: usize,
    pub(super) accepted: u64,
    pub(super) limit: Option<u64>,
    /// Accepting wanted (not after the limit, nor while out of fds).
    pub(super) listening: bool,
    /// An ACCEPT is in flight.
    pub(super) accepting: bool,
    /// Connections whose RECV ended for want of buffers, first come first
    /// re-armed (an fd whose `Conn` is no longer starved is passed over).
    pub(super) starved: VecDeque<i32>,
    /// Buffers the kernel filled that are not back in the ring yet: the
    /// others are free, and as many starved RECVs are re-armed.
    pub(super) held: usize,
    /// CQEs reaped while making room in a full SQ.
    pub(super) later: Vec<Cqe>,
}

/// Steps 1 to 5 on a listening socket.
pub fn serve(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
) -> Result<()> {
    super::event::raise_fd_limit(sys, out)?;
    let ring = sys.uring(ENTRIES, NBUFS, opts.bufsize)?;
    let mut lp = Loop {
        sys,
        out,
        opts,
        listener,
        ring,
        conns: Vec::new(),
        live: 0,
        accepted: 0,
        limit: if opts.once { Some(1) } else { opts.max_conns },
        listening: true,
        accepting: false,
        starved: VecDeque::new(),
        held: 0,
        later: Vec::new(),
    };
    lp.arm_accept()?;
    out.listening(me);
    // Reused every iteration: no allocation per loop once they have grown.
    let (mut cqes, mut batch) = (Vec::new(), Vec::new());
    while lp.listening || lp.live > 0 || lp.accepted < lp.limit.unwrap_or(u64::MAX) {
        ring_loop::turn(sys, &mut lp.ring, &mut lp.later, &mut cqes, &mut batch)?;
        for c in batch.drain(..) {
            lp.on_cqe(c)?;
        }
        lp.rearm_starved()?;
    }
    sys.uring_close(lp.ring)?;
    sys.close(listener)
}

fn sqe(opcode: u8, fd: i32, user_data: u64) -> Sqe {
    Sqe {
        opcode,
        fd,
        user_data,
        ..Sqe::default()
    }
}

impl Loop<'_> {
    /// Queue an SQE; a full SQ is submitted first (no wait), its CQEs kept for later.
    fn push(&mut self, s: Sqe) -> Result<()> {
        ring_loop::push(self.sys, &mut self.ring, &mut self.later, s, None)
    }

    pub(super) fn arm_accept(&mut self) -> Result<()> {
        let mut s = sqe(
            OP_ACCEPT,
            self.listener.fd(),
            ACCEPT | self.listener.fd() as u32 as u64,
        );
        if self.limit.is_none() {
            s.ioprio = IORING_ACCEPT_MULTISHOT;
        }
        s.op_flags = libc::SOCK_CLOEXEC as u32;
        self.accepting = true;
        self.push(s)
    }

    /// The connection's RECV: multishot with a byte limit; with `--once`
    /// single-shot (one recv, one reply: nothing armed after the message,
    /// so the peer's close after the reply is not read, as in the other
    /// models).
    pub(super) fn arm_recv(&mut self, fd: i32) -> Result<()> {
        if let Some(Some(c)) = self.conns.get_mut(fd as usize) {
            c.recv = true;
        }
        let mut s = sqe(OP_RECV, fd, RECV | fd as u32 as u64);
        s.flags = IOSQE_BUFFER_SELECT;
        s.buf_group = 0;
        if !self.opts.once {
            s.ioprio = IORING_RECV_MULTISHOT;
            // optlen (the union with file_index): the multishot RECV ends
            // after this many bytes, so one connection holds at most
            // MAX_BUFS buffers.
            s.file_index = (MAX_BUFS * self.opts.bufsize) as i32;
        }
        self.push(s)
    }

    pub(super) fn cancel_recv(&mut self, fd: i32) -> Result<()> {
        let mut s = sqe(OP_ASYNC_CANCEL, -1, CANCEL | fd as u32 as u64);
        s.addr = RECV | fd as u32 as u64;
        self.push(s)
    }

    pub(super) fn send(&mut self, fd: i32, bid: u16, from: usize, len: usize) -> Result<()> {
        let mut s = sqe(OP_SEND, fd, SEND | fd as u32 as u64);
        s.addr = self.ring.buf_addr(bid, from);
        s.len = (len - from) as u32;
        self.push(s)
    }

    fn on_cqe(&mut self, c: Cqe) -> Result<()> {
        let fd = c.user_data as u32 as i32;
        match c.user_data & (0xff << 32) {
            ACCEPT => self.on_accept(c),
            RECV => self.on_recv(fd, c),
            SEND => self.on_send(fd, c),
            _ => Ok(()), // ASYNC_CANCEL's own result: the RECV's CQE says the rest
        }
    }

    pub(super) fn failed(
        &self,
        row: &'static calls::Syscall,
        op: &str,
        fd: i32,
        res: i32,
    ) -> Error {
        let unix = self
            .conns
            .get(fd as usize)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.peer.as_ref().is_some_and(|p| p.is_unix()));
        Error::sys(
            row,
            format!("io_uring {op}(fd={fd})"),
            Errno::from_raw(-res),
            unix,
        )
    }
}
