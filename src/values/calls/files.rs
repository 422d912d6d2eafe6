//! The call table's rows for files: a UNIX socket's path and the
//! directory a lab or script makes for it.

use nix::errno::Errno::*;

use super::Kind::*;
use super::When::Any;
use super::sockets::hint;
use super::{Ret, Syscall, i, o};

pub static UNLINK: Syscall = Syscall {
    name: "unlink",
    scriptable: true,
    args: &[i("pathname", Path)],
    errnos: &[(Any, &[EACCES, EPERM, EBUSY, EROFS])],
    nr: libc::SYS_unlink,
    ..Syscall::ROW
};

pub static NEWFSTATAT: Syscall = Syscall {
    name: "newfstatat",
    scriptable: true,
    args: &[
        i("dirfd", Fd),
        i("pathname", Path),
        o("statbuf", Pointer),
        i("flags", Flags),
    ],
    errnos: &[(Any, &[EACCES, ELOOP, ENOTDIR, ENOMEM])],
    nr: libc::SYS_newfstatat,
    ..Syscall::ROW
};

pub static UMASK: Syscall = Syscall {
    name: "umask",
    scriptable: true,
    args: &[i("mask", Mode)],
    ret: Ret::Mode,
    nr: libc::SYS_umask,
    ..Syscall::ROW
};

pub static GETRANDOM: Syscall = Syscall {
    name: "getrandom",
    scriptable: true,
    args: &[o("buf", Buffer), i("buflen", Len), i("flags", Flags)],
    nr: libc::SYS_getrandom,
    ..Syscall::ROW
};

pub static MKDIRAT: Syscall = Syscall {
    name: "mkdirat",
    scriptable: true,
    args: &[i("dirfd", Fd), i("pathname", Path), i("mode", Mode)],
    nr: libc::SYS_mkdirat,
    ..Syscall::ROW
};

pub static OPENAT: Syscall = Syscall {
    name: "openat",
    scriptable: true,
    args: &[
        i("dirfd", Fd),
        i("pathname", Path),
        i("flags", Flags),
        i("mode", Mode),
    ],
    // A UNIX server's socket file directory (O_PATH|O_DIRECTORY).
    errnos: &[(Any, &[EACCES, ENOENT, EMFILE, ENOMEM])],
    hints: &[
        hint(
            &[ENOENT],
            Any,
            "the socket file's directory does not exist: create it first, or choose another path",
        ),
        hint(
            &[ENOTDIR, ELOOP],
            Any,
            "a component of the socket file's directory is not a directory (or is a symbolic link: use the real path, or --follow-symlinks)",
        ),
    ],
    nr: libc::SYS_openat,
    ..Syscall::ROW
};

pub static UNLINKAT: Syscall = Syscall {
    name: "unlinkat",
    scriptable: true,
    args: &[i("dirfd", Fd), i("pathname", Path), i("flags", Flags)],
    errnos: &[(Any, &[EACCES, EPERM, EBUSY, EROFS])],
    nr: libc::SYS_unlinkat,
    ..Syscall::ROW
};

pub static FCHMODAT: Syscall = Syscall {
    name: "fchmodat",
    scriptable: true,
    args: &[i("dirfd", Fd), i("pathname", Path), i("mode", Mode)],
    nr: libc::SYS_fchmodat,
    ..Syscall::ROW
};

pub static FCHMOD: Syscall = Syscall {
    name: "fchmod",
    scriptable: true,
    args: &[i("fd", Fd), i("mode", Mode)],
    nr: libc::SYS_fchmod,
    ..Syscall::ROW
};
