//! A script's calls (raw.rs, transfer.rs, msg.rs, options.rs) print
//! exactly as strace 6.1 printed the same calls (`strace -f` of a small
//! Python program making each; the lines below are strace's, with its
//! pointers written `PTR`, fds and ports as this test's).

use std::sync::{Arc, Mutex};

use super::traced_lines::traced;
use super::*;
use crate::strace::Format;

#[test]
fn sockets_and_data_print_as_strace() {
    let (sys, lines) = traced();
    let l = sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    let _ = sys.socket_raw(48, libc::SOCK_STREAM, 0);
    let _ = sys.socket_raw(libc::AF_UNIX, 99, 0);
    let _ = sys.socket_raw(libc::AF_INET, libc::SOCK_STREAM, 200);
    sys.bind(l, &Addr::parse_inet("127.0.0.1:0").unwrap())
        .unwrap();
    sys.listen(l, 4).unwrap();
    let at = sys.getsockname(l).unwrap();
    let c = sys
        .socket_raw(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            libc::IPPROTO_TCP,
        )
        .unwrap();
    sys.connect(c, &at).unwrap();
    let (a, _) = sys.accept(l, false).unwrap();
    let _ = sys.accept4_raw(
        Socket::raw(987),
        false,
        libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
    );
    let _ = sys.accept4_raw(Socket::raw(987), false, 0);
    sys.sendto_raw(c, b"hello", libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL, None)
        .unwrap();
    let mut buf = [0u8; 16];
    sys.recvfrom_raw(a, &mut buf, libc::MSG_PEEK, true).unwrap();
    sys.read(a, &mut buf).unwrap();
    sys.write(c, b"x\n").unwrap();
    let _ = sys.write(Socket::raw(999), b"x");
    let d = sys.dup2(a, 100).unwrap();
    sys.shutdown_raw(c, libc::SHUT_WR).unwrap();
    let _ = sys.shutdown_raw(c, 7);
    let _ = sys.shutdown_raw(c, -1);
    let _ = sys.socketpair_raw(libc::AF_UNIX, libc::SOCK_STREAM, 0);
    let _ = sys.kill_raw(99_999_999, libc::SIGKILL);
    let _ = sys.kill_raw(99_999_999, 40);
    let _ = sys.epoll_create1_raw(-1);
    let ep = sys.epoll_create1_raw(0).unwrap();
    let in_et = (libc::EPOLLIN | libc::EPOLLET) as u32;
    sys.epoll_ctl_raw(ep, libc::EPOLL_CTL_ADD, a, Some((in_et, 1 << 32 | 7)))
        .unwrap();
    let _ = sys.epoll_ctl_raw(ep, 9, a, None);
    let _ = sys.tgkill_raw(99_999_999, 99_999_999, libc::SIGTERM);
    let _ = sys.rt_sigaction_raw(99, true);
    let got = lines.take();
    let (lfd, cfd, afd) = (l.fd(), c.fd(), a.fd());
    let port = at.port().unwrap();
    let sin =
        format!("{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"127.0.0.1\")}}");
    let want = [
        format!("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = {lfd}"),
        "socket(0x30 /* AF_??? */, SOCK_STREAM, 0) = -1 EAFNOSUPPORT (Address family not supported by protocol)".into(),
        "socket(AF_UNIX, SOCK_RAW|0x60 /* SOCK_??? */, 0) = -1 EINVAL (Invalid argument)".into(),
        "socket(AF_INET, SOCK_STREAM, 0xc8 /* IPPROTO_??? */) = -1 EPROTONOSUPPORT (Protocol not supported)".into(),
        format!("bind({lfd}, {{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}}, 16) = 0"),
        format!("listen({lfd}, 4) = 0"),
        format!("getsockname({lfd}, {sin}, [128 => 16]) = 0"),
        format!("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = {cfd}"),
        format!("connect({cfd}, {sin}, 16) = 0"),
        format!("accept({lfd}, NULL, NULL) = {afd}"),
        "accept4(987, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EBADF (Bad file descriptor)".into(),
        "accept4(987, NULL, NULL, 0) = -1 EBADF (Bad file descriptor)".into(),
        format!("sendto({cfd}, \"hello\", 5, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0) = 5"),
        format!("recvfrom({afd}, \"hello\", 16, MSG_PEEK, PTR, [128 => 0]) = 5"),
        format!("read({afd}, \"hello\", 16) = 5"),
        format!("write({cfd}, \"x\\n\", 2) = 2"),
        "write(999, \"x\", 1) = -1 EBADF (Bad file descriptor)".into(),
        format!("dup2({afd}, 100) = 100"),
        format!("shutdown({cfd}, SHUT_WR) = 0"),
        format!("shutdown({cfd}, 0x7 /* SHUT_??? */) = -1 EINVAL (Invalid argument)"),
        format!("shutdown({cfd}, 0xffffffff /* SHUT_??? */) = -1 EINVAL (Invalid argument)"),
    ];
    assert_eq!(got[..want.len()], want[..]);
    let rest = &got[want.len()..];
    assert!(
        rest[0].starts_with("socketpair(AF_UNIX, SOCK_STREAM, 0, ["),
        "{}",
        rest[0]
    );
    assert_eq!(
        rest[1],
        "kill(99999999, SIGKILL) = -1 ESRCH (No such process)"
    );
    assert_eq!(
        rest[2],
        "kill(99999999, SIGRT_8) = -1 ESRCH (No such process)"
    );
    assert_eq!(
        rest[3],
        "epoll_create1(EPOLL_CLOEXEC|0xfff7ffff) = -1 EINVAL (Invalid argument)"
    );
    let (e, af) = (ep.fd(), a.fd());
    assert_eq!(rest[4], format!("epoll_create1(0) = {e}"));
    assert_eq!(
        rest[5],
        format!(
            "epoll_ctl({e}, EPOLL_CTL_ADD, {af}, {{events=EPOLLIN|EPOLLET, data={{u32=7, u64=4294967303}}}}) = 0"
        )
    );
    assert_eq!(
        rest[6],
        format!("epoll_ctl({e}, 0x9 /* EPOLL_CTL_??? */, {af}, NULL) = -1 EFAULT (Bad address)")
    );
    assert_eq!(
        rest[7],
        "tgkill(99999999, 99999999, SIGTERM) = -1 ESRCH (No such process)"
    );
    assert_eq!(
        rest[8],
        "rt_sigaction(99, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8) = -1 EINVAL (Invalid argument)"
    );
    for s in [l, c, a, d, ep] {
        sys.close(s).unwrap();
    }
}

/// An observer that wants each call's arguments at entry.
#[derive(Default)]
struct Entries(Mutex<Vec<String>>);

impl Observer for Entries {
    fn renders(&self) -> bool {
        false
    }
    fn wants_entry(&self) -> bool {
        true
    }
    fn entering(&self, call: &'static calls::Syscall, args: &str) {
        // Given whole (a script's actor cuts them where it prints).
        let shown = args.get(..crate::strace::entry_len(call, args)).unwrap();
        self.0
            .lock()
            .unwrap()
            .push(format!("{}({shown}", call.name));
    }
}

#[test]
fn an_observer_sees_what_strace_prints_at_entry() {
    let entries = Arc::new(Entries::default());
    let quiet = Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink())));
    let sys = quiet.with_observer(Some(entries.clone()));
    let (a, b) = sys
        .socketpair_raw(libc::AF_UNIX, libc::SOCK_STREAM, 0)
        .unwrap();
    sys.write(a, b"hi").unwrap();
    let mut buf = [0u8; 8];
    sys.recvfrom_raw(b, &mut buf, 0, false).unwrap();
    let _ = sys.accept4_raw(a, true, libc::SOCK_CLOEXEC);
    sys.close(a).unwrap();
    sys.close(b).unwrap();
    let got = entries.0.lock().unwrap().clone();
    let (a, b) = (a.fd(), b.fd());
    assert_eq!(
        got,
        [
            "socketpair(AF_UNIX, SOCK_STREAM, 0, ".to_string(),
            format!("write({a}, \"hi\", 2"),
            format!("recvfrom({b}, "),
            format!("accept4({a}, "),
            format!("close({a}"),
            format!("close({b}"),
        ]
    );
}
