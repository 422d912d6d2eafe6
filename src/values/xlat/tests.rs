use super::*;

#[test]
fn names_and_values_round_trip() {
    for group in GROUPS {
        let (lists, _) = lists(*group);
        for (v, n) in lists.iter().flat_map(|l| l.iter()) {
            assert_eq!(value(*group, n), Some(*v), "{n}");
            if *group != Group::OFlags || *v < 4 || !n.starts_with("__") {
                let back = name_of(*group, *v).unwrap();
                assert_eq!(value(*group, back), Some(*v), "{n}");
            }
        }
    }
    assert_eq!(value(Group::Af, "AF_INET"), Some(2));
    assert_eq!(value(Group::Af, "AF_LOCAL"), Some(1));
    assert_eq!(name_of(Group::Af, 1), Some("AF_UNIX"));
    assert_eq!(value(Group::Ioctl, "SIOCINQ"), Some(0x541B));
    assert_eq!(name_of(Group::Ioctl, 0x541B), Some("FIONREAD"));
    assert_eq!(value(Group::Ioctl, "AF_LOCAL"), None);
    assert_eq!(value(Group::Sol, "IPPROTO_TCP"), Some(6));
    assert_eq!(value(Group::Af, "IPPROTO_TCP"), None);
    assert_eq!(any_value("IPPROTO_TCP"), Some((Group::Ipproto, 6)));
    assert_eq!(value(Group::Sig, "SIGTERM"), Some(15));
    assert_eq!(name_of(Group::Sig, 9), Some("SIGKILL"));
    assert_eq!(value(Group::Msg, "SOCK_STREAM"), None);
    assert_eq!(any_value("EPOLL_CTL_MOD"), Some((Group::EpollCtl, 3)));
    assert_eq!(any_value("SOCK_NONBLOCK"), Some((Group::Sock, 0o4000)));
}

#[test]
fn flags_print_as_strace_prints_them() {
    use Group::*;
    assert_eq!(flags_text(Sock, 1 | 0x80000), "SOCK_STREAM|SOCK_CLOEXEC");
    assert_eq!(
        flags_text(Sock, 1 | 0x80000 | 0x800),
        "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"
    );
    // As strace 6.1 printed them (socket(2) with bad arguments).
    assert_eq!(flags_text(Sock, 99), "SOCK_RAW|0x60 /* SOCK_??? */");
    assert_eq!(
        flags_text(Sock, 1 | 0x4000_0000),
        "SOCK_STREAM|0x40000000 /* SOCK_??? */"
    );
    assert_eq!(flags_text(Af, 48), "0x30 /* AF_??? */");
    assert_eq!(flags_text(Ipproto, 200), "0xc8 /* IPPROTO_??? */");
    assert_eq!(flags_text(Shut, 7), "0x7 /* SHUT_??? */");
    assert_eq!(flags_text(Shut, 1), "SHUT_WR");
    assert_eq!(flags_text(Msg, 0), "0");
    assert_eq!(flags_text(Msg, 0x40 | 0x4000), "MSG_DONTWAIT|MSG_NOSIGNAL");
    assert_eq!(flags_text(Msg, 0x2 | 0x100_0000), "MSG_PEEK|0x1000000");
    assert_eq!(flags_text(Msg, 0x100_0000), "0x1000000 /* MSG_??? */");
    assert_eq!(flags_text(OFlags, 0x802), "O_RDWR|O_NONBLOCK");
    assert_eq!(flags_text(OFlags, 0), "O_RDONLY");
    assert_eq!(flags_text(OFlags, 0o4010000), "O_RDONLY|O_SYNC");
    assert_eq!(flags_text(Poll, 0x1 | 0x4), "POLLIN|POLLOUT");
    assert_eq!(flags_text(Epoll, 0x8000_0001), "EPOLLIN|EPOLLET");
    assert_eq!(flags_text(FdFlags, 1), "FD_CLOEXEC");
    assert_eq!(flags_text(Sig, 15), "SIGTERM");
    assert_eq!(flags_text(Sig, 0), "0");
    assert_eq!(flags_text(Sol, 1), "SOL_SOCKET");
    assert_eq!(flags_text(Fcntl, 3), "F_GETFL");
    assert_eq!(flags_text(SockFlags, 0), "0");
    assert_eq!(flags_text(SockFlags, 0x80800), "SOCK_CLOEXEC|SOCK_NONBLOCK");
    assert_eq!(flags_text(Sig, 40), "SIGRT_8");
    assert_eq!(flags_text(Sig, 65), "65");
    assert_eq!(flags_text(Af, 0xffff_ffff), "0xffffffff /* AF_??? */");
    assert_eq!(
        flags_text(EpollFlags, 0xffff_ffff),
        "EPOLL_CLOEXEC|0xfff7ffff"
    );
    assert_eq!(flags_text(Msg, 0x100_0000), "0x1000000 /* MSG_??? */");
}

#[test]
fn options_by_level() {
    assert_eq!(option(libc::SOL_SOCKET, "SO_RCVBUF"), Some(libc::SO_RCVBUF));
    assert_eq!(
        option(libc::SOL_SOCKET, "SO_RCVTIMEO"),
        Some(libc::SO_RCVTIMEO)
    );
    assert_eq!(
        option_name(libc::SOL_SOCKET, libc::SO_RCVTIMEO),
        Some("SO_RCVTIMEO_OLD")
    );
    assert_eq!(
        option(libc::SOL_TCP, "TCP_NODELAY"),
        Some(libc::TCP_NODELAY)
    );
    assert_eq!(option_name(libc::SOL_TCP, libc::TCP_INFO), Some("TCP_INFO"));
    assert_eq!(option(libc::SOL_TCP, "SO_RCVBUF"), None);
    assert_eq!(option_text(libc::SOL_SOCKET, 999), "0x3e7 /* SO_??? */");
    assert_eq!(option_text(999, 1), "1");
    assert_eq!(option_text(libc::SOL_TCP, 1), "TCP_NODELAY");
    assert_eq!(flags_text(Group::Sol, 999), "0x3e7 /* SOL_?? */");
}

#[test]
fn errnos_by_name() {
    assert_eq!(errno("EISCONN"), Some(Errno::EISCONN));
    assert_eq!(errno("EWOULDBLOCK"), Some(Errno::EAGAIN));
    assert_eq!(errno("EAGAIN"), Some(Errno::EAGAIN));
    assert_eq!(errno("ECONNREFUSED"), Some(Errno::ECONNREFUSED));
    assert_eq!(errno("ENOPE"), None);
}

#[test]
fn wait4_options_as_strace_prints_them() {
    assert_eq!(value(Group::Wait, "WNOHANG"), Some(1));
    assert_eq!(value(Group::Wait, "WUNTRACED"), Some(2));
    assert_eq!(any_value("__WALL"), Some((Group::Wait, 0x4000_0000)));
    // Measured with strace 6.1: WUNTRACED prints as WSTOPPED.
    assert_eq!(flags_text(Group::Wait, 3), "WNOHANG|WSTOPPED");
    assert_eq!(
        flags_text(Group::Wait, 0x4000_0009),
        "WNOHANG|WCONTINUED|__WALL"
    );
    assert_eq!(flags_text(Group::Wait, 0), "0");
}
