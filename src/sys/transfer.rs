//! A script's data calls (see raw.rs): sendto and recvfrom with any
//! flags, read and write on any fd.
#![allow(clippy::disallowed_methods)]

use super::raw::{named, peer_args};
use super::*;
use crate::strace::ArgVal::{Buf, Fd, Int, Null, Ptr, Text};
use crate::values::xlat::Group;

impl Sys {
    /// sendto(2) with the script's flags; `to` None is `send`'s `NULL, 0`.
    pub fn sendto_raw(
        &self,
        s: Socket,
        buf: &[u8],
        flags: i32,
        to: Option<&Addr>,
    ) -> Result<usize> {
        let n = self.call(
            Call {
                row: &calls::SENDTO,
                fd: Some(s),
                unix: to.is_some_and(Addr::is_unix),
            },
            || {
                let (p, len) = (buf.as_ptr().cast::<libc::c_void>(), buf.len());
                // SAFETY: p/len describe the caller's live buffer; the
                // address is nix's, live for the closure.
                let r = match to {
                    None => unsafe { libc::sendto(s.0, p, len, flags, std::ptr::null(), 0) },
                    Some(to) => to
                        .with_nix(|a| unsafe {
                            libc::sendto(s.0, p, len, flags, a.as_ptr(), a.len())
                        })
                        .unwrap_or_else(|| {
                            Errno::EAFNOSUPPORT.set();
                            -1
                        }),
                };
                Errno::result(r).map(|n| n as i64)
            },
            |_| {
                let (dest, dest_len) = match to {
                    None => (Null, 0),
                    Some(a) => (Text(a.strace()), a.kernel_len()),
                };
                let args = [
                    Fd(s.0),
                    Buf(buf, STRACE_MAX_STRLEN),
                    Int(buf.len() as i64),
                    named(Group::Msg, flags),
                    dest,
                    Int(i64::from(dest_len)),
                ];
                Rendered {
                    args: row_args(&calls::SENDTO, &args),
                    note: String::new(),
                    addr: to.copied(),
                }
            },
        )?;
        Ok(n as usize)
    }

    /// recvfrom(2) into `buf` with the script's flags; with `want_from`,
    /// the sender's address (None when the kernel gives none: a stream
    /// socket). The count is the return value: with MSG_TRUNC on a
    /// datagram socket it may exceed `buf.len()`.
    pub fn recvfrom_raw(
        &self,
        s: Socket,
        buf: &mut [u8],
        flags: i32,
        want_from: bool,
    ) -> Result<(usize, Option<Addr>)> {
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let len = Cell::new(cap);
        let ss_ptr: *mut libc::sockaddr_storage = &mut ss;
        let buf_ptr = buf.as_mut_ptr();
        let buf_len = buf.len();
        let n = self.call(
            Call {
                row: &calls::RECVFROM,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                let (from, from_len) = if want_from {
                    (ss_ptr.cast::<libc::sockaddr>(), len.as_ptr())
                } else {
                    (std::ptr::null_mut(), std::ptr::null_mut())
                };
                // SAFETY: buf_ptr/buf_len describe the caller's live buffer;
                // from/from_len are null or point to live locals.
                let r =
                    unsafe { libc::recvfrom(s.0, buf_ptr.cast(), buf_len, flags, from, from_len) };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let data = filled(buf_ptr, buf_len, ret);
                let [from, from_len] = if want_from && ret.is_ok() && len.get() == 0 {
                    // A stream socket: the kernel names no sender, strace
                    // shows the buffer's address.
                    [
                        Ptr(ss_ptr.cast_const().cast()),
                        crate::strace::ArgVal::InOut(cap, Some(0)),
                    ]
                } else {
                    peer_args(want_from, ret.is_ok(), ss_ptr, cap, len.get())
                };
                let args = [
                    Fd(s.0),
                    data,
                    Int(buf_len as i64),
                    named(Group::Msg, flags),
                    from,
                    from_len,
                ];
                plain(row_args(&calls::RECVFROM, &args))
            },
        )?;
        let from = (want_from && len.get() > 0).then(|| Addr::from_raw(ss, len.get()));
        Ok((n as usize, from))
    }

    /// read(2) into `buf`: the count read (0 at end of file).
    pub fn read(&self, fd: Socket, buf: &mut [u8]) -> Result<usize> {
        let buf_ptr = buf.as_mut_ptr();
        let buf_len = buf.len();
        let n = self.call(
            Call {
                row: &calls::READ,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: buf_ptr/buf_len describe the caller's live buffer.
                let r = unsafe { libc::read(fd.0, buf_ptr.cast(), buf_len) };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let args = [Fd(fd.0), filled(buf_ptr, buf_len, ret), Int(buf_len as i64)];
                plain(row_args(&calls::READ, &args))
            },
        )?;
        Ok(n as usize)
    }

    /// write(2) of `buf`: the count written.
    pub fn write(&self, fd: Socket, buf: &[u8]) -> Result<usize> {
        let n = self.call(
            Call {
                row: &calls::WRITE,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: buf is the caller's live buffer of buf.len() bytes.
                let r = unsafe { libc::write(fd.0, buf.as_ptr().cast(), buf.len()) };
                Errno::result(r).map(|n| n as i64)
            },
            |_| {
                let args = [Fd(fd.0), Buf(buf, STRACE_MAX_STRLEN), Int(buf.len() as i64)];
                plain(row_args(&calls::WRITE, &args))
            },
        )?;
        Ok(n as usize)
    }
}

/// A buffer the kernel filled: its first `n` bytes (at most its length:
/// MSG_TRUNC returns more than it holds; strace shows what it holds), or
/// its address when the call failed.
pub(super) fn filled<'a>(
    ptr: *mut u8,
    cap: usize,
    ret: &std::result::Result<i64, Errno>,
) -> ArgVal<'a> {
    match ret {
        // SAFETY: the kernel wrote min(n, cap) bytes of the caller's live
        // buffer, which outlives the rendering (done before the wrapper returns).
        Ok(n) => Buf(
            unsafe { std::slice::from_raw_parts(ptr, (*n as usize).min(cap)) },
            STRACE_MAX_STRLEN,
        ),
        Err(_) => Ptr(ptr.cast_const().cast()),
    }
}
