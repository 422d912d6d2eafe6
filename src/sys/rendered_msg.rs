//! A script's message and option calls (msg.rs, options.rs) print
//! exactly as strace 6.1 printed the same calls from a Python program
//! (see rendered_raw.rs).

use super::traced_lines::traced;
use super::*;

#[test]
fn messages_print_as_strace() {
    let (sys, lines) = traced();
    let (a, b) = sys
        .socketpair_raw(libc::AF_UNIX, libc::SOCK_DGRAM, 0)
        .unwrap();
    sys.setsockopt_raw(b, libc::SOL_SOCKET, libc::SO_PASSCRED, &1i32.to_ne_bytes())
        .unwrap();
    sys.sendmsg(a, &[b"hi"], None, &[Cmsg::Rights(vec![0])], 0)
        .unwrap();
    let got = sys.recvmsg_raw(b, &[16], 32, 0, true).unwrap();
    assert_eq!(got.msg_flags, libc::MSG_CTRUNC);
    // SAFETY: plain calls with no arguments.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    let creds = Cmsg::Credentials { pid, uid, gid };
    assert_eq!(got.control, std::slice::from_ref(&creds));
    sys.sendmsg(a, &[b"hey", b"you"], None, &[creds], 0)
        .unwrap();
    let got = sys.recvmsg_raw(b, &[2], 8, 0, true).unwrap();
    assert_eq!((got.ret, &got.data[0][..]), (2, &b"he"[..]));
    let _ = sys.recvmsg_raw(b, &[8], 0, libc::MSG_DONTWAIT, true);
    let _ = sys.recvmsg_raw(b, &[8], 0, libc::MSG_DONTWAIT, false);
    let (a, b) = (a.fd(), b.fd());
    let creds = format!("cmsg_data={{pid={pid}, uid={uid}, gid={gid}}}");
    assert_eq!(
        lines.take(),
        [
            format!("socketpair(AF_UNIX, SOCK_DGRAM, 0, [{a}, {b}]) = 0"),
            format!("setsockopt({b}, SOL_SOCKET, SO_PASSCRED, [1], 4) = 0"),
            format!(
                "sendmsg({a}, {{msg_name=NULL, msg_namelen=0, msg_iov=[{{iov_base=\"hi\", iov_len=2}}], msg_iovlen=1, msg_control=[{{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[0]}}], msg_controllen=24, msg_flags=0}}, 0) = 2"
            ),
            format!(
                "recvmsg({b}, {{msg_name=PTR, msg_namelen=128 => 0, msg_iov=[{{iov_base=\"hi\", iov_len=16}}], msg_iovlen=1, msg_control=[{{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, {creds}}}], msg_controllen=32, msg_flags=MSG_CTRUNC}}, 0) = 2"
            ),
            format!(
                "sendmsg({a}, {{msg_name=NULL, msg_namelen=0, msg_iov=[{{iov_base=\"hey\", iov_len=3}}, {{iov_base=\"you\", iov_len=3}}], msg_iovlen=2, msg_control=[{{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, {creds}}}], msg_controllen=32, msg_flags=0}}, 0) = 6"
            ),
            format!(
                "recvmsg({b}, {{msg_name=PTR, msg_namelen=128 => 0, msg_iov=[{{iov_base=\"he\", iov_len=2}}], msg_iovlen=1, msg_controllen=0, msg_flags=MSG_CTRUNC|MSG_TRUNC}}, 0) = 2"
            ),
            format!(
                "recvmsg({b}, {{msg_namelen=128}}, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)"
            ),
            format!(
                "recvmsg({b}, {{msg_namelen=0}}, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)"
            ),
        ]
    );

    // Descriptors passed on a stream pair, into two iovecs; a name-less recvmsg.
    let (c, d) = sys
        .socketpair_raw(libc::AF_UNIX, libc::SOCK_STREAM, 0)
        .unwrap();
    sys.sendmsg(c, &[b"hi"], None, &[Cmsg::Rights(vec![0, 1])], 0)
        .unwrap();
    let got = sys.recvmsg_raw(d, &[4, 8], 24, 0, true).unwrap();
    let [Cmsg::Rights(fds)] = &got.control[..] else {
        panic!("{:?}", got.control)
    };
    sys.write(c, b"q").unwrap();
    sys.recvmsg_raw(d, &[8], 0, 0, false).unwrap();
    // UDP: the name both ways.
    let u = sys.socket_raw(libc::AF_INET, libc::SOCK_DGRAM, 0).unwrap();
    sys.bind(u, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    let at = sys.getsockname(u).unwrap();
    sys.sendmsg(u, &[b"abc"], Some(&at), &[], 0).unwrap();
    let got = sys.recvmsg_raw(u, &[16], 0, 0, true).unwrap();
    assert_eq!(got.name.map(|n| n.strace()), Some(at.strace()));
    let (cf, df, uf, sin) = (c.fd(), d.fd(), u.fd(), at.strace());
    let text = lines.take();
    let want = [
        format!(
            "sendmsg({cf}, {{msg_name=NULL, msg_namelen=0, msg_iov=[{{iov_base=\"hi\", iov_len=2}}], msg_iovlen=1, msg_control=[{{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[0, 1]}}], msg_controllen=24, msg_flags=0}}, 0) = 2"
        ),
        format!(
            "recvmsg({df}, {{msg_name=PTR, msg_namelen=128 => 0, msg_iov=[{{iov_base=\"hi\", iov_len=4}}, {{iov_base=\"\", iov_len=8}}], msg_iovlen=2, msg_control=[{{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[{}, {}]}}], msg_controllen=24, msg_flags=0}}, 0) = 2",
            fds[0], fds[1]
        ),
        format!("write({cf}, \"q\", 1) = 1"),
        format!(
            "recvmsg({df}, {{msg_name=NULL, msg_namelen=0, msg_iov=[{{iov_base=\"q\", iov_len=8}}], msg_iovlen=1, msg_controllen=0, msg_flags=0}}, 0) = 1"
        ),
        format!("socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = {uf}"),
        format!(
            "bind({uf}, {{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}}, 16) = 0"
        ),
        format!("getsockname({uf}, {sin}, [128 => 16]) = 0"),
        format!(
            "sendmsg({uf}, {{msg_name={sin}, msg_namelen=16, msg_iov=[{{iov_base=\"abc\", iov_len=3}}], msg_iovlen=1, msg_controllen=0, msg_flags=0}}, 0) = 3"
        ),
        format!(
            "recvmsg({uf}, {{msg_name={sin}, msg_namelen=128 => 16, msg_iov=[{{iov_base=\"abc\", iov_len=16}}], msg_iovlen=1, msg_controllen=0, msg_flags=0}}, 0) = 3"
        ),
    ];
    assert_eq!(text[1..], want[..]);
    for s in [
        Socket::raw(a),
        Socket::raw(b),
        c,
        d,
        u,
        Socket::raw(fds[0]),
        Socket::raw(fds[1]),
    ] {
        sys.close(s).unwrap();
    }
}

#[test]
fn options_fcntl_and_ioctl_print_as_strace() {
    let (sys, lines) = traced();
    let s = sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    let (int, opt) = (|v: i32| v.to_ne_bytes(), libc::SOL_SOCKET);
    sys.getsockopt_raw(s, opt, libc::SO_ERROR, 4).unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_TYPE, 4).unwrap();
    sys.getsockopt_raw(s, libc::SOL_TCP, libc::TCP_NODELAY, 4)
        .unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_LINGER, 16).unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_RCVTIMEO, 16).unwrap();
    sys.setsockopt_raw(s, opt, libc::SO_RCVBUF, &int(4096))
        .unwrap();
    sys.setsockopt_raw(s, libc::SOL_TCP, libc::TCP_NODELAY, &int(1))
        .unwrap();
    let linger = [int(1), int(5)].concat();
    sys.setsockopt_raw(s, opt, libc::SO_LINGER, &linger)
        .unwrap();
    let tv = [1i64.to_ne_bytes(), 500_000i64.to_ne_bytes()].concat();
    sys.setsockopt_raw(s, opt, libc::SO_RCVTIMEO, &tv).unwrap();
    let _ = sys.setsockopt_raw(s, opt, libc::SO_REUSEADDR, &[1, 0]);
    sys.setsockopt_raw(s, opt, libc::SO_REUSEADDR, &[1, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_REUSEADDR, 8).unwrap();
    let _ = sys.setsockopt_raw(s, opt, libc::SO_LINGER, &[1, 0]);
    let _ = sys.setsockopt_raw(s, opt, 999, &int(1));
    let _ = sys.setsockopt_raw(s, 999, 1, &int(1));
    sys.getsockopt_raw(s, opt, libc::SO_ERROR, 2).unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_LINGER, 4).unwrap();
    let _ = sys.getsockopt_raw(s, opt, 999, 4);
    let fl = sys.fcntl_raw(s, libc::F_GETFL, None).unwrap();
    sys.fcntl_raw(s, libc::F_SETFL, Some(fl | i64::from(libc::O_NONBLOCK)))
        .unwrap();
    sys.fcntl_raw(s, libc::F_GETFL, None).unwrap();
    sys.fcntl_raw(s, libc::F_GETFD, None).unwrap();
    sys.fcntl_raw(s, libc::F_SETFD, Some(1)).unwrap();
    sys.fcntl_raw(s, libc::F_GETFD, None).unwrap();
    sys.fcntl_raw(s, libc::F_SETFD, Some(0)).unwrap();
    let _ = sys.fcntl_raw(Socket::raw(999), libc::F_SETFL, Some(0o4000));
    let _ = sys.fcntl_raw(s, 9999, None);
    sys.ioctl_int(s, libc::FIONBIO, 1).unwrap();
    sys.ioctl_int(s, libc::FIONREAD, 0).unwrap();
    sys.ioctl_int(s, libc::TIOCOUTQ, 0).unwrap();
    let _ = sys.ioctl_int(Socket::raw(999), libc::FIONREAD, 0);
    let f = s.fd();
    let want = [
        format!("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = {f}"),
        format!("getsockopt({f}, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"),
        format!("getsockopt({f}, SOL_SOCKET, SO_TYPE, [1], [4]) = 0"),
        format!("getsockopt({f}, SOL_TCP, TCP_NODELAY, [0], [4]) = 0"),
        format!("getsockopt({f}, SOL_SOCKET, SO_LINGER, {{l_onoff=0, l_linger=0}}, [16 => 8]) = 0"),
        format!(
            "getsockopt({f}, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\", [16]) = 0"
        ),
        format!("setsockopt({f}, SOL_SOCKET, SO_RCVBUF, [4096], 4) = 0"),
        format!("setsockopt({f}, SOL_TCP, TCP_NODELAY, [1], 4) = 0"),
        format!("setsockopt({f}, SOL_SOCKET, SO_LINGER, {{l_onoff=1, l_linger=5}}, 8) = 0"),
        format!(
            "setsockopt({f}, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\\1\\0\\0\\0\\0\\0\\0\\0 \\241\\7\\0\\0\\0\\0\\0\", 16) = 0"
        ),
        format!("setsockopt({f}, SOL_SOCKET, SO_REUSEADDR, PTR, 2) = -1 EINVAL (Invalid argument)"),
        format!("setsockopt({f}, SOL_SOCKET, SO_REUSEADDR, [1], 8) = 0"),
        format!("getsockopt({f}, SOL_SOCKET, SO_REUSEADDR, [1], [8 => 4]) = 0"),
        format!("setsockopt({f}, SOL_SOCKET, SO_LINGER, PTR, 2) = -1 EINVAL (Invalid argument)"),
        format!(
            "setsockopt({f}, SOL_SOCKET, 0x3e7 /* SO_??? */, [1], 4) = -1 ENOPROTOOPT (Protocol not available)"
        ),
        format!(
            "setsockopt({f}, 0x3e7 /* SOL_?? */, 1, [1], 4) = -1 ENOPROTOOPT (Protocol not available)"
        ),
        format!("getsockopt({f}, SOL_SOCKET, SO_ERROR, \"\\x00\\x00\", [2]) = 0"),
        format!("getsockopt({f}, SOL_SOCKET, SO_LINGER, {{l_onoff=1}}, [4]) = 0"),
        format!(
            "getsockopt({f}, SOL_SOCKET, 0x3e7 /* SO_??? */, PTR, [4]) = -1 ENOPROTOOPT (Protocol not available)"
        ),
        format!("fcntl({f}, F_GETFL) = 0x2 (flags O_RDWR)"),
        format!("fcntl({f}, F_SETFL, O_RDWR|O_NONBLOCK) = 0"),
        format!("fcntl({f}, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)"),
        format!("fcntl({f}, F_GETFD) = 0"),
        format!("fcntl({f}, F_SETFD, FD_CLOEXEC) = 0"),
        format!("fcntl({f}, F_GETFD) = 0x1 (flags FD_CLOEXEC)"),
        format!("fcntl({f}, F_SETFD, 0) = 0"),
        "fcntl(999, F_SETFL, O_RDONLY|O_NONBLOCK) = -1 EBADF (Bad file descriptor)".into(),
        format!("fcntl({f}, 0x270f /* F_??? */, 0) = -1 EINVAL (Invalid argument)"),
        format!("ioctl({f}, FIONBIO, [1]) = 0"),
        format!("ioctl({f}, FIONREAD, [0]) = 0"),
        format!("ioctl({f}, TIOCOUTQ, [0]) = 0"),
        "ioctl(999, FIONREAD, PTR) = -1 EBADF (Bad file descriptor)".into(),
    ];
    assert_eq!(lines.take(), want);

    // A refused non-blocking connect: SO_ERROR names its errno.
    let l = sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    sys.bind(l, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    let at = sys.getsockname(l).unwrap();
    let _ = sys.connect(s, &at);
    sys.poll(s, PollFlags::POLLOUT, 5000).unwrap();
    sys.getsockopt_raw(s, opt, libc::SO_ERROR, 4).unwrap();
    let last = lines.take().pop().unwrap();
    assert_eq!(
        last,
        format!("getsockopt({f}, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0")
    );
    sys.close(s).unwrap();
    sys.close(l).unwrap();
}
