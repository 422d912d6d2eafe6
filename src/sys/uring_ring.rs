//! An io_uring's rings in this process's memory: the submission queue
//! (SQEs and their index array), the completion queue, and a provided-
//! buffer ring (group 0) with its buffers. Set up by [`Sys::uring`]
//! (io_uring_setup, two mmaps of the ring fd, one anonymous mmap,
//! io_uring_register); [`Sys::uring_submit`] makes the one io_uring_enter
//! per loop iteration and reaps every completion.
//!
//! The shared indices are read and written as atomics (acquire the
//! kernel's, release ours), as liburing does.

use super::uring::{
    Cqe, IORING_ENTER_GETEVENTS, IORING_FEAT_SINGLE_MMAP, IORING_OFF_SQ_RING, IORING_OFF_SQES,
    Params, Sqe,
};
use super::*;
use crate::values::calls::ring_op_name;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

/// `IORING_CQE_F_*` names, in bit order.
const CQE_FLAGS: &[&str] = &["F_BUFFER", "F_MORE", "F_SOCK_NONEMPTY", "F_NOTIF"];
pub const CQE_F_BUFFER: u32 = 1;
pub const CQE_F_MORE: u32 = 2;

/// One io_uring and its provided buffers.
pub struct Ring {
    fd: Socket,
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_mask: u32,
    sq_entries: u32,
    sq_array: *mut u32,
    sqes: *mut Sqe,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const Cqe,
    /// Our SQ tail (published to the kernel at each submit).
    tail: u32,
    /// The provided-buffer ring (`struct io_uring_buf` entries) and its buffers.
    br: *mut u8,
    br_entries: u16,
    /// br_entries - 1: the kernel takes only a power of two entries, so a
    /// buffer id masked with it is always one of ours (no division).
    br_mask: u16,
    br_tail: u16,
    bufs: *mut u8,
    bufsize: usize,
    /// The SQEs pushed since the last submit, for `--trace` (empty when
    /// not tracing), each with the caller's own text if it gave one.
    log: Vec<(Sqe, Option<String>)>,
    traced: bool,
}

fn at<T>(base: *mut u8, off: u32) -> *mut T {
    base.wrapping_add(off as usize).cast()
}

impl Sys {
    /// Steps 1-2 of `--model uring`: `io_uring_setup(entries)`, the rings
    /// `mmap`ed (one mapping for SQ and CQ: IORING_FEAT_SINGLE_MMAP, else
    /// two), the SQE array `mmap`ed, `nbufs` (a power of two: the kernel
    /// takes no other) buffers of `bufsize` bytes in one anonymous mapping
    /// after their ring entries, registered as buffer group 0
    /// (`io_uring_register(IORING_REGISTER_PBUF_RING)`).
    pub fn uring(&self, entries: u32, nbufs: u16, bufsize: usize) -> Result<Ring> {
        let (fd, p) = self.io_uring_setup(entries)?;
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<Cqe>();
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        let sq = self.mmap(
            if single { sq_len.max(cq_len) } else { sq_len },
            Some(fd),
            IORING_OFF_SQ_RING,
        )?;
        let cq = if single {
            sq
        } else {
            self.mmap(cq_len, Some(fd), 0x800_0000)?
        };
        let sqes = self.mmap(
            p.sq_entries as usize * size_of::<Sqe>(),
            Some(fd),
            IORING_OFF_SQES,
        )?;
        let ring_len = (usize::from(nbufs) * 16).next_multiple_of(4096);
        let br = self.mmap(ring_len + usize::from(nbufs) * bufsize, None, 0)?;
        self.io_uring_register_pbuf_ring(fd, br, u32::from(nbufs), 0)?;
        let mut ring = ring_at(fd, &p, sq, cq, sqes);
        ring.br = br;
        ring.br_entries = nbufs;
        ring.br_mask = nbufs.wrapping_sub(1);
        ring.bufs = br.wrapping_add(ring_len);
        ring.bufsize = bufsize;
        ring.traced = self.ring_traced();
        for bid in 0..nbufs {
            ring.give(bid);
        }
        Ok(ring)
    }

    /// The one io_uring_enter of a loop iteration: submit every pushed
    /// SQE and, with `wait`, wait for at least one completion; then every
    /// completion is moved to `cqes`. Under `--trace`, the SQEs and CQEs
    /// are noted under the io_uring_enter line.
    pub fn uring_submit(&self, ring: &mut Ring, wait: bool, cqes: &mut Vec<Cqe>) -> Result<()> {
        ring.publish();
        let to_submit = ring.unsubmitted();
        let (min, flags) = if wait {
            (1, IORING_ENTER_GETEVENTS)
        } else {
            (0, 0)
        };
        let res = self.io_uring_enter(ring.fd, to_submit, min, flags);
        if ring.traced {
            for (s, text) in std::mem::take(&mut ring.log) {
                match text {
                    Some(t) => self.ring_note(&format!("  sqe {t} user_data={:#x}", s.user_data)),
                    None => self.ring_note(&sqe_text(&s, ring)),
                }
            }
        }
        res?;
        cqes.clear();
        ring.reap(cqes);
        if ring.traced {
            for c in cqes.iter() {
                self.ring_note(&cqe_text(c));
            }
        }
        Ok(())
    }

    /// close(2) of the ring's fd.
    pub fn uring_close(&self, ring: Ring) -> Result<()> {
        self.close(ring.fd)
    }
}

/// The Ring over its mapped memory (no buffers yet).
fn ring_at(fd: Socket, p: &Params, sq: *mut u8, cq: *mut u8, sqes: *mut u8) -> Ring {
    let (s, c) = (&p.sq_off, &p.cq_off);
    // SAFETY: the offsets are the kernel's, inside the mappings it sized.
    let (sq_mask, cq_mask) = unsafe { (*at::<u32>(sq, s.ring_mask), *at::<u32>(cq, c.ring_mask)) };
    Ring {
        fd,
        sq_head: at(sq, s.head),
        sq_tail: at(sq, s.tail),
        sq_mask,
        sq_entries: p.sq_entries,
        sq_array: at(sq, s.array),
        sqes: sqes.cast(),
        cq_head: at(cq, c.head),
        cq_tail: at(cq, c.tail),
        cq_mask,
        cqes: at(cq, c.cqes),
        // SAFETY: as above; the kernel starts the tail at 0, but read it.
        tail: unsafe { (*at::<AtomicU32>(sq, s.tail)).load(Ordering::Acquire) },
        br: std::ptr::null_mut(),
        br_entries: 0,
        br_mask: 0,
        br_tail: 0,
        bufs: std::ptr::null_mut(),
        bufsize: 0,
        log: Vec::new(),
        traced: false,
    }
}

impl Ring {
    /// Queue one SQE; false when the submission queue is full (submit first).
    pub fn push(&mut self, sqe: Sqe) -> bool {
        // SAFETY: sq_head is in the mapped SQ ring.
        let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
        if self.tail.wrapping_sub(head) >= self.sq_entries {
            return false;
        }
        let idx = self.tail & self.sq_mask;
        // SAFETY: idx < sq_entries: inside the SQE array and the index array.
        unsafe {
            *self.sqes.add(idx as usize) = sqe;
            *self.sq_array.add(idx as usize) = idx;
        }
        self.tail = self.tail.wrapping_add(1);
        if self.traced {
            self.log.push((sqe, None));
        }
        true
    }

    /// [`Ring::push`], with the `--trace` text of the SQE (`OP(args)`)
    /// given by the caller: for an SQE that points to memory only the
    /// caller can read (a SENDMSG's msghdr). `text` is only called when tracing.
    pub fn push_described(&mut self, sqe: Sqe, text: impl FnOnce() -> String) -> bool {
        if !self.push(sqe) {
            return false;
        }
        if let Some(last) = self.log.last_mut() {
            last.1 = Some(text());
        }
        true
    }

    /// Whether `--trace` is on (the SQE and CQE lines are wanted).
    pub fn traced(&self) -> bool {
        self.traced
    }

    fn publish(&self) {
        // SAFETY: sq_tail is in the mapped SQ ring; release: the SQEs first.
        unsafe { (*self.sq_tail).store(self.tail, Ordering::Release) }
    }

    fn unsubmitted(&self) -> u32 {
        // SAFETY: sq_head is in the mapped SQ ring.
        self.tail
            .wrapping_sub(unsafe { (*self.sq_head).load(Ordering::Acquire) })
    }

    fn reap(&mut self, out: &mut Vec<Cqe>) {
        // SAFETY: cq_head/cq_tail are in the mapped CQ ring; the entries
        // between them are the kernel's completed CQEs (acquire on its tail).
        unsafe {
            let mut head = (*self.cq_head).load(Ordering::Relaxed);
            let tail = (*self.cq_tail).load(Ordering::Acquire);
            while head != tail {
                out.push(*self.cqes.add((head & self.cq_mask) as usize));
                head = head.wrapping_add(1);
            }
            (*self.cq_head).store(head, Ordering::Release);
        }
    }

    /// Buffer `bid` (from a CQE's flags >> 16), its first `len` bytes.
    pub fn buf(&mut self, bid: u16, len: usize) -> &mut [u8] {
        let len = len.min(self.bufsize);
        let bid = usize::from(bid & self.br_mask);
        // SAFETY: bid < br_entries buffers of bufsize bytes follow the ring
        // entries in the anonymous mapping; the kernel wrote them before
        // posting the CQE and does not touch them until the buffer is given back.
        unsafe { std::slice::from_raw_parts_mut(self.bufs.add(bid * self.bufsize), len) }
    }

    /// Give buffer `bid` back to the kernel (group 0).
    pub fn give(&mut self, bid: u16) {
        let slot = usize::from(self.br_tail & self.br_mask);
        let b = usize::from(bid & self.br_mask);
        // SAFETY: slot < br_entries: a `struct io_uring_buf` (addr u64, len
        // u32, bid u16, resv u16) in the ring; the ring's tail is entry 0's
        // resv (offset 14), published with release after the entry.
        unsafe {
            let e = self.br.add(slot * 16);
            *e.cast::<u64>() = self.bufs.add(b * self.bufsize) as u64;
            *e.add(8).cast::<u32>() = self.bufsize as u32;
            *e.add(12).cast::<u16>() = b as u16;
            self.br_tail = self.br_tail.wrapping_add(1);
            (*self.br.add(14).cast::<AtomicU16>()).store(self.br_tail, Ordering::Release);
        }
    }

    /// The address of buffer `bid` (for a SEND from it).
    pub fn buf_addr(&self, bid: u16, off: usize) -> u64 {
        let b = usize::from(bid & self.br_mask);
        self.bufs.wrapping_add(b * self.bufsize + off) as u64
    }
}

/// `  sqe RECV(fd=5, buf_group=0, multishot) user_data=0x...`.
fn sqe_text(s: &Sqe, ring: &Ring) -> String {
    let name = ring_op_name(s.opcode);
    let args = match s.opcode {
        13 => format!(
            "fd={}{}",
            s.fd,
            if s.ioprio & 1 != 0 { ", multishot" } else { "" }
        ),
        10 | 27 => format!(
            "fd={}, buf_group={}{}{}",
            s.fd,
            s.buf_group,
            if s.ioprio & 2 != 0 { ", multishot" } else { "" },
            if s.file_index > 0 {
                format!(", limit={}", s.file_index)
            } else {
                String::new()
            }
        ),
        26 => {
            let off = (s.addr as usize).wrapping_sub(ring.bufs as usize);
            let (bid, from) = (off / ring.bufsize.max(1), off % ring.bufsize.max(1));
            let b = bid as u16;
            let bytes = if ring.bufs.is_null() || bid >= usize::from(ring.br_entries) {
                String::from("?")
            } else {
                // SAFETY: inside buffer bid, which holds the bytes being sent.
                let data = unsafe {
                    std::slice::from_raw_parts(
                        ring.bufs.add(usize::from(b) * ring.bufsize + from),
                        (s.len as usize).min(ring.bufsize - from),
                    )
                };
                quote(data, STRACE_MAX_STRLEN)
            };
            format!("fd={}, {bytes}, {}", s.fd, s.len)
        }
        14 => format!("user_data={:#x}", s.addr),
        _ => format!("fd={}", s.fd),
    };
    format!("  sqe {name}({args}) user_data={:#x}", s.user_data)
}

/// `  cqe user_data=0x... res=5 flags=F_BUFFER|F_MORE (buf 3)`.
fn cqe_text(c: &Cqe) -> String {
    let res = if c.res < 0 {
        format!(
            "-{}",
            Errno::from_raw(-c.res)
                .to_string()
                .split(':')
                .next()
                .unwrap_or("?")
        )
    } else {
        c.res.to_string()
    };
    let mut flags: Vec<&str> = CQE_FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| c.flags & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    if flags.is_empty() {
        flags.push("0");
    }
    let buf = if c.flags & CQE_F_BUFFER != 0 {
        format!(" (buf {})", c.flags >> 16)
    } else {
        String::new()
    };
    format!(
        "  cqe user_data={:#x} res={res} flags={}{buf}",
        c.user_data,
        flags.join("|")
    )
}
