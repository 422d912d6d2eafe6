//! The call table's rows for sockets and descriptors (files.rs has
//! the rows of paths and directories).

use nix::errno::Errno::{self, *};

use super::Kind::*;
use super::When::{
    Any, Dgram, Inet, RecvFlag, SendFlag, Tcp, TcpReuseAddr, Udp, UdpNoBroadcast, UdpReuseAddr,
    Unix, UnixAbstract,
};
use super::{Hint, Syscall, When, i, io, o};

pub(super) const fn hint(errnos: &'static [Errno], when: When, text: &'static str) -> Hint {
    Hint { errnos, when, text }
}

// Making and naming a socket (sys/setup.rs).

pub static SOCKET: Syscall = Syscall {
    name: "socket",
    scriptable: true,
    args: &[
        i("domain", Domain),
        i("type", Type),
        i("protocol", Protocol),
    ],
    errnos: &[(Any, &[EMFILE, ENFILE, ENOBUFS, EACCES])],
    hints: &[
        hint(
            &[EPERM],
            super::When::Capture,
            "capturing needs root or CAP_NET_RAW (sudo, or setcap cap_net_raw+ep on the binary); run without --wire/--pcap otherwise",
        ),
        hint(
            &[EPERM],
            Any,
            "a raw or packet socket (SOCK_RAW, AF_PACKET) needs root or CAP_NET_RAW (sudo, or setcap cap_net_raw+ep on the binary)",
        ),
    ],
    nr: libc::SYS_socket,
    ..Syscall::ROW
};

pub static SOCKETPAIR: Syscall = Syscall {
    name: "socketpair",
    scriptable: true,
    args: &[
        i("domain", Domain),
        i("type", Type),
        i("protocol", Protocol),
        o("sv", FdPair),
    ],
    errnos: &[(Any, &[EMFILE, ENFILE, EOPNOTSUPP])],
    nr: libc::SYS_socketpair,
    ..Syscall::ROW
};

pub static SETSOCKOPT: Syscall = Syscall {
    name: "setsockopt",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        i("level", Level),
        i("optname", Option),
        i("optval", Buffer),
        i("optlen", Len),
    ],
    errnos: &[(Any, &[ENOPROTOOPT, EINVAL, ENOMEM])],
    hints: &[
        hint(
            &[EINVAL],
            super::When::Option(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
            "IPV6_V6ONLY can be set only before the socket is bound (by bind, or by connect, listen or sendto binding it): set it right after socket, --sockopt IPV6_V6ONLY=1 without @PHASE",
        ),
        hint(
            &[ENOPROTOOPT, EOPNOTSUPP],
            Any,
            "this socket's protocol has no such option at this level (an IPv6 option on an IPv4 socket, a TCP option on a UDP or UNIX socket); `socklab sockopt list` shows the options of each kind of socket",
        ),
    ],
    nr: libc::SYS_setsockopt,
    ..Syscall::ROW
};

pub static GETSOCKOPT: Syscall = Syscall {
    name: "getsockopt",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        i("level", Level),
        i("optname", Option),
        o("optval", Buffer),
        io("optlen", Len),
    ],
    errnos: &[(Any, &[ENOPROTOOPT, EINVAL])],
    nr: libc::SYS_getsockopt,
    ..Syscall::ROW
};

pub static BIND: Syscall = Syscall {
    name: "bind",
    scriptable: true,
    args: &[i("sockfd", Fd), i("addr", Sockaddr), i("addrlen", Len)],
    own_port: true,
    errnos: &[
        (Unix, &[EADDRINUSE, EACCES, ENOENT, EROFS]),
        (Inet, &[EADDRINUSE, EACCES, EADDRNOTAVAIL]),
    ],
    hints: &[
        hint(
            &[ENOENT],
            Unix,
            "a directory on the socket's path does not exist (bind creates the socket file, not its directories)",
        ),
        hint(
            &[EADDRINUSE],
            UnixAbstract,
            "a live socket holds this abstract name (an abstract name has no file: it goes when its last socket closes, there is nothing to remove); ss -xap shows it and its process: stop that program, or choose another @NAME",
        ),
        hint(
            &[EADDRINUSE],
            Unix,
            "a file exists at this path, and bind never replaces one: a server still listening there (ss -xlp lists it), or a socket file left behind by one that ended (remove it; a server's --unlink-stale does that)",
        ),
        // Linux lets a bind past another socket on the port only when
        // both set SO_REUSEADDR and that one does not listen (measured:
        // a TIME_WAIT connection of a server run without --reuseaddr
        // keeps a --reuseaddr server's bind at EADDRINUSE).
        hint(
            &[EADDRINUSE],
            TcpReuseAddr,
            "another socket holds port {port}, one SO_REUSEADDR does not let bind past: a listener (ss -ltnp 'sport = :{port}' shows it and its process), or a connection, in TIME_WAIT too, whose socket did not set SO_REUSEADDR (bind passes a connection only when both sockets set it: an earlier server run without --reuseaddr left it; ss -tan 'sport = :{port}'), or a socket bound there that does not listen (ss does not list it); wait for TIME_WAIT to end (60 s), or use port 0",
        ),
        hint(
            &[EADDRINUSE],
            UdpReuseAddr,
            "another UDP socket holds port {port} without SO_REUSEADDR: {reuseaddr} lets UDP sockets share a port only when every one of them set it (UDP has no TIME_WAIT); see it and its process: ss -uanp 'sport = :{port}'",
        ),
        hint(
            &[EADDRINUSE],
            Udp,
            "another UDP socket is bound to port {port}, and it is live (UDP has no TIME_WAIT); see it and its process: ss -uanp 'sport = :{port}'",
        ),
        hint(
            &[EADDRINUSE],
            Tcp,
            "another socket holds port {port}: a listener (ss -ltnp 'sport = :{port}' shows it and its process), or a connection of an earlier program, maybe in TIME_WAIT (ss -tan 'sport = :{port}'); {reuseaddr} binds past a connection only if its socket set SO_REUSEADDR too (an earlier server run with --reuseaddr), else wait for TIME_WAIT to end (60 s), or use port 0",
        ),
        hint(
            &[EADDRINUSE],
            Any,
            "another socket holds port {port}: a listener (ss -ltnp 'sport = :{port}'), or a TCP connection, maybe in TIME_WAIT (ss -tan 'sport = :{port}'), or a UDP socket (ss -uanp 'sport = :{port}'); SO_REUSEADDR on both sockets lets bind past a connection, not a listener; or use port 0",
        ),
        hint(
            &[EACCES],
            Inet,
            "ports below 1024 need root or CAP_NET_BIND_SERVICE (see sysctl net.ipv4.ip_unprivileged_port_start); use a port >= 1024",
        ),
    ],
    nr: libc::SYS_bind,
    ..Syscall::ROW
};

pub static LISTEN: Syscall = Syscall {
    name: "listen",
    scriptable: true,
    args: &[i("sockfd", Fd), i("backlog", Int)],
    errnos: &[(Any, &[EADDRINUSE, EOPNOTSUPP])],
    nr: libc::SYS_listen,
    ..Syscall::ROW
};

pub static SHUTDOWN: Syscall = Syscall {
    name: "shutdown",
    scriptable: true,
    args: &[i("sockfd", Fd), i("how", Int)],
    errnos: &[(Any, &[ENOTCONN])],
    nr: libc::SYS_shutdown,
    ..Syscall::ROW
};

// Exchanging data (sys/exchange.rs).

pub static ACCEPT4: Syscall = Syscall {
    name: "accept4",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        o("addr", Sockaddr),
        io("addrlen", Len),
        i("flags", Flags),
    ],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(
        Any,
        &[EMFILE, ENFILE, ENOBUFS, ECONNABORTED, EPROTO, EPERM, EINTR],
    )],
    nr: libc::SYS_accept4,
    restart: super::ERESTARTSYS,
    entry: super::Entry::WholeIfNull(&[1, 2]),
    ..Syscall::ROW
};

pub static CONNECT: Syscall = Syscall {
    name: "connect",
    scriptable: true,
    args: &[i("sockfd", Fd), i("addr", Sockaddr), i("addrlen", Len)],
    blocks: true,
    own_port: true,
    errnos: &[
        (Unix, &[ENOENT, ECONNREFUSED, EAGAIN, EACCES, EINTR]),
        (
            Inet,
            &[ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EADDRNOTAVAIL, EINTR],
        ),
    ],
    hints: &[
        hint(
            &[EAGAIN],
            Unix,
            "the UNIX server's listen backlog is full (a non-blocking connect fails instead of waiting); retry later, or raise the server's --backlog",
        ),
        hint(
            &[ECONNREFUSED],
            Unix,
            "no server is listening on it: a stale socket file left by a server that died, or an abstract name nobody holds",
        ),
        hint(
            &[EACCES],
            UdpNoBroadcast,
            "connecting a UDP socket to a broadcast address needs SO_BROADCAST on the socket first: add --sockopt SO_BROADCAST=1",
        ),
        hint(
            &[EADDRNOTAVAIL],
            Inet,
            "no local port is left for this destination: one source address has one ephemeral port range (net.ipv4.ip_local_port_range) per server; `socklab bench --source` spreads connections over several addresses",
        ),
    ],
    nr: libc::SYS_connect,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};

pub static SENDTO: Syscall = Syscall {
    name: "sendto",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        i("buf", Buffer),
        i("len", Len),
        i("flags", Flags),
        i("dest_addr", Sockaddr),
        i("addrlen", Len),
    ],
    blocks: true,
    own_port: true,
    errnos: &[
        (Dgram, &[EMSGSIZE, ENOBUFS, ECONNREFUSED, EINTR]),
        (Any, &[EPIPE, ECONNRESET, ENOBUFS, EINTR]),
    ],
    hints: &[
        hint(
            &[EAGAIN],
            Unix,
            "the receiver's queue is full: a UNIX datagram peer that does not read holds at most net.unix.max_dgram_qlen datagrams; this one was not sent",
        ),
        hint(
            &[EACCES],
            UdpNoBroadcast,
            "a datagram to a broadcast address needs SO_BROADCAST on the socket: add --sockopt SO_BROADCAST=1",
        ),
        hint(
            &[EOPNOTSUPP],
            SendFlag(libc::MSG_OOB),
            "MSG_OOB (--send-flags) needs a stream socket with urgent data (TCP, or a UNIX stream socket): a datagram socket has no out-of-band byte",
        ),
    ],
    nr: libc::SYS_sendto,
    restart: super::ERESTARTSYS,
    sigpipe: true,
    ..Syscall::ROW
};

pub static RECVFROM: Syscall = Syscall {
    name: "recvfrom",
    scriptable: true,
    args: &[
        i("sockfd", Fd),
        o("buf", Buffer),
        i("len", Len),
        i("flags", Flags),
        o("src_addr", Sockaddr),
        io("addrlen", Len),
    ],
    blocks: true,
    waits_for_peer: true,
    errnos: &[
        (Dgram, &[ECONNREFUSED, ENOMEM, EINTR]),
        (Any, &[ECONNRESET, ETIMEDOUT, ENOMEM, EINTR]),
    ],
    hints: &[
        hint(
            &[EAGAIN],
            RecvFlag(libc::MSG_DONTWAIT),
            "the call would block: nothing to read yet (MSG_DONTWAIT, --recv-flags); wait with poll and retry, or drop MSG_DONTWAIT",
        ),
        // Without the user's MSG_DONTWAIT (--rcvtimeo, a non-blocking
        // socket, a script's own flags): not "drop" a flag nobody passed.
        hint(
            &[EAGAIN],
            Any,
            "the call would block: nothing to read yet (SO_RCVTIMEO ran out (--rcvtimeo), or a non-blocking socket, or MSG_DONTWAIT in the call's flags); wait with poll and retry",
        ),
        hint(
            &[EINVAL],
            RecvFlag(libc::MSG_OOB),
            "MSG_OOB (--recv-flags) reads the peer's urgent byte, and none is waiting: the peer sent nothing with MSG_OOB (a server's echo does not), or the byte was read already, or SO_OOBINLINE keeps it in the stream",
        ),
        hint(
            &[EOPNOTSUPP],
            RecvFlag(libc::MSG_OOB),
            "MSG_OOB (--recv-flags) reads a stream's urgent byte (TCP, a UNIX stream socket): a datagram socket has none",
        ),
    ],
    nr: libc::SYS_recvfrom,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};

pub static GETSOCKNAME: Syscall = Syscall {
    name: "getsockname",
    scriptable: true,
    args: &[i("sockfd", Fd), o("addr", Sockaddr), io("addrlen", Len)],
    own_port: true,
    errnos: &[(Any, &[ENOBUFS, EINVAL])],
    nr: libc::SYS_getsockname,
    entry: super::Entry::WholeIfNull(&[1, 2]),
    ..Syscall::ROW
};

pub static GETPEERNAME: Syscall = Syscall {
    name: "getpeername",
    scriptable: true,
    args: &[i("sockfd", Fd), o("addr", Sockaddr), io("addrlen", Len)],
    errnos: &[(Any, &[ENOTCONN, ENOBUFS])],
    nr: libc::SYS_getpeername,
    entry: super::Entry::WholeIfNull(&[1, 2]),
    ..Syscall::ROW
};

pub static CLOSE: Syscall = Syscall {
    name: "close",
    scriptable: true,
    args: &[i("fd", Fd)],
    errnos: &[(Any, &[EIO, EINTR])],
    nr: libc::SYS_close,
    ..Syscall::ROW
};

// Descriptors and files (sys/fd.rs, sys/files.rs, sys/security.rs).

pub static POLL: Syscall = Syscall {
    name: "poll",
    scriptable: true,
    // An input: revents print after the return value, as strace does.
    args: &[i("fds", Pointer), i("nfds", Int), i("timeout", Int)],
    blocks: true,
    waits_for_peer: true,
    errnos: &[(Any, &[ENOMEM, EINTR])],
    nr: libc::SYS_poll,
    restart: super::ERESTART_RESTARTBLOCK,
    ..Syscall::ROW
};

pub static IOCTL: Syscall = Syscall {
    name: "ioctl",
    scriptable: true,
    args: &[i("fd", Fd), i("request", Int), io("argp", Pointer)],
    errnos: &[(Any, &[ENOTTY, EINVAL])],
    nr: libc::SYS_ioctl,
    entry: super::Entry::Ioctl,
    ..Syscall::ROW
};

pub static EPOLL_CREATE1: Syscall = Syscall {
    name: "epoll_create1",
    scriptable: true,
    args: &[i("flags", Flags)],
    errnos: &[(Any, &[EMFILE, ENFILE, ENOMEM])],
    nr: libc::SYS_epoll_create1,
    ..Syscall::ROW
};

pub static EPOLL_CTL: Syscall = Syscall {
    name: "epoll_ctl",
    scriptable: true,
    args: &[
        i("epfd", Fd),
        i("op", Int),
        i("fd", Fd),
        i("event", Pointer),
    ],
    errnos: &[(Any, &[ENOMEM, ENOSPC])],
    nr: libc::SYS_epoll_ctl,
    ..Syscall::ROW
};

pub static EPOLL_WAIT: Syscall = Syscall {
    name: "epoll_wait",
    scriptable: true,
    args: &[
        i("epfd", Fd),
        o("events", Pointer),
        i("maxevents", Int),
        i("timeout", Int),
    ],
    blocks: true,
    waits_for_peer: true,
    // On a valid epoll fd and buffer it fails only by EINTR.
    errnos: &[(Any, &[EINTR])],
    nr: libc::SYS_epoll_wait,
    ..Syscall::ROW
};

// The `--wire` capture (sys/packet.rs).

/// recvmsg(2): the capture's (sys/packet.rs) and a script's (sys/msg.rs);
/// not `blocks`: the capture drains its last frames after a stop signal.
pub static RECVMSG: Syscall = Syscall {
    name: "recvmsg",
    scriptable: true,
    args: &[i("sockfd", Fd), io("msg", Pointer), i("flags", Flags)],
    waits_for_peer: true,
    nr: libc::SYS_recvmsg,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};
