//! A script's sendmsg and recvmsg (see raw.rs): data in iovecs, an
//! optional address, control messages (cmsg.rs),
//! rendered as strace 6 prints a `struct msghdr`.
#![allow(clippy::disallowed_methods)]

use super::cmsg::{Cmsg, control_buffer, read_control};
use super::raw::named;
use super::*;
use crate::strace::ArgVal::{Fd, Text};
use crate::values::xlat::{self, Group};

/// What one [`Sys::recvmsg_raw`] got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The return value (with MSG_TRUNC on a datagram socket, the
    /// datagram's length, which may exceed the buffers).
    pub ret: usize,
    /// Per iovec, the part the kernel filled.
    pub data: Vec<Vec<u8>>,
    /// The sender's address, when asked for and the kernel gave one.
    pub name: Option<Addr>,
    /// The control messages socklab knows (the others are only shown).
    pub control: Vec<Cmsg>,
    /// The msghdr's msg_flags (MSG_TRUNC, MSG_CTRUNC, ...).
    pub msg_flags: i32,
}

/// `msg_iov=[{iov_base="hi", iov_len=2}, ...], msg_iovlen=N`.
pub(super) fn iov_text(bufs: &[(&[u8], usize)]) -> String {
    let items: Vec<String> = bufs
        .iter()
        .map(|(shown, len)| {
            format!(
                "{{iov_base={}, iov_len={len}}}",
                strace::quote(shown, STRACE_MAX_STRLEN)
            )
        })
        .collect();
    format!("msg_iov=[{}], msg_iovlen={}", items.join(", "), bufs.len())
}

/// `msg_control=[...], msg_controllen=N` (no msg_control when N is 0).
fn control_text(shown: &[String], len: usize) -> String {
    if len == 0 {
        return "msg_controllen=0".to_string();
    }
    format!("msg_control=[{}], msg_controllen={len}", shown.join(", "))
}

impl Sys {
    /// sendmsg(2): the iovecs' bytes, to `to` (None: NULL, the connected
    /// peer), with `control` (SCM_RIGHTS, SCM_CREDENTIALS) and `flags`.
    pub fn sendmsg(
        &self,
        s: Socket,
        iov: &[&[u8]],
        to: Option<&Addr>,
        control: &[Cmsg],
        flags: i32,
    ) -> Result<usize> {
        let mut iovecs: Vec<libc::iovec> = iov
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.as_ptr().cast_mut().cast(),
                iov_len: b.len(),
            })
            .collect();
        let (mut cbuf, clen) = control_buffer(control);
        let (iov_ptr, iov_n) = (iovecs.as_mut_ptr(), iovecs.len());
        let cptr = if clen == 0 {
            std::ptr::null_mut()
        } else {
            cbuf.as_mut_ptr().cast::<libc::c_void>()
        };
        let n = self.call(
            Call {
                row: &calls::SENDMSG,
                fd: Some(s),
                unix: to.is_some_and(Addr::is_unix),
            },
            || {
                let send = |name: *const libc::sockaddr, namelen: libc::socklen_t| {
                    // SAFETY: a zeroed msghdr is valid.
                    let mut m: libc::msghdr = unsafe { zeroed() };
                    m.msg_name = name.cast_mut().cast();
                    m.msg_namelen = namelen;
                    m.msg_iov = iov_ptr;
                    m.msg_iovlen = iov_n;
                    m.msg_control = cptr;
                    m.msg_controllen = clen;
                    // SAFETY: every pointer in m is null or points to a live
                    // buffer of the length beside it.
                    unsafe { libc::sendmsg(s.0, &m, flags) }
                };
                let r = match to {
                    None => send(std::ptr::null(), 0),
                    Some(to) => to
                        .with_nix(|a| send(a.as_ptr(), a.len()))
                        .unwrap_or_else(|| {
                            Errno::EAFNOSUPPORT.set();
                            -1
                        }),
                };
                Errno::result(r).map(|n| n as i64)
            },
            |_| {
                let name = match to {
                    None => "msg_name=NULL, msg_namelen=0".to_string(),
                    Some(a) => format!("msg_name={}, msg_namelen={}", a.strace(), a.kernel_len()),
                };
                let bufs: Vec<(&[u8], usize)> = iov.iter().map(|b| (*b, b.len())).collect();
                let bytes: Vec<u8> = cbuf.iter().flat_map(|w| w.to_ne_bytes()).collect();
                let (shown, _) = read_control(bytes.get(..clen).unwrap_or(&[]));
                let msg = format!(
                    "{{{name}, {}, {}, msg_flags=0}}",
                    iov_text(&bufs),
                    control_text(&shown, clen)
                );
                let args = [Fd(s.0), Text(msg), named(Group::Msg, flags)];
                Rendered {
                    args: row_args(&calls::SENDMSG, &args),
                    note: String::new(),
                    addr: to.copied(),
                }
            },
        )?;
        Ok(n as usize)
    }

    /// recvmsg(2) into iovecs of `iov_lens` bytes and a control buffer of
    /// `controllen` bytes, with `flags`; with `want_name`, a
    /// sockaddr_storage for the sender's address (else NULL, 0). Received
    /// descriptors (SCM_RIGHTS) are open in this process.
    pub fn recvmsg_raw(
        &self,
        s: Socket,
        iov_lens: &[usize],
        controllen: usize,
        flags: i32,
        want_name: bool,
    ) -> Result<Received> {
        let mut bufs: Vec<Vec<u8>> = iov_lens.iter().map(|n| vec![0u8; *n]).collect();
        let mut iovecs: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        let mut cbuf = vec![0u64; controllen.div_ceil(8)];
        // SAFETY: a zeroed sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let cap = if want_name {
            size_of::<libc::sockaddr_storage>() as libc::socklen_t
        } else {
            0
        };
        // SAFETY: a zeroed msghdr is valid.
        let mut m: libc::msghdr = unsafe { zeroed() };
        if want_name {
            m.msg_name = (&mut ss as *mut libc::sockaddr_storage).cast();
        }
        m.msg_iov = iovecs.as_mut_ptr();
        m.msg_iovlen = iovecs.len();
        if controllen > 0 {
            m.msg_control = cbuf.as_mut_ptr().cast();
        }
        let m = std::cell::UnsafeCell::new(m);
        let mp = m.get();
        let n = self.call(
            Call {
                row: &calls::RECVMSG,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: mp points to the live msghdr above; the kernel
                // writes its lengths and flags, and the buffers it names.
                unsafe {
                    (*mp).msg_namelen = cap;
                    (*mp).msg_controllen = controllen;
                    (*mp).msg_flags = 0;
                    Errno::result(libc::recvmsg(s.0, mp, flags)).map(|n| n as i64)
                }
            },
            |ret| {
                // SAFETY: the call has returned; nothing writes to *mp now.
                let m = unsafe { &*mp };
                let msg = match ret {
                    Err(_) => format!("{{msg_namelen={cap}}}"),
                    Ok(n) => recvmsg_text(m, *n as usize, cap, &ss),
                };
                let args = [Fd(s.0), Text(msg), named(Group::Msg, flags)];
                plain(row_args(&calls::RECVMSG, &args))
            },
        )?;
        let m = m.into_inner();
        let (namelen, clen, msg_flags) = (m.msg_namelen, m.msg_controllen, m.msg_flags);
        drop(iovecs);
        let mut left = n as usize;
        let data = bufs
            .into_iter()
            .map(|mut b| {
                let take = left.min(b.len());
                left -= take;
                b.truncate(take);
                b
            })
            .collect();
        let bytes: Vec<u8> = cbuf.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let (_, control) = read_control(bytes.get(..clen.min(controllen)).unwrap_or(&[]));
        for c in &control {
            if let Cmsg::Rights(fds) = c {
                for fd in fds {
                    self.opened(Socket(*fd), None, None);
                }
            }
        }
        Ok(Received {
            ret: n as usize,
            data,
            name: (want_name && namelen > 0).then(|| Addr::from_raw(ss, namelen)),
            control,
            msg_flags,
        })
    }
}

/// A msghdr a recvmsg filled (returning `n`), as strace prints it.
fn recvmsg_text(
    m: &libc::msghdr,
    n: usize,
    cap: libc::socklen_t,
    ss: &libc::sockaddr_storage,
) -> String {
    let name = if m.msg_name.is_null() {
        "msg_name=NULL".to_string()
    } else if m.msg_namelen == 0 {
        format!("msg_name={:p}", m.msg_name)
    } else {
        format!("msg_name={}", strace::sockaddr(ss, m.msg_namelen))
    };
    let namelen = if m.msg_namelen == cap {
        cap.to_string()
    } else {
        format!("{cap} => {}", m.msg_namelen)
    };
    // SAFETY: msg_iov holds msg_iovlen iovecs of live buffers, of which
    // the kernel filled the first n bytes in order.
    let iovs = unsafe { std::slice::from_raw_parts(m.msg_iov, m.msg_iovlen) };
    let mut left = n;
    let bufs: Vec<(&[u8], usize)> = iovs
        .iter()
        .map(|v| {
            let take = left.min(v.iov_len);
            left -= take;
            // SAFETY: see above; `take` bytes of this buffer were written.
            let shown = unsafe { std::slice::from_raw_parts(v.iov_base.cast::<u8>(), take) };
            (shown, v.iov_len)
        })
        .collect();
    let control = if m.msg_control.is_null() || m.msg_controllen == 0 {
        Vec::new()
    } else {
        // SAFETY: the kernel wrote msg_controllen bytes of control messages.
        let c = unsafe { std::slice::from_raw_parts(m.msg_control.cast::<u8>(), m.msg_controllen) };
        read_control(c).0
    };
    format!(
        "{{{name}, msg_namelen={namelen}, {}, {}, msg_flags={}}}",
        iov_text(&bufs),
        control_text(&control, m.msg_controllen),
        xlat::flags_text(Group::Msg, i64::from(m.msg_flags as u32))
    )
}
