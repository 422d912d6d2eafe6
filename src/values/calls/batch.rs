//! The call table's rows for batched datagrams (`udp server --batch N`,
//! `bench udp --batch N`, sys/mmsg.rs): recvmmsg and sendmmsg, each
//! moving up to N datagrams in one call.

use nix::errno::Errno::*;

use super::Kind::*;
use super::Syscall;
use super::When::{Any, Dgram, Unix};
use super::sockets::hint;
use super::{i, io};

/// recvmmsg(2): up to `vlen` datagrams, each into its own msghdr; with
/// MSG_WAITFORONE it waits for the first only. socklab passes no timeout
/// (NULL): the man page's BUGS say it is checked only after a datagram.
pub static RECVMMSG: Syscall = Syscall {
    name: "recvmmsg",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        io("msgvec", Pointer),
        i("vlen", Int),
        i("flags", Flags),
        io("timeout", Pointer),
    ],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(Any, &[ENOMEM, EINTR])],
    hints: &[hint(
        &[EAGAIN],
        Any,
        "the call would block: no datagram waiting (MSG_DONTWAIT or a non-blocking socket); wait with poll and retry",
    )],
    nr: libc::SYS_recvmmsg,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};

/// sendmmsg(2): up to `vlen` datagrams, each from its own msghdr; returns
/// how many went out (fewer than vlen when one failed after the first:
/// the caller sends the rest again; the failing one then fails alone).
pub static SENDMMSG: Syscall = Syscall {
    name: "sendmmsg",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        io("msgvec", Pointer),
        i("vlen", Int),
        i("flags", Flags),
    ],
    blocks: true,
    own_port: true,
    errnos: &[(Dgram, &[EMSGSIZE, ENOBUFS, ECONNREFUSED, EINTR])],
    hints: &[
        hint(
            &[EAGAIN],
            Unix,
            "the receiver's queue is full: a UNIX datagram peer that does not read holds at most net.unix.max_dgram_qlen datagrams; this reply was not sent",
        ),
        hint(
            &[ENOTCONN],
            Unix,
            "the datagram came from an unbound UNIX socket (msg_namelen=0): there is no address to reply to; the client must bind one (socklab's client autobinds)",
        ),
    ],
    nr: libc::SYS_sendmmsg,
    restart: super::ERESTARTSYS,
    sigpipe: true,
    ..Syscall::ROW
};
