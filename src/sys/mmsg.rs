//! recvmmsg and sendmmsg (`udp server --batch N`, `bench udp --batch N`):
//! up to N datagrams per call, each in its own `struct mmsghdr` of a
//! [`Batch`] made once, so that a call allocates nothing. Rendered as
//! strace 6.1 prints them: the msgvec array (at most 32 entries, then
//! `...`), recvmmsg's entries as filled (`msg_namelen=128 => 16`, the
//! bytes up to msg_len, `msg_len=N`), sendmmsg's as sent (msg_len only
//! for the ones that went out), recvmmsg's timeout (always NULL).
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;

use super::msg::iov_text;
use super::raw::named;
use super::*;
use crate::strace::ArgVal::{Fd, Int, Ptr, Text};
use crate::values::xlat::{self, Group};

/// strace prints at most this many entries of an array (its max_strlen).
const SHOWN: usize = 32;
/// A sockaddr_storage's size: recvmmsg's `msg_namelen=128 => N`.
const CAP: libc::socklen_t = size_of::<libc::sockaddr_storage>() as libc::socklen_t;

/// N datagram buffers of `size` bytes, each with its iovec, its sender's
/// address (when `named`) and its `struct mmsghdr`. The pointers between
/// them are set again before each recvmmsg (`arm`), from vectors that
/// never grow.
pub struct Batch {
    size: usize,
    named: bool,
    bufs: Vec<u8>,
    iov: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Batch {
    /// A batch of `bufs.len() / size` datagrams (at least 1) over `bufs`
    /// (allocated by the caller: `socket::buffer`); `named`: each datagram
    /// has its address (an unconnected socket), else msg_name is NULL.
    pub fn new(bufs: Vec<u8>, size: usize, named: bool) -> Batch {
        let n = bufs.len().checked_div(size).unwrap_or(0).max(1);
        // SAFETY: zeroed iovecs, sockaddr_storages and mmsghdrs are valid
        // (null pointers, zero lengths).
        let (iov, names, hdrs) = unsafe {
            (
                vec![zeroed::<libc::iovec>(); n],
                vec![zeroed::<libc::sockaddr_storage>(); if named { n } else { 0 }],
                vec![zeroed::<libc::mmsghdr>(); n],
            )
        };
        let mut b = Batch {
            size,
            named,
            bufs,
            iov,
            names,
            hdrs,
        };
        b.arm(n);
        b
    }

    /// How many datagrams it holds.
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Points the first `n` entries at their buffer (all `size` bytes) and
    /// address (the whole storage), msg_len 0.
    fn arm(&mut self, n: usize) {
        let base = self.bufs.as_mut_ptr();
        let names = self.names.as_mut_ptr();
        for k in 0..n.min(self.hdrs.len()) {
            let (Some(v), Some(h)) = (self.iov.get_mut(k), self.hdrs.get_mut(k)) else {
                break;
            };
            // An empty buffer (size 0) has no bytes to point into.
            v.iov_base = if self.size == 0 {
                base.cast()
            } else {
                base.wrapping_add(k * self.size).cast()
            };
            v.iov_len = self.size;
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = std::ptr::null_mut();
            h.msg_hdr.msg_controllen = 0;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
            if self.named {
                h.msg_hdr.msg_name = names.wrapping_add(k).cast();
                h.msg_hdr.msg_namelen = CAP;
            } else {
                h.msg_hdr.msg_name = std::ptr::null_mut();
                h.msg_hdr.msg_namelen = 0;
            }
        }
    }

    /// Datagram `k`'s length as the kernel returned it (with MSG_TRUNC, its
    /// real length, which may exceed the buffer).
    pub fn len(&self, k: usize) -> usize {
        self.hdrs.get(k).map_or(0, |h| h.msg_len as usize)
    }

    /// Datagram `k`'s buffer, all of it (to fill before a sendmmsg).
    pub fn buf_mut(&mut self, k: usize) -> &mut [u8] {
        let at = k * self.size;
        self.bufs.get_mut(at..at + self.size).unwrap_or_default()
    }

    /// Datagram `k`'s sender (None: not named, or the kernel gave no
    /// address: an unbound UNIX peer).
    pub fn from(&self, k: usize) -> Option<Addr> {
        let h = self.hdrs.get(k)?;
        let ss = self.names.get(k)?;
        (h.msg_hdr.msg_namelen > 0).then(|| Addr::from_raw(*ss, h.msg_hdr.msg_namelen))
    }

    /// Datagram `k` goes out (sendmmsg) with its buffer's first `n` bytes,
    /// to the address it came from.
    pub fn set_len(&mut self, k: usize, n: usize) {
        if let Some(v) = self.iov.get_mut(k) {
            v.iov_len = n.min(self.size);
        }
    }

    /// Datagram `k` goes out (sendmmsg) to `to` (a script's msg_name),
    /// with the address's own length as msg_namelen; a batch made without
    /// names has nowhere to keep one (the connected peer's).
    pub fn set_name(&mut self, k: usize, to: &Addr) {
        if let (Some(ss), Some(h)) = (self.names.get_mut(k), self.hdrs.get_mut(k)) {
            *ss = to.storage();
            h.msg_hdr.msg_namelen = to.kernel_len();
        }
    }

    /// Entry `k`, as strace prints it in recvmmsg (`filled`: its name
    /// length and bytes as the kernel wrote them, up to msg_len) or in
    /// sendmmsg (its iov_len bytes); with `msg_len`, that field too.
    fn entry_text(&self, k: usize, filled: bool, msg_len: bool) -> String {
        let Some(h) = self.hdrs.get(k) else {
            return String::new();
        };
        let m = &h.msg_hdr;
        let len = m.msg_namelen;
        let name = match self.names.get(k) {
            None => "msg_name=NULL".to_string(),
            Some(_) if len == 0 => format!("msg_name={:p}", m.msg_name),
            Some(ss) => format!("msg_name={}", strace::sockaddr(ss, len)),
        };
        let namelen = match (filled, self.named) {
            (true, true) => len_in_out_text(CAP, len),
            _ => len.to_string(),
        };
        let v = self.iov.get(k).map_or(0, |v| v.iov_len);
        let shown = if filled { v.min(h.msg_len as usize) } else { v };
        let at = k * self.size;
        let bytes = self.bufs.get(at..at + shown).unwrap_or_default();
        let mut s = format!(
            "{{msg_hdr={{{name}, msg_namelen={namelen}, {}, msg_controllen=0, msg_flags={}}}",
            iov_text(&[(bytes, v)]),
            xlat::flags_text(Group::Msg, i64::from(m.msg_flags as u32))
        );
        if msg_len {
            let _ = write!(s, ", msg_len={}", h.msg_len);
        }
        s.push('}');
        s
    }

    /// The msgvec of entries `from..from + count`: `[{...}, ...]`, the
    /// first `with_len` of them with msg_len.
    fn vec_text(&self, from: usize, count: usize, filled: bool, with_len: usize) -> String {
        let mut items: Vec<String> = (0..count.min(SHOWN))
            .map(|k| self.entry_text(from + k, filled, k < with_len))
            .collect();
        if count > SHOWN {
            items.push("...".to_string());
        }
        format!("[{}]", items.join(", "))
    }
}

/// `128 => 16`, or `128` when unchanged (strace's in/out length, unbracketed
/// inside a struct).
fn len_in_out_text(cap: libc::socklen_t, len: libc::socklen_t) -> String {
    if cap == len {
        cap.to_string()
    } else {
        format!("{cap} => {len}")
    }
}

impl Sys {
    /// recvmmsg(2): up to `vlen` datagrams (at most the batch's capacity)
    /// into `b`, with `flags` (MSG_WAITFORONE: wait for the first only),
    /// timeout NULL; returns how many arrived.
    pub fn recvmmsg(&self, s: Socket, b: &mut Batch, vlen: usize, flags: i32) -> Result<usize> {
        let vlen = vlen.clamp(1, b.capacity());
        b.arm(vlen);
        let hdrs = b.hdrs.as_mut_ptr();
        let n = self.call(
            Call {
                row: &calls::RECVMMSG,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: hdrs holds vlen armed mmsghdrs whose pointers name
                // live buffers, iovecs and storages of the lengths given.
                let r = unsafe {
                    libc::recvmmsg(s.0, hdrs, vlen as libc::c_uint, flags, std::ptr::null_mut())
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let msgvec = match ret {
                    Ok(n) => Text(b.vec_text(0, *n as usize, true, *n as usize)),
                    Err(_) => Ptr(b.hdrs.as_ptr().cast()),
                };
                let args = [
                    Fd(s.0),
                    msgvec,
                    Int(vlen as i64),
                    named(Group::Msg, flags),
                    ArgVal::Null,
                ];
                plain(row_args(&calls::RECVMMSG, &args))
            },
        )?;
        Ok(n as usize)
    }

    /// sendmmsg(2): the batch's entries `from..from + count`, each with
    /// the length `set_len` gave it, to its own address (or the connected
    /// peer), with `flags`; returns how many went out.
    pub fn sendmmsg(
        &self,
        s: Socket,
        b: &mut Batch,
        from: usize,
        count: usize,
        flags: i32,
    ) -> Result<usize> {
        let count = count.min(b.capacity().saturating_sub(from));
        let hdrs = b.hdrs.as_mut_ptr().wrapping_add(from);
        let unix = b
            .names
            .get(from)
            .is_some_and(|ss| i32::from(ss.ss_family) == libc::AF_UNIX);
        let n = self.call(
            Call {
                row: &calls::SENDMMSG,
                fd: Some(s),
                unix,
            },
            || {
                // SAFETY: hdrs points to `count` mmsghdrs of the batch (from
                // + count <= capacity) whose pointers name live memory.
                let r = unsafe { libc::sendmmsg(s.0, hdrs, count as libc::c_uint, flags) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let sent = ret.map_or(0, |n| n as usize);
                let args = [
                    Fd(s.0),
                    Text(b.vec_text(from, count, false, sent)),
                    Int(count as i64),
                    named(Group::Msg, flags),
                ];
                plain(row_args(&calls::SENDMMSG, &args))
            },
        )?;
        Ok(n as usize)
    }
}
