//! Every wrapper renders its arguments from its row (`strace::render`,
//! which asserts in unit tests that it gets one value per argument of the
//! row, each fitting its kind): this test makes each wrapper render, on
//! success and on failure, and checks the line names its call.

use super::traced_lines::{Lines, traced};
use super::*;
use crate::strace::Format;
use crate::values::sockopt::{SO_ERROR, SO_REUSEADDR, TCP_INFO};

/// The calls traced so far, by name (the text before the first `(`).
fn names(lines: &Lines) -> Vec<String> {
    lines
        .text()
        .lines()
        .filter_map(|l| l.split_once('(').map(|(n, _)| n.trim().to_string()))
        .collect()
}

#[test]
fn every_converted_wrapper_renders_its_rows_arguments() {
    let (sys, lines) = traced();
    let bad = Socket(987);

    // setup.rs and exchange.rs, over loopback.
    let lst = sys.socket(AddressFamily::Inet, SockType::Stream).unwrap();
    sys.setsockopt(lst, &SO_REUSEADDR, &Value::int(1)).unwrap();
    sys.getsockopt(lst, &SO_ERROR).unwrap();
    sys.bind(lst, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    sys.listen(lst, 4).unwrap();
    let at = sys.getsockname(lst).unwrap();
    let cli = sys.socket(AddressFamily::Inet, SockType::Stream).unwrap();
    sys.connect(cli, &at).unwrap();
    let (srv, _) = sys.accept4(lst).unwrap();
    sys.getpeername(srv).unwrap();
    sys.tcp_info(srv).unwrap();
    sys.sendto(cli, b"ping", None).unwrap();
    sys.poll(srv, PollFlags::POLLIN, 1000).unwrap();
    sys.ioctl_queue(srv, libc::FIONREAD, "FIONREAD").unwrap();
    let mut buf = [0u8; 16];
    sys.recvfrom_flags(srv, &mut buf, true, true).unwrap();
    sys.ioctl_fionbio(srv, true).unwrap();
    sys.shutdown(cli, Shutdown::Write).unwrap();
    sys.recvfrom(srv, &mut buf, false).unwrap();
    let nb = sys.socket_nonblock(AddressFamily::Inet, SockType::Stream);
    sys.close(nb.unwrap()).unwrap();
    let udp = sys.socket(AddressFamily::Inet, SockType::Datagram).unwrap();
    let _ = sys.sendto_dontwait(udp, b"x", Some(&at));
    let (a, b) = sys
        .socketpair(AddressFamily::Unix, SockType::Stream)
        .unwrap();
    sys.peercred(a).unwrap();
    let _ = sys.socketpair(AddressFamily::Inet, SockType::Stream);
    // Failures render their other forms (pointers, `[128]`).
    let _ = sys.accept4_nonblock(bad);
    let _ = sys.recvfrom(bad, &mut buf, true);
    let _ = sys.getsockname(bad);
    let _ = sys.getsockopt(bad, &SO_ERROR);
    let _ = sys.getsockopt(bad, &TCP_INFO);
    let _ = sys.ioctl_queue(bad, libc::FIONREAD, "FIONREAD");
    let _ = sys.peercred(bad);

    // epoll.rs.
    let ep = sys.epoll_create1().unwrap();
    sys.epoll_ctl(ep, EpollOp::Add, a, libc::EPOLLIN as u32)
        .unwrap();
    sys.epoll_ctl(ep, EpollOp::Mod, a, libc::EPOLLOUT as u32)
        .unwrap();
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
    sys.epoll_wait(ep, &mut evs, 0).unwrap();
    sys.epoll_ctl(ep, EpollOp::Del, a, 0).unwrap();
    let _ = sys.epoll_wait(bad, &mut evs, 0);
    let mut fds = [libc::pollfd {
        fd: a.0,
        events: libc::POLLOUT,
        revents: 0,
    }];
    sys.poll_fds(&mut fds, 0).unwrap();

    // files.rs, security.rs and fd.rs's files, in a directory of the test's own.
    let mut rnd = [0u8; 8];
    sys.getrandom(&mut rnd).unwrap();
    let old = sys.umask(0o077).unwrap();
    sys.umask(old).unwrap();
    let name = format!("socklab-rendered-{}", std::process::id());
    let top = std::env::temp_dir();
    let tmp = sys.openat(None, &top, libc::O_DIRECTORY).unwrap();
    sys.mkdirat(Some(tmp), name.as_ref(), 0o700).unwrap();
    let dir = sys
        .openat(Some(tmp), name.as_ref(), libc::O_DIRECTORY)
        .unwrap();
    sys.fchmod(dir, 0o700).unwrap();
    let sock = top.join(&name).join("s.sock");
    let us = sys.socket(AddressFamily::Unix, SockType::Stream).unwrap();
    sys.bind(us, &Addr::parse_unix(sock.to_str().unwrap()).unwrap())
        .unwrap();
    sys.newfstatat(&sock).unwrap();
    sys.fstatat(dir, "s.sock".as_ref()).unwrap();
    sys.fchmodat(Some(dir), "s.sock".as_ref(), 0o600).unwrap();
    sys.unlink(&sock).unwrap();
    sys.newfstatat(&sock).unwrap();
    let _ = sys.unlinkat(Some(dir), "s.sock".as_ref(), 0);
    sys.close_dir(dir).unwrap();
    sys.unlinkat(Some(tmp), name.as_ref(), libc::AT_REMOVEDIR)
        .unwrap();
    sys.close_dir(tmp).unwrap();

    // process.rs and resources.rs (the calls that leave the test alone).
    let _ = sys.wait4(-1, true);
    sys.getpid().unwrap();
    sys.getppid().unwrap();
    sys.kill(std::process::id() as i32, nix::sys::signal::Signal::SIGCONT)
        .unwrap();
    let (soft, hard) = sys.prlimit64_get_nofile().unwrap();
    sys.prlimit64_set_nofile(soft, hard).unwrap();
    sys.getrusage().unwrap();

    // packet.rs: with CAP_NET_RAW the calls succeed, without they fail;
    // either way they render. On a plain socket when not allowed.
    let pk = sys.socket_packet().unwrap_or(a);
    let _ = sys.ioctl_siocgifindex(pk, "lo");
    let _ = sys.bind_packet(pk, 1);
    let _ = sys.setsockopt_attach_filter(pk, &[]);
    let _ = sys.setsockopt_timestampns(pk);
    let _ = sys.setsockopt_rcvbuf(pk, false, 1 << 16);
    let _ = sys.getsockopt_packet_statistics(pk);
    let _ = sys.getsockopt_packet_statistics(bad);
    // recvmsg renders only when it fails (its capture thread is untraced).
    let mut frame = [0u8; 64];
    let _ = Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink())))
        .recvmsg_packet(bad, &mut frame);

    // raw.rs and transfer.rs: a script's calls, on success and failure.
    let rl = sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    let _ = sys.socket_raw(48, libc::SOCK_STREAM, 0);
    sys.bind(rl, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    sys.listen(rl, 4).unwrap();
    let rat = sys.getsockname(rl).unwrap();
    let (rc1, rc2) = (
        sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap(),
        sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap(),
    );
    sys.connect(rc1, &rat).unwrap();
    sys.connect(rc2, &rat).unwrap();
    let (ra1, _) = sys.accept(rl, false).unwrap();
    let (ra2, _) = sys.accept4_raw(rl, true, libc::SOCK_CLOEXEC).unwrap();
    let _ = sys.accept(bad, true);
    let _ = sys.accept4_raw(bad, false, 0);
    sys.sendto_raw(rc1, b"hi", libc::MSG_NOSIGNAL, None)
        .unwrap();
    let _ = sys.sendto_raw(bad, b"hi", 0, Some(&rat));
    sys.recvfrom_raw(ra1, &mut buf, libc::MSG_PEEK, true)
        .unwrap();
    sys.recvfrom_raw(ra1, &mut buf, 0, false).unwrap();
    let _ = sys.recvfrom_raw(bad, &mut buf, 0, true);
    sys.write(rc2, b"yo").unwrap();
    sys.read(ra2, &mut buf).unwrap();
    let _ = sys.write(bad, b"x");
    let _ = sys.read(bad, &mut buf);
    let rd = sys.dup(ra1).unwrap();
    let _ = sys.dup(bad);
    let rd2 = sys.dup2(ra2, rd.0 + 10).unwrap();
    let _ = sys.dup2(bad, 100);
    sys.shutdown_raw(rc1, libc::SHUT_WR).unwrap();
    let _ = sys.shutdown_raw(rc1, 7);
    sys.kill_raw(std::process::id() as i32, 0).unwrap();
    let _ = sys.kill_raw(std::process::id() as i32, 999);
    let (rp1, rp2) = sys
        .socketpair_raw(libc::AF_UNIX, libc::SOCK_DGRAM, 0)
        .unwrap();
    let _ = sys.socketpair_raw(libc::AF_INET, libc::SOCK_STREAM, 0);
    // msg.rs and options.rs.
    sys.sendmsg(rp1, &[b"a", b"b"], None, &[Cmsg::Rights(vec![rp1.0])], 0)
        .unwrap();
    let _ = sys.sendmsg(bad, &[b"a"], Some(&rat), &[], 0);
    let got = sys.recvmsg_raw(rp2, &[1, 8], 64, 0, true).unwrap();
    for c in got.control {
        if let Cmsg::Rights(fds) = c {
            fds.into_iter()
                .for_each(|fd| sys.close(Socket::raw(fd)).unwrap());
        }
    }
    let _ = sys.recvmsg_raw(bad, &[8], 0, 0, false);
    sys.setsockopt_raw(
        rc1,
        libc::SOL_SOCKET,
        libc::SO_RCVBUF,
        &4096i32.to_ne_bytes(),
    )
    .unwrap();
    let _ = sys.setsockopt_raw(bad, 999, 1, &[1]);
    sys.getsockopt_raw(rc1, libc::SOL_TCP, libc::TCP_NODELAY, 4)
        .unwrap();
    let _ = sys.getsockopt_raw(bad, libc::SOL_SOCKET, libc::SO_ERROR, 4);
    let fl = sys.fcntl_raw(rc1, libc::F_GETFL, None).unwrap();
    sys.fcntl_raw(rc1, libc::F_SETFL, Some(fl)).unwrap();
    let _ = sys.fcntl_raw(bad, libc::F_SETFD, Some(1));
    sys.ioctl_int(rc1, libc::FIONBIO, 0).unwrap();
    sys.ioctl_int(ra1, libc::FIONREAD, 0).unwrap();
    let _ = sys.ioctl_int(bad, libc::TIOCOUTQ, 0);
    let rep = sys.epoll_create1_raw(0).unwrap();
    sys.epoll_ctl_raw(
        rep,
        libc::EPOLL_CTL_ADD,
        rp1,
        Some((libc::EPOLLIN as u32, 7)),
    )
    .unwrap();
    let _ = sys.epoll_ctl_raw(rep, 99, rp1, None);
    sys.epoll_ctl_raw(rep, libc::EPOLL_CTL_DEL, rp1, None)
        .unwrap();
    let _ = sys.epoll_create1_raw(-1);
    for s in [rl, rc1, rc2, ra1, ra2, rd, rd2, rp1, rp2, rep] {
        sys.close(s).unwrap();
    }

    for s in [lst, cli, srv, udp, a, b, ep, us] {
        sys.close(s).unwrap();
    }
    // mmsg.rs: 40 datagrams to itself, taken and sent back in one call
    // each (strace shows 32 entries, then `...`).
    let bu = sys.socket(AddressFamily::Inet, SockType::Datagram).unwrap();
    sys.bind(bu, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    let me = sys.getsockname(bu).unwrap();
    for _ in 0..40 {
        sys.sendto(bu, b"hi", Some(&me)).unwrap();
    }
    let mut batch = Batch::new(vec![0u8; 40 * 8], 8, true);
    let got = sys.recvmmsg(bu, &mut batch, 40, libc::MSG_WAITFORONE);
    assert_eq!(got.unwrap(), 40);
    let from = batch.from(39).map(|a| a.to_string());
    assert_eq!(from, Some(me.to_string()));
    for k in 0..40 {
        batch.set_len(k, batch.len(k));
    }
    assert_eq!(sys.sendmmsg(bu, &mut batch, 0, 40, 0).unwrap(), 40);
    let _ = sys.recvmmsg(bad, &mut batch, 1, 0);
    sys.close(bu).unwrap();
    let text = lines.text();
    assert!(
        text.contains("msg_len=2}, ...], 40, MSG_WAITFORONE, NULL) = 40")
            && text.contains("msg_namelen=128 => 16, msg_iov=[{iov_base=\"hi\", iov_len=8}]")
            && text.contains("msg_namelen=16, msg_iov=[{iov_base=\"hi\", iov_len=2}]")
            && text.contains("recvmmsg(987, 0x"),
        "{text}"
    );
    // io_uring: setup, the three mmaps, register, one enter, close.
    let mut ring = sys.uring(8, 4, 16).unwrap();
    let mut cqes = Vec::new();
    sys.uring_submit(&mut ring, false, &mut cqes).unwrap();
    sys.uring_close(ring).unwrap();
    // sigsets.rs: the ids, and the mask read back without a change.
    sys.gettid().unwrap();
    sys.geteuid().unwrap();
    sys.rt_sigprocmask_set(libc::SIG_BLOCK, None, true).unwrap();
    let text = lines.text();
    assert!(
        text.contains("rt_sigprocmask(SIG_BLOCK, NULL, [") && text.contains(", 8) = 0"),
        "{text}"
    );
    let seen = names(&lines);
    if std::env::var_os("SOCKLAB_SHOW_RENDERED").is_some() {
        eprintln!("{}", lines.text());
    }
    for row in calls::ALL.iter().filter(|r| r.traced) {
        if row.rendered_elsewhere.is_empty() {
            assert!(
                seen.iter().any(|n| n == row.name),
                "{} not traced",
                row.name
            );
        }
    }
}
