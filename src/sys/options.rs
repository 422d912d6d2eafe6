//! A script's option calls (see raw.rs): setsockopt and getsockopt of any
//! level, option and length, fcntl with any command, ioctl with an int
//! argument; each value rendered as strace 6.1 renders it (its net.c:
//! print_setsockopt, print_getsockopt; fcntl.c; ioctl's int requests).
#![allow(clippy::disallowed_methods)]

use super::raw::named;
use super::*;
use crate::strace::ArgVal::{Fd, InOut, Int, Ptr, Text, Unshown};
use crate::values::xlat::{self, Group};

/// The SOL_SOCKET options strace 6.1 prints as an int (its "int-like" list).
const INT_LIKE: &[i32] = &[
    1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 19, 27, 29, 30, 32, 33, 34, 35, 36, 37, 40,
    41, 42, 43, 44, 45, 46, 49, 53, 56, 60, 63, 64, 65, 68, 69, 70, 73, 75,
];

/// fcntl's F_SETSIG and F_GETSIG (not in the libc crate).
const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;

fn int_at(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

/// strace's QUOTE_FORCE_HEX: every byte as `\xNN`.
fn hex_quoted(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for byte in b {
        out.push_str(&format!("\\x{byte:02x}"));
    }
    out.push('"');
    out
}

/// `{a=1, b=2}` of the int fields that fit in `len` bytes.
fn fields(b: &[u8], names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .enumerate()
        .take_while(|(i, _)| b.len() >= (i + 1) * 4)
        .map(|(i, n)| format!("{n}={}", int_at(b, i * 4)))
        .collect();
    format!("{{{}}}", shown.join(", "))
}

/// setsockopt's value as strace prints it (None: as a pointer).
pub(super) fn set_value(level: i32, name: i32, v: &[u8]) -> Option<String> {
    let int = || format!("[{}]", int_at(v, 0));
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_LINGER) => (v.len() >= 8)
            .then(|| format!("{{l_onoff={}, l_linger={}}}", int_at(v, 0), int_at(v, 4))),
        (libc::SOL_SOCKET, libc::SO_ATTACH_FILTER | libc::SO_ATTACH_REUSEPORT_CBPF) => None,
        (libc::SOL_SOCKET, n) if INT_LIKE.contains(&n) => (v.len() >= 4).then(int),
        (libc::SOL_IP, libc::IP_ADD_MEMBERSHIP | libc::IP_DROP_MEMBERSHIP) => {
            (v.len() >= 8).then(|| {
                let ip = |at: usize| {
                    let b = v.get(at..at + 4).unwrap_or(&[0; 4]);
                    format!("inet_addr(\"{}.{}.{}.{}\")", b[0], b[1], b[2], b[3])
                };
                format!("{{imr_multiaddr={}, imr_interface={}}}", ip(0), ip(4))
            })
        }
        _ if v.len() == 4 => Some(int()),
        _ => Some(strace::quote(v, STRACE_MAX_STRLEN)),
    }
}

/// getsockopt's value as strace prints it, from the `rlen` bytes written.
pub(super) fn get_value(level: i32, name: i32, v: &[u8]) -> String {
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_LINGER) if v.len() >= 4 => fields(v, &["l_onoff", "l_linger"]),
        (libc::SOL_SOCKET, libc::SO_PEERCRED) if v.len() >= 4 => fields(v, &["pid", "uid", "gid"]),
        (libc::SOL_SOCKET, libc::SO_ERROR) if v.len() >= 4 => match int_at(v, 0) {
            0 => "[0]".to_string(),
            e => match Errno::from_raw(e) {
                Errno::UnknownErrno => format!("[{e}]"),
                errno => format!("[{errno:?}]"),
            },
        },
        (libc::SOL_SOCKET, libc::SO_LINGER | libc::SO_PEERCRED | libc::SO_ERROR) => hex_quoted(v),
        (libc::SOL_SOCKET, n) if INT_LIKE.contains(&n) => {
            if v.len() >= 4 {
                format!("[{}]", int_at(v, 0))
            } else {
                hex_quoted(v)
            }
        }
        _ if v.len() == 4 => format!("[{}]", int_at(v, 0)),
        _ => strace::quote(v, STRACE_MAX_STRLEN),
    }
}

impl Sys {
    /// setsockopt(2) with any level, option and value bytes.
    pub fn setsockopt_raw(&self, s: Socket, level: i32, name: i32, value: &[u8]) -> Result<()> {
        let ptr = if value.is_empty() {
            std::ptr::null()
        } else {
            value.as_ptr()
        };
        self.call(
            Call {
                row: &calls::SETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: ptr is null or the caller's live buffer of value.len() bytes.
                let r = unsafe {
                    libc::setsockopt(s.0, level, name, ptr.cast(), value.len() as libc::socklen_t)
                };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let shown = match set_value(level, name, value) {
                    _ if ptr.is_null() => crate::strace::ArgVal::Null,
                    Some(text) => Text(text),
                    None => Ptr(ptr.cast()),
                };
                let args = [
                    Fd(s.0),
                    named(Group::Sol, level),
                    Text(xlat::option_text(level, name)),
                    shown,
                    Int(value.len() as i64),
                ];
                plain(row_args(&calls::SETSOCKOPT, &args))
            },
        )?;
        Ok(())
    }

    /// getsockopt(2) with any level and option into `optlen` bytes: the
    /// bytes the kernel wrote (as many as the optlen it returned).
    pub fn getsockopt_raw(&self, s: Socket, level: i32, name: i32, optlen: u32) -> Result<Vec<u8>> {
        let buf = std::cell::RefCell::new(vec![0u8; optlen as usize]);
        let len = Cell::new(optlen as libc::socklen_t);
        self.call(
            Call {
                row: &calls::GETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(optlen);
                let mut b = buf.borrow_mut();
                // SAFETY: b is a live buffer of optlen bytes.
                let r = unsafe {
                    libc::getsockopt(s.0, level, name, b.as_mut_ptr().cast(), len.as_ptr())
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let b = buf.borrow();
                let rlen = len.get();
                let shown = match ret {
                    Ok(_) if optlen > 0 && rlen > 0 => {
                        Text(get_value(level, name, &b[..(rlen as usize).min(b.len())]))
                    }
                    _ => Ptr(b.as_ptr().cast()),
                };
                let args = [
                    Fd(s.0),
                    named(Group::Sol, level),
                    Text(xlat::option_text(level, name)),
                    shown,
                    InOut(optlen, Some(rlen)),
                ];
                plain(row_args(&calls::GETSOCKOPT, &args))
            },
        )?;
        let mut v = buf.into_inner();
        v.truncate((len.get() as usize).min(optlen as usize));
        Ok(v)
    }

    /// fcntl(2) with any command; `arg` None passes 0 (a command that
    /// takes none). F_GETFL and F_GETFD print their flags as strace does
    /// (`= 0x802 (flags O_RDWR|O_NONBLOCK)`).
    pub fn fcntl_raw(&self, fd: Socket, cmd: i32, arg: Option<i64>) -> Result<i64> {
        let a = arg.unwrap_or(0);
        self.call(
            Call {
                row: &calls::FCNTL,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: the commands here take an int or nothing; a
                // pointer command (F_GETLK...) gets `a` as an address the
                // kernel checks (EFAULT), as in C.
                let r = unsafe { libc::fcntl(fd.0, cmd, a as libc::c_long) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let shown = match cmd {
                    libc::F_GETFD
                    | libc::F_GETFL
                    | libc::F_GETOWN
                    | F_GETSIG
                    | libc::F_GETLEASE
                    | libc::F_GETPIPE_SZ
                    | libc::F_GET_SEALS => Unshown,
                    libc::F_SETFD => named(Group::FdFlags, a as i32),
                    libc::F_SETFL => named(Group::OFlags, a as i32),
                    F_SETSIG => named(Group::Sig, a as i32),
                    _ if xlat::name_of(Group::Fcntl, i64::from(cmd)).is_some() => Int(a),
                    _ if a == 0 => Int(0),
                    _ => Text(format!("{a:#x}")),
                };
                let note = match (cmd, ret) {
                    (libc::F_GETFL, Ok(v)) => {
                        format!("(flags {})", xlat::flags_text(Group::OFlags, *v))
                    }
                    (libc::F_GETFD, Ok(v)) if *v != 0 => {
                        format!("(flags {})", xlat::flags_text(Group::FdFlags, *v))
                    }
                    _ => String::new(),
                };
                Rendered {
                    args: row_args(&calls::FCNTL, &[Fd(fd.0), named(Group::Fcntl, cmd), shown]),
                    note,
                    addr: None,
                }
            },
        )
    }

    /// ioctl(2) with an int argument: FIONBIO, FIOASYNC read `value`
    /// (`[1]`); FIONREAD, TIOCOUTQ, SIOCATMARK, SIOCOUTQNSD write it
    /// (`[5]`). Returns the return value and the int after the call.
    pub fn ioctl_int(&self, fd: Socket, request: u64, value: i32) -> Result<(i64, i32)> {
        let v = Cell::new(value as libc::c_int);
        let ret = self.call(
            Call {
                row: &calls::IOCTL,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: v is a live int; these requests read or write one int.
                let r = unsafe { libc::ioctl(fd.0, request as libc::Ioctl, v.as_ptr()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let req = i64::try_from(request).unwrap_or(-1);
                let name = match xlat::name_of(Group::Ioctl, req) {
                    Some(n) => n.to_string(),
                    None => format!("{request:#x}"),
                };
                let shown = match (req, ret) {
                    (0x5450 | 0x5451, _) => Unshown,
                    (0x5421 | 0x5452, _) => Text(format!("[{value}]")),
                    (0x541B | 0x5411 | 0x8905 | 0x894B, Ok(_)) => Text(format!("[{}]", v.get())),
                    _ => Ptr(v.as_ptr().cast_const().cast()),
                };
                plain(row_args(&calls::IOCTL, &[Fd(fd.0), Text(name), shown]))
            },
        )?;
        Ok((ret, v.get()))
    }
}
