//! Constants by name, both ways, as strace prints them: the tables
//! (`tables.rs`) are strace's own xlat lists (`src/xlat/*.in` in strace's
//! tree), so a flag set renders in strace's order with strace's names, and
//! a value strace does not know renders as strace renders it
//! (`0x30 /* AF_??? */`, `SOCK_STREAM|0x40000000 /* SOCK_??? */`,
//! `MSG_PEEK|0x1000000`).
//!
//! A script (src/script) resolves the names it reads here; `sys`'s
//! generic wrappers (src/sys/raw.rs and beside it) render their raw
//! integer arguments here.

use std::fmt::Write as _;

use nix::errno::Errno;
use nix::sys::signal::Signal;

mod files;
mod options;
mod sigset;
mod tables;
use files::*;
use options::*;
pub use sigset::{signal_set, signal_short_name};
use tables::*;

/// A group of constants: one argument's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Address families (`AF_INET`).
    Af,
    /// Socket types and their flags (`SOCK_STREAM|SOCK_CLOEXEC`).
    Sock,
    /// IP protocols (`IPPROTO_TCP`).
    Ipproto,
    /// Socket option levels (`SOL_SOCKET`).
    Sol,
    /// send/recv flags (`MSG_PEEK|MSG_DONTWAIT`).
    Msg,
    /// shutdown's `how` (`SHUT_WR`).
    Shut,
    /// File status flags (`O_RDWR|O_NONBLOCK`).
    OFlags,
    /// fcntl commands (`F_GETFL`).
    Fcntl,
    /// ioctl requests (`FIONREAD`).
    Ioctl,
    /// poll events (`POLLIN|POLLOUT`).
    Poll,
    /// epoll events (`EPOLLIN|EPOLLET`).
    Epoll,
    /// epoll_ctl operations (`EPOLL_CTL_ADD`).
    EpollCtl,
    /// Signals (`SIGTERM`).
    Sig,
    /// Control message types at SOL_SOCKET (`SCM_RIGHTS`).
    Scm,
    /// File descriptor flags (`FD_CLOEXEC`).
    FdFlags,
    /// epoll_create1's flags (`EPOLL_CLOEXEC`).
    EpollFlags,
    /// accept4's flags: a socket type's flags alone (`SOCK_CLOEXEC`).
    SockFlags,
    /// Control message types at SOL_IP (`IP_TOS`, `IP_PKTINFO`).
    IpCmsg,
    /// sigaction's sa_flags (`SA_RESTORER|SA_RESTART`).
    SaFlags,
    /// wait4's options (`WNOHANG|__WALL`).
    Wait,
}

/// Every group, for a lookup by name alone ([`any_value`]).
pub const GROUPS: &[Group] = &[
    Group::Af,
    Group::Sock,
    Group::Ipproto,
    Group::Sol,
    Group::Msg,
    Group::Shut,
    Group::OFlags,
    Group::Fcntl,
    Group::Ioctl,
    Group::Poll,
    Group::Epoll,
    Group::EpollCtl,
    Group::Sig,
    Group::Scm,
    Group::FdFlags,
    Group::EpollFlags,
    Group::SockFlags,
    Group::IpCmsg,
    Group::SaFlags,
    Group::Wait,
];

/// How a group prints: one value, or a set of flags.
enum Style {
    /// One name; unknown: `0x30 /* AF_??? */`.
    Value(&'static str),
    /// Flags joined by `|`, unknown bits as `0x...`, nothing set: `0`.
    Flags(&'static str),
}

/// The lists of a group (the first is the one names print from) and its style.
fn lists(group: Group) -> (&'static [&'static [(i64, &'static str)]], Style) {
    use Group::*;
    match group {
        Af => (&[AF], Style::Value("AF_???")),
        Sock => (&[SOCK_TYPES, SOCK_FLAGS], Style::Value("SOCK_???")),
        Ipproto => (&[IPPROTO], Style::Value("IPPROTO_???")),
        // Sic: strace 6 prints an unknown level `0x3e7 /* SOL_?? */`.
        Sol => (&[SOL], Style::Value("SOL_??")),
        Msg => (&[MSG], Style::Flags("MSG_???")),
        Shut => (&[SHUT], Style::Value("SHUT_???")),
        OFlags => (&[O_ACCESS, O_FLAGS], Style::Flags("O_???")),
        Fcntl => (&[FCNTL], Style::Value("F_???")),
        Ioctl => (&[IOCTL], Style::Value("_IOC_???")),
        Poll => (&[POLL], Style::Flags("POLL???")),
        Epoll => (&[EPOLL], Style::Flags("EPOLL???")),
        EpollCtl => (&[EPOLL_CTL], Style::Value("EPOLL_CTL_???")),
        Sig => (&[], Style::Value("SIG_???")),
        Scm => (&[SCM], Style::Value("SCM_???")),
        FdFlags => (&[FD_FLAGS], Style::Flags("FD_???")),
        EpollFlags => (&[EPOLL_FLAGS], Style::Flags("EPOLL_???")),
        SockFlags => (&[SOCK_FLAGS], Style::Flags("SOCK_???")),
        IpCmsg => (&[IP_CMSG], Style::Value("IP_???")),
        SaFlags => (&[SA_FLAGS], Style::Flags("SA_???")),
        Wait => (&[WAIT4_OPTIONS], Style::Flags("W???")),
    }
}

/// The value of `name` in `group` (`"AF_INET"` -> 2), aliases included
/// (`SIOCINQ`, `AF_LOCAL`).
pub fn value(group: Group, name: &str) -> Option<i64> {
    if group == Group::Sig {
        return name.parse::<Signal>().ok().map(|s| s as i64);
    }
    let (lists, _) = lists(group);
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|(_, n)| *n == name)
        .map(|(v, _)| *v)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(g, n, _)| *g == group && *n == name)
                .map(|(_, _, v)| *v)
        })
}

/// The group and value of `name`, looked up in every group (a script's
/// constant where the argument's group is not known).
pub fn any_value(name: &str) -> Option<(Group, i64)> {
    GROUPS.iter().find_map(|g| value(*g, name).map(|v| (*g, v)))
}

/// The name strace prints for `value` in `group`, if it has one (one
/// value, not a set of flags: `name_of(Msg, 0x2)` is `MSG_PEEK`).
pub fn name_of(group: Group, value: i64) -> Option<&'static str> {
    if group == Group::Sig {
        return i32::try_from(value)
            .ok()
            .and_then(|v| Signal::try_from(v).ok())
            .map(Signal::as_str);
    }
    let (lists, _) = lists(group);
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|(v, _)| *v == value)
        .map(|(_, n)| *n)
}

/// A signal's name (`SIGTERM`), or its number when it has none: the one
/// place a signal number becomes a name (the trace's `--- SIG... ---`,
/// a lab's or a script's "killed by SIGPIPE").
pub fn signal_name(n: i32) -> String {
    name_of(Group::Sig, i64::from(n)).map_or_else(|| n.to_string(), str::to_string)
}

/// `value` as strace prints it for this group (a C int's bits: pass a
/// negative int as its unsigned value, `0xffffffff`): `AF_INET`,
/// `SOCK_STREAM|SOCK_CLOEXEC`, `MSG_PEEK|MSG_DONTWAIT`, `O_RDWR|O_NONBLOCK`,
/// `0` (no flag), `0x30 /* AF_??? */` (unknown), `MSG_PEEK|0x1000000`.
pub fn flags_text(group: Group, value: i64) -> String {
    match group {
        Group::Sock => sock_text(value),
        Group::OFlags => {
            let mode = value & 3;
            let mut out = name_of(Group::OFlags, mode)
                .unwrap_or("O_ACCMODE")
                .to_string();
            let rest = flag_set(O_FLAGS, value & !3, "");
            if rest != "0" {
                out.push('|');
                out.push_str(&rest);
            }
            out
        }
        Group::Sig => match name_of(Group::Sig, value) {
            Some(n) => n.to_string(),
            // strace: realtime signals as SIGRT_N, others as a number.
            None if (32..=64).contains(&value) => format!("SIGRT_{}", value - 32),
            None => value.to_string(),
        },
        _ => match lists(group) {
            (_, Style::Value(unknown)) => match name_of(group, value) {
                Some(n) => n.to_string(),
                None => unknown_value(value, unknown),
            },
            (lists, Style::Flags(unknown)) => {
                flag_set(lists.first().copied().unwrap_or(&[]), value, unknown)
            }
        },
    }
}

/// A value strace has no name for: `0x30 /* AF_??? */`.
fn unknown_value(value: i64, unknown: &str) -> String {
    format!("{value:#x} /* {unknown} */")
}

/// Flags in the list's order, unknown bits after them as `0x...`; no
/// flag set: `0`; nothing known: `0x... /* MSG_??? */` (strace's comment).
fn flag_set(list: &[(i64, &str)], value: i64, unknown: &str) -> String {
    let mut out = String::new();
    let mut left = value;
    for (bits, name) in list {
        if *bits != 0 && value & bits == *bits && left & bits != 0 {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
            left &= !bits;
        }
    }
    match (out.is_empty(), left) {
        (true, 0) => "0".to_string(),
        (false, 0) => out,
        (false, left) => {
            let _ = write!(out, "|{left:#x}");
            out
        }
        (true, left) if unknown.is_empty() => format!("{left:#x}"),
        (true, left) => format!("{left:#x} /* {unknown} */"),
    }
}

/// A socket type: the type in the low four bits, then its flags.
fn sock_text(value: i64) -> String {
    let ty = value & 0xf;
    let mut out = match name_of(Group::Sock, ty) {
        Some(n) if SOCK_TYPES.iter().any(|(v, _)| *v == ty) => n.to_string(),
        _ => unknown_value(ty, "SOCK_???"),
    };
    let mut left = value & !0xf;
    for (bit, name) in SOCK_FLAGS {
        if left & bit != 0 {
            out.push('|');
            out.push_str(name);
            left &= !bit;
        }
    }
    if left != 0 {
        let _ = write!(out, "|{left:#x} /* SOCK_??? */");
    }
    out
}

/// The value of socket option `name` at `level` (`SOL_SOCKET`, "SO_RCVBUF"):
/// strace's names and glibc's (`SO_RCVTIMEO` is strace's `SO_RCVTIMEO_OLD`).
pub fn option(level: i32, name: &str) -> Option<i32> {
    let list = options(level)?;
    list.iter()
        .find(|(_, n)| *n == name)
        .map(|(v, _)| *v)
        .or_else(|| {
            (level == libc::SOL_SOCKET)
                .then(|| SO_ALIASES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
                .flatten()
        })
        .and_then(|v| i32::try_from(v).ok())
}

/// The name strace prints for option `optname` at `level`.
pub fn option_name(level: i32, optname: i32) -> Option<&'static str> {
    options(level)?
        .iter()
        .find(|(v, _)| *v == i64::from(optname))
        .map(|(_, n)| *n)
}

/// Option `optname` at `level` as strace prints it: its name, `0x3e7 /*
/// SO_??? */` at a level with a list, the number at another level.
pub fn option_text(level: i32, optname: i32) -> String {
    let unknown = match level {
        libc::SOL_SOCKET => "SO_???",
        libc::SOL_TCP => "TCP_???",
        libc::SOL_IP => "IP_???",
        libc::SOL_IPV6 => "IPV6_???",
        libc::SOL_UDP => "UDP_???",
        _ => return optname.to_string(),
    };
    match option_name(level, optname) {
        Some(n) => n.to_string(),
        None => unknown_value(i64::from(optname as u32), unknown),
    }
}

/// The options of a level, as strace lists them.
fn options(level: i32) -> Option<&'static [(i64, &'static str)]> {
    match level {
        libc::SOL_SOCKET => Some(SO),
        libc::SOL_TCP => Some(TCP),
        libc::SOL_IP => Some(IP),
        libc::SOL_IPV6 => Some(IPV6),
        libc::SOL_UDP => Some(UDP),
        _ => None,
    }
}

/// The errno named `name` (`"EISCONN"`; `EWOULDBLOCK` is EAGAIN).
pub fn errno(name: &str) -> Option<Errno> {
    let name = match name {
        "EWOULDBLOCK" => "EAGAIN",
        "EDEADLOCK" => "EDEADLK",
        "ENOTSUP" => "EOPNOTSUPP",
        n => n,
    };
    (1..200)
        .map(Errno::from_raw)
        .filter(|e| *e != Errno::UnknownErrno)
        .find(|e| format!("{e:?}") == name)
}

#[cfg(test)]
mod tests;
