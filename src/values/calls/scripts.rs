//! The call table's rows for a script's calls (src/script) that
//! socklab's own programs do not make (`programs: false`).

use nix::errno::Errno::*;

use super::Kind::*;
use super::Syscall;
use super::When::{Any, Dgram};
use super::{i, io, o};

/// accept(2) (a script's `accept`; socklab's programs use accept4).
pub static ACCEPT: Syscall = Syscall {
    name: "accept",
    scriptable: true,
    args: &[i("sockfd", Fd), o("addr", Sockaddr), io("addrlen", Len)],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(
        Any,
        &[EMFILE, ENFILE, ENOBUFS, ECONNABORTED, EPROTO, EPERM, EINTR],
    )],
    programs: false,
    nr: libc::SYS_accept,
    restart: super::ERESTARTSYS,
    entry: super::Entry::WholeIfNull(&[1, 2]),
    ..Syscall::ROW
};

/// sendmsg(2): data from an iovec, an optional address, control messages.
pub static SENDMSG: Syscall = Syscall {
    name: "sendmsg",
    scriptable: true,
    args: &[i("sockfd", Fd), i("msg", Pointer), i("flags", Flags)],
    blocks: true,
    errnos: &[
        (Dgram, &[EMSGSIZE, ENOBUFS, ECONNREFUSED, EINTR]),
        (Any, &[EPIPE, ECONNRESET, ENOBUFS, EINTR]),
    ],
    programs: false,
    nr: libc::SYS_sendmsg,
    restart: super::ERESTARTSYS,
    sigpipe: true,
    ..Syscall::ROW
};

/// read(2) (a script's): strace also shows the runtime's reads.
pub static READ: Syscall = Syscall {
    name: "read",
    scriptable: true,
    args: &[i("fd", Fd), o("buf", Buffer), i("count", Len)],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(Any, &[ECONNRESET, EIO, EINTR])],
    programs: false,
    nr: libc::SYS_read,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};

/// write(2) (a script's): strace also shows the runtime's writes.
pub static WRITE: Syscall = Syscall {
    name: "write",
    scriptable: true,
    args: &[i("fd", Fd), i("buf", Buffer), i("count", Len)],
    blocks: true,
    errnos: &[(Any, &[EPIPE, ECONNRESET, ENOSPC, EINTR])],
    programs: false,
    nr: libc::SYS_write,
    restart: super::ERESTARTSYS,
    sigpipe: true,
    ..Syscall::ROW
};

/// dup(2).
pub static DUP: Syscall = Syscall {
    name: "dup",
    scriptable: true,
    args: &[i("oldfd", Fd)],
    errnos: &[(Any, &[EMFILE])],
    programs: false,
    nr: libc::SYS_dup,
    ..Syscall::ROW
};

/// dup2(2).
pub static DUP2: Syscall = Syscall {
    name: "dup2",
    scriptable: true,
    args: &[i("oldfd", Fd), i("newfd", Fd)],
    errnos: &[(Any, &[EMFILE, EBUSY, EINTR])],
    programs: false,
    nr: libc::SYS_dup2,
    ..Syscall::ROW
};
