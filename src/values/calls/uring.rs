//! The call table's rows for io_uring (`--model uring`): the three
//! io_uring syscalls, the `mmap` of its rings, and the operations that go
//! through the rings (no syscall of their own: what strace cannot show,
//! named here for `--trace`'s indented `sqe`/`cqe` lines).

use nix::errno::Errno::*;

use super::Kind::*;
use super::Ret;
use super::Syscall;
use super::When::Any;
use super::i;
use super::io;
use super::sockets::hint;

const UNAVAILABLE: &str = "io_uring is not available here: disabled by sysctl kernel.io_uring_disabled (1: only the group kernel.io_uring_group, 2: nobody) or refused by a seccomp filter (a container's default profile); socklab does not fall back: use --model epoll";

/// Why a script line cannot make a ring call: what it does is in the
/// ring's memory, which strace does not print.
const RING_UNSCRIPTED: &str = "the SQEs it submits are in the ring's shared memory, not in the line (strace does not print them): run the ring itself with --model uring";

pub static IO_URING_SETUP: Syscall = Syscall {
    name: "io_uring_setup",
    args: &[i("entries", Int), io("p", Pointer)],
    errnos: &[(Any, &[EPERM, ENOSYS, ENOMEM, EMFILE])],
    hints: &[hint(&[EPERM, ENOSYS], Any, UNAVAILABLE)],
    nr: libc::SYS_io_uring_setup,
    unscripted: RING_UNSCRIPTED,
    entry: super::Entry::Before(", sq_entries="),
    ..Syscall::ROW
};

/// Submits the pending SQEs and waits for completions: the one blocking
/// call of the uring loop.
pub static IO_URING_ENTER: Syscall = Syscall {
    name: "io_uring_enter",
    args: &[
        i("fd", Fd),
        i("to_submit", Int),
        i("min_complete", Int),
        i("flags", Flags),
        i("sig", Pointer),
        i("sz", Len),
    ],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(Any, &[EBUSY, EINTR])],
    nr: libc::SYS_io_uring_enter,
    unscripted: RING_UNSCRIPTED,
    ..Syscall::ROW
};

pub static IO_URING_REGISTER: Syscall = Syscall {
    name: "io_uring_register",
    args: &[
        i("fd", Fd),
        i("opcode", Int),
        i("arg", Pointer),
        i("nr_args", Int),
    ],
    errnos: &[(Any, &[ENOMEM, EINVAL])],
    nr: libc::SYS_io_uring_register,
    unscripted: RING_UNSCRIPTED,
    ..Syscall::ROW
};

/// mmap(2) of io_uring's rings (and the provided-buffer ring's anonymous
/// memory). Not in the tests' trace sets (`programs: false`): the C
/// library and Rust's allocator mmap too, so a strace of every mmap is not
/// socklab's calls alone; the uring tests compare these lines themselves.
pub static MMAP: Syscall = Syscall {
    name: "mmap",
    args: &[
        i("addr", Pointer),
        i("length", Len),
        i("prot", Flags),
        i("flags", Flags),
        i("fd", Fd),
        i("offset", Int),
    ],
    ret: Ret::Addr,
    errnos: &[(Any, &[ENOMEM])],
    programs: false,
    nr: libc::SYS_mmap,
    unscripted: "socklab maps only io_uring's rings, which a script line cannot drive (their SQEs are not in the lines): run the ring itself with --model uring",
    ..Syscall::ROW
};

/// The operations socklab puts in the submission ring: opcode (the
/// kernel's `IORING_OP_*`, linux/io_uring.h) and name (without the
/// `IORING_OP_` prefix, as `--trace` prints them).
pub static RING_OPS: &[(u8, &str)] = &[
    (9, "SENDMSG"),
    (10, "RECVMSG"),
    (13, "ACCEPT"),
    (14, "ASYNC_CANCEL"),
    (26, "SEND"),
    (27, "RECV"),
];

/// An operation's name, or its number.
pub fn ring_op_name(opcode: u8) -> String {
    RING_OPS
        .iter()
        .find(|(op, _)| *op == opcode)
        .map_or_else(|| format!("OP_{opcode}"), |(_, name)| (*name).to_string())
}
