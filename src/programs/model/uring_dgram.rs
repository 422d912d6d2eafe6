//! `udp server --model uring` and `unix server --dgram --model uring`: the
//! datagram server of `dgram.rs` on an io_uring (issue 18). No syscall per
//! datagram: one multishot RECVMSG brings every datagram, the replies are
//! SENDMSG SQEs, and one `io_uring_enter` per loop iteration submits all
//! the replies of the last batch and reaps the next.
//!
//! 1. `getsockname(fd)`
//! 2. `io_uring_setup(1024)`, the rings `mmap`ed (SQ and CQ in one
//!    mapping, then the SQE array), 256 buffers of 16 + 128 + `--bufsize`
//!    bytes in one anonymous `mmap`, registered as buffer group 0
//!    (`io_uring_register(IORING_REGISTER_PBUF_RING)`); then `listening on ADDR`
//! 3. a RECVMSG SQE: multishot, buffer group 0, its msghdr with
//!    `msg_namelen` 128 and no iovec: each datagram is a CQE whose buffer
//!    holds `struct io_uring_recvmsg_out` (16 bytes), the sender's address
//!    (128) and the payload (a longer datagram is cut to `--bufsize`, as
//!    recvfrom cuts it)
//! 4. loop: `io_uring_enter(ring, pending, 1, IORING_ENTER_GETEVENTS)`;
//!    for each CQE:
//!    - a datagram in buffer B: `datagram from PEER: MSG`, upper-cased in
//!      place, a SENDMSG SQE back to PEER from buffer B (to a UNIX peer with
//!      MSG_DONTWAIT, as every datagram model replies); B goes back to the
//!      ring when the SENDMSG completes
//!    - a SENDMSG failed (an unbound UNIX peer, a full queue): reported,
//!      the reply dropped; the server goes on
//!    - the RECVMSG ended: ENOBUFS (every buffer waits for its reply):
//!      armed again once a buffer comes back; another error ends the server
//!      (exit 1), as a failed recvfrom does
//!    - `--once`, `--max-conns N`: after the Nth datagram the RECVMSG is
//!      cancelled (ASYNC_CANCEL); a datagram it had taken already is
//!      dropped unprinted and unanswered (the other models leave it in the
//!      socket's queue, closed with it: for its sender the same)
//! 5. once no operation is in flight: `close(ring)`, `close(fd)`.
//!
//! io_uring unavailable: io_uring_setup fails (EPERM, ENOSYS): one line,
//! exit 1, before `listening on`; no fallback.

use nix::errno::Errno;

use super::ring_loop;
use crate::output::{Output, shown};
use crate::sys::{CQE_F_BUFFER, CQE_F_MORE, Cqe, Ring, Socket, Sqe, Sys};
use crate::values::addr::Addr;
use crate::values::calls;
use crate::values::error::{Error, Result};
use crate::values::quoting::{STRACE_MAX_STRLEN, quote};

const ENTRIES: u32 = 1024;
const NBUFS: u16 = 256;
/// `struct io_uring_recvmsg_out`: namelen, controllen, payloadlen, flags.
const HDR: usize = 16;
/// Room for the sender's address in each buffer (`msg_namelen`).
const NAME: usize = 128;

const OP_SENDMSG: u8 = 9;
const OP_RECVMSG: u8 = 10;
const OP_ASYNC_CANCEL: u8 = 14;
const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
const IORING_RECV_MULTISHOT: u16 = 2;

/// user_data: the kind in bits 32-39, the buffer (SENDMSG) below.
const RECV: u64 = 2 << 32;
const SEND: u64 = 3 << 32;
const CANCEL: u64 = 4 << 32;

/// What the datagram server was asked for.
pub struct DgramUring {
    pub bufsize: usize,
    /// `--once` (1) or `--max-conns N`: datagrams served before the end.
    pub limit: Option<u64>,
    pub quiet: bool,
}

struct Loop<'a> {
    sys: &'a Sys,
    out: &'a Output,
    fd: Socket,
    unix: bool,
    quiet: bool,
    /// `--bufsize`: each buffer's room for a datagram's bytes.
    bufsize: usize,
    ring: Ring,
    /// The RECVMSG's msghdr (read by the kernel for each datagram).
    recv_hdr: Box<libc::msghdr>,
    /// Per buffer, its reply's msghdr and iovec (read while its SENDMSG is in flight).
    send_hdrs: Vec<libc::msghdr>,
    send_iovs: Vec<libc::iovec>,
    served: u64,
    limit: Option<u64>,
    /// The multishot RECVMSG is armed.
    recv: bool,
    /// It ended with ENOBUFS: armed again once a buffer comes back.
    starved: bool,
    gave: bool,
    /// SENDMSGs in flight.
    sending: usize,
    stopping: bool,
    /// CQEs reaped while making room in a full SQ.
    later: Vec<Cqe>,
}

fn msghdr(name: u64, namelen: u32, iov: *mut libc::iovec, iovlen: usize) -> libc::msghdr {
    libc::msghdr {
        msg_name: name as *mut libc::c_void,
        msg_namelen: namelen,
        msg_iov: iov,
        msg_iovlen: iovlen,
        msg_control: std::ptr::null_mut(),
        msg_controllen: 0,
        msg_flags: 0,
    }
}

/// Steps 1 to 5 on a bound datagram socket.
pub fn serve_dgram_uring(sys: &Sys, out: &Output, fd: Socket, opts: &DgramUring) -> Result<()> {
    let me = sys.getsockname(fd)?;
    let ring = sys.uring(ENTRIES, NBUFS, HDR + NAME + opts.bufsize)?;
    let iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut lp = Loop {
        sys,
        out,
        fd,
        unix: me.is_unix(),
        quiet: opts.quiet,
        bufsize: opts.bufsize,
        ring,
        recv_hdr: Box::new(msghdr(0, NAME as u32, std::ptr::null_mut(), 0)),
        send_hdrs: vec![msghdr(0, 0, std::ptr::null_mut(), 0); usize::from(NBUFS)],
        send_iovs: vec![iov; usize::from(NBUFS)],
        served: 0,
        limit: opts.limit,
        recv: false,
        starved: false,
        gave: false,
        sending: 0,
        stopping: false,
        later: Vec::new(),
    };
    lp.arm_recv()?;
    out.listening(&me);
    // Reused every iteration: no allocation per loop once they have grown.
    let (mut cqes, mut batch) = (Vec::new(), Vec::new());
    while !(lp.stopping && !lp.recv && lp.sending == 0) {
        ring_loop::turn(sys, &mut lp.ring, &mut lp.later, &mut cqes, &mut batch)?;
        for c in batch.drain(..) {
            lp.on_cqe(c)?;
        }
        if !lp.recv && !lp.stopping && (!lp.starved || lp.gave) {
            lp.arm_recv()?;
        }
    }
    sys.uring_close(lp.ring)?;
    sys.close(fd)
}

impl Loop<'_> {
    /// Queue an SQE; a full SQ is submitted first (no wait), its CQEs kept for later.
    fn push(&mut self, s: Sqe, text: impl Fn() -> String) -> Result<()> {
        ring_loop::push(self.sys, &mut self.ring, &mut self.later, s, Some(&text))
    }

    /// Step 3: the multishot RECVMSG.
    fn arm_recv(&mut self) -> Result<()> {
        let fd = self.fd.fd();
        let s = Sqe {
            opcode: OP_RECVMSG,
            flags: IOSQE_BUFFER_SELECT,
            ioprio: IORING_RECV_MULTISHOT,
            fd,
            addr: std::ptr::from_mut(self.recv_hdr.as_mut()) as u64,
            len: 1,
            user_data: RECV | fd as u32 as u64,
            buf_group: 0,
            ..Sqe::default()
        };
        self.recv = true;
        self.starved = false;
        self.gave = false;
        self.push(s, || {
            format!("RECVMSG(fd={fd}, {{msg_namelen={NAME}}}, buf_group=0, multishot)")
        })
    }

    fn on_cqe(&mut self, c: Cqe) -> Result<()> {
        match c.user_data & (0xff << 32) {
            RECV => self.on_recv(c),
            SEND => self.on_send(c),
            _ => Ok(()), // ASYNC_CANCEL's own result: the RECVMSG's CQE says the rest
        }
    }

    /// A RECVMSG's CQE: a datagram in a buffer, or why the RECVMSG ended.
    fn on_recv(&mut self, c: Cqe) -> Result<()> {
        if c.flags & CQE_F_MORE == 0 {
            self.recv = false;
        }
        if c.flags & CQE_F_BUFFER != 0 {
            let bid = (c.flags >> 16) as u16;
            if c.res < 0 || self.stopping {
                self.give(bid);
                return Ok(());
            }
            return self.datagram(bid, c.res as usize);
        }
        match Errno::from_raw(-c.res) {
            _ if c.res >= 0 => Ok(()),
            Errno::ENOBUFS => {
                self.starved = true;
                Ok(())
            }
            Errno::ECANCELED => Ok(()),
            e => Err(self.failed(&calls::RECVMSG, "RECVMSG", None, e)),
        }
    }

    /// Step 4's datagram: printed, upper-cased, its reply queued.
    fn datagram(&mut self, bid: u16, len: usize) -> Result<()> {
        let (out, quiet, unix) = (self.out, self.quiet, self.unix);
        let buf = self.ring.buf(bid, len);
        let word = |at: usize| {
            buf.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes)
        };
        let mut namelen = (word(0) as usize).min(NAME);
        if namelen == 0 && unix {
            // An unbound UNIX client: no address; the reply goes to
            // {sa_family=AF_UNIX} (2 bytes), as the other models send it.
            if let Some(family) = buf.get_mut(HDR..HDR + 2) {
                family.copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
                namelen = 2;
            }
        }
        let from = sender(buf.get(HDR..HDR + namelen).unwrap_or_default());
        let payload = buf.get_mut(HDR + NAME..).unwrap_or_default();
        if !quiet {
            // The ring's buffers hold --bufsize bytes: a datagram cut to 0
            // is told from an empty one only when the buffers have room.
            let empty =
                crate::output::zero_bytes_suffix(payload.len(), payload.len(), self.bufsize, false);
            out.say_addr(
                "datagram from ",
                &from,
                &format!(": {}{empty}", shown(payload)),
            );
        }
        payload.make_ascii_uppercase();
        let n = payload.len();
        self.send(bid, namelen, n, &from)?;
        self.served += 1;
        if self.limit.is_some_and(|max| self.served >= max) {
            self.stop()?;
        }
        Ok(())
    }

    /// The reply: SENDMSG of buffer `bid`'s payload to its sender.
    fn send(&mut self, bid: u16, namelen: usize, n: usize, to: &Addr) -> Result<()> {
        let b = usize::from(bid);
        let (Some(hdr), Some(iov)) = (self.send_hdrs.get_mut(b), self.send_iovs.get_mut(b)) else {
            return Ok(());
        };
        iov.iov_base = self.ring.buf_addr(bid, HDR + NAME) as *mut libc::c_void;
        iov.iov_len = n;
        *hdr = msghdr(
            self.ring.buf_addr(bid, HDR),
            namelen as u32,
            std::ptr::from_mut(iov),
            1,
        );
        let flags = if self.unix { libc::MSG_DONTWAIT } else { 0 };
        let s = Sqe {
            opcode: OP_SENDMSG,
            fd: self.fd.fd(),
            addr: std::ptr::from_mut(hdr) as u64,
            len: 1,
            op_flags: flags as u32,
            user_data: SEND | u64::from(bid),
            ..Sqe::default()
        };
        self.sending += 1;
        let text = if self.ring.traced() {
            let data = self.ring_payload(bid, n);
            format!(
                "SENDMSG(fd={}, {{msg_name={}, msg_namelen={namelen}, msg_iov=[{{iov_base={}, iov_len={n}}}], msg_iovlen=1, msg_controllen=0, msg_flags=0}}, {})",
                s.fd,
                to.strace(),
                quote(&data, STRACE_MAX_STRLEN),
                if flags == 0 { "0" } else { "MSG_DONTWAIT" }
            )
        } else {
            String::new()
        };
        self.push(s, || text.clone())
    }

    /// The first bytes of buffer `bid`'s payload (for `--trace`).
    fn ring_payload(&mut self, bid: u16, n: usize) -> Vec<u8> {
        let keep = n.min(STRACE_MAX_STRLEN + 1);
        let buf = self.ring.buf(bid, HDR + NAME + keep);
        buf.get(HDR + NAME..).unwrap_or_default().to_vec()
    }

    /// A SENDMSG's CQE: the buffer back to the ring; a failure reported.
    fn on_send(&mut self, c: Cqe) -> Result<()> {
        let bid = c.user_data as u16;
        self.sending = self.sending.saturating_sub(1);
        if c.res < 0 {
            let e = Errno::from_raw(-c.res);
            let to = self.send_hdrs.get(usize::from(bid)).map(|h| h.msg_namelen);
            let buf = self.ring.buf(bid, HDR + NAME);
            let to = sender(
                buf.get(HDR..HDR + to.unwrap_or(0) as usize)
                    .unwrap_or_default(),
            );
            crate::output::report(&self.failed(&calls::SENDMSG, "SENDMSG", Some(&to), e));
        }
        self.give(bid);
        Ok(())
    }

    /// `--once`/`--max-conns` reached: no more datagrams (step 4's end).
    fn stop(&mut self) -> Result<()> {
        if self.stopping {
            return Ok(());
        }
        self.stopping = true;
        if !self.recv {
            return Ok(());
        }
        let fd = self.fd.fd();
        let s = Sqe {
            opcode: OP_ASYNC_CANCEL,
            fd: -1,
            addr: RECV | fd as u32 as u64,
            user_data: CANCEL | fd as u32 as u64,
            ..Sqe::default()
        };
        self.push(s, || format!("ASYNC_CANCEL(user_data={:#x})", s.addr))
    }

    fn give(&mut self, bid: u16) {
        self.ring.give(bid);
        self.gave = true;
    }

    /// A failed ring operation as an error line: `io_uring SENDMSG(fd=3)
    /// to PEER = -1 EAGAIN (...)` and the call's hint.
    fn failed(&self, row: &'static calls::Syscall, op: &str, to: Option<&Addr>, e: Errno) -> Error {
        let to = to.map(|a| format!(" to {a}")).unwrap_or_default();
        Error::sys(
            row,
            format!("io_uring {op}(fd={}){to}", self.fd.fd()),
            e,
            self.unix,
        )
    }
}

/// The sender's address from the bytes the kernel wrote (`namelen` of them).
fn sender(name: &[u8]) -> Addr {
    let mut ss = [0u8; size_of::<libc::sockaddr_storage>()];
    let n = name.len().min(ss.len());
    if let (Some(dst), Some(src)) = (ss.get_mut(..n), name.get(..n)) {
        dst.copy_from_slice(src);
    }
    Addr::from_bytes(&ss, n as libc::socklen_t).unwrap_or_else(Addr::unix_autobind)
}
