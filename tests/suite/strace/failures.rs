//! socklab's trace equals strace's when calls fail or time out, under capture,
//! and in a lab's private directory; the comparison's rules stay narrow.

use super::*;
use crate::harness;

#[test]
fn timeout_against_a_silent_udp_socket() {
    if !have("strace") {
        return;
    }
    let (_silent, addr) = silent_udp();
    let dir = TempDir::new("trace-timeout");
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&["udp", "client", &addr, "--timeout", "0.2", "-m", "anyone?"]),
        b"",
    );
    client.assert_code(1);
    assert!(client.stderr.contains("timed out"), "{}", client.dump());
    let c = cli.assert_equal("timeout client");
    assert_eq!(
        c.last().map(String::as_str),
        Some("poll([{fd=4, events=POLLIN}], 1, 200) = 0 (Timeout)"),
        "the last call is the poll that expired: {c:#?}"
    );
}

/// A client against a UNIX datagram peer whose queue is full: poll says
/// POLLOUT, sendto says EAGAIN, and the client backs off in
/// `poll(fd, events=0, 1)`, then 2...: strace's lines, to the deadline.
#[test]
fn timeout_backs_off_against_a_full_unix_dgram_peer() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-backoff");
    let path = dir.path("full.sock");
    let _full = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let filler = std::os::unix::net::UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    while filler.send_to(b"x", &path).is_ok() {}
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&[
            "unix",
            "client",
            &path,
            "--dgram",
            "--timeout",
            "0.2",
            "-m",
            "hi",
        ]),
        b"",
    );
    client.assert_code(1);
    assert!(client.stderr.contains("timed out"), "{}", client.dump());
    let c = cli.assert_equal("back-off client");
    for ms in [1, 2, 4] {
        assert!(
            c.iter()
                .any(|l| l.ends_with(&format!("events=0}}], 1, {ms}) = 0 (Timeout)"))),
            "the back-off poll of {ms} ms: {c:#?}"
        );
    }
    assert!(
        c.last().is_some_and(|l| l.starts_with("sendto(")
            && l.ends_with("EAGAIN (Resource temporarily unavailable)")),
        "the last call is the sendto after the deadline: {c:#?}"
    );
}

#[test]
fn tcp_client_connection_refused() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = TempDir::new("trace-refused");
    let cli = Traced::new(&dir, "client");
    let client = run(cli.command(&["tcp", "client", &addr, "-m", "x"]), b"");
    client.assert_code(1);
    let c = cli.assert_equal("refused client");
    let last = c.last().expect("a line");
    assert!(
        last.starts_with("connect(") && last.ends_with("= -1 ECONNREFUSED (Connection refused)"),
        "{c:#?}"
    );
    assert!(last.contains(&format!("sin_port=htons({port})")), "{last}");
}

#[test]
fn tcp_client_connect_ex() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = TempDir::new("trace-connect-ex");
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&["tcp", "client", &addr, "--connect-ex", "-m", "x"]),
        b"",
    );
    // connect_ex reports 111 and carries on; the send then fails (EPIPE).
    assert!(
        client.stdout.contains("111 ECONNREFUSED"),
        "{}",
        client.dump()
    );
    let c = cli.assert_equal("connect-ex client");
    assert!(
        c.iter()
            .any(|l| l.starts_with("connect(") && l.contains("ECONNREFUSED")),
        "{c:#?}"
    );
}

/// The rules drop only what they say: a socket's poll or ioctl, or socklab's
/// own path check, must survive them.
#[test]
fn the_rules_are_narrow() {
    assert_eq!(
        unpad("close(4)                                = 0"),
        "close(4) = 0"
    );
    assert_eq!(
        unpad(r#"sendto(4, "a = b", 5, 0, NULL, 0)      = 5"#),
        r#"sendto(4, "a = b", 5, 0, NULL, 0) = 5"#
    );
    for runtime in [
        "poll([{fd=0, events=0}, {fd=1, events=0}, {fd=2, events=0}], 3, 0) = 0 (Timeout)",
        "ioctl(0, TCGETS, 0x7ffe20080320) = -1 ENOTTY (Inappropriate ioctl for device)",
        r#"newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0"#,
    ] {
        assert!(is_runtime_call(runtime), "{runtime}");
    }
    for socklab in [
        "poll([{fd=4, events=POLLIN}], 1, 200) = 0 (Timeout)",
        "poll([{fd=2, events=POLLIN}, {fd=4, events=POLLIN}], 2, -1) = 1",
        "ioctl(4, FIONBIO, [1]) = 0",
        "ioctl(12, FIONREAD, [0]) = 0",
        r#"newfstatat(AT_FDCWD, "/tmp/s", 0x7ffc2cba3fd0, AT_SYMLINK_NOFOLLOW) = -1 ENOENT (No such file or directory)"#,
        "close(0) = 0",
    ] {
        assert!(!is_runtime_call(socklab), "{socklab}");
    }
}

/// `--pcap`: the capture's own calls (socket(AF_PACKET), the SIOCGIFINDEX
/// ioctl of if_nametoindex, bind to a sockaddr_ll, SO_ATTACH_FILTER with
/// its sock_fprog, SO_TIMESTAMPNS_OLD, SO_RCVBUFFORCE, PACKET_STATISTICS,
/// the final close) render as strace's.
/// (fds 3 and 4 are the trace file and the pcap file.)
#[test]
fn capture_calls_with_pcap() {
    if !have("strace") || !is_root() {
        return;
    }
    let dir = TempDir::new("wire");
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let cli = Traced::new(&dir, "client");
    let pcap = dir.path("c.pcap");
    let client = run(
        cli.command(&["--pcap", &pcap, "udp", "client", "-m", "hi", &server.addr]),
        b"",
    );
    client.assert_ok();
    server.finish().assert_ok();
    let c = cli.assert_equal_main_thread("udp client --pcap");
    for start in [
        "socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL)) = ",
        "ioctl(5, SIOCGIFINDEX, {ifr_name=\"lo\", ifr_ifindex=",
        "bind(5, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL), sll_ifindex=if_nametoindex(\"lo\")",
        "setsockopt(5, SOL_SOCKET, SO_ATTACH_FILTER, {len=32, filter=0x", // one port: bpf.rs
        "setsockopt(5, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4) = 0",
        "setsockopt(5, SOL_SOCKET, SO_RCVBUFFORCE, [33554432], 4) = 0",
        "getsockopt(5, SOL_PACKET, PACKET_STATISTICS, {tp_packets=",
        "close(5) = 0",
    ] {
        assert!(
            c.iter().any(|l| l.starts_with(start)),
            "trace lacks {start}: {c:#?}"
        );
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED: capturing needs root");
    }
    root
}

/// The lab's private directory and the socket file's mode: the timeline's
/// getrandom, mkdirat, openat, fchmod and fchmodat lines equal strace's.
#[test]
fn lab_private_directory_calls_equal_strace() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-lab-dir");
    let log = dir.path("strace");
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-e", "signal=none", "-e"])
        .arg("trace=getrandom,mkdirat,openat,fchmod,fchmodat")
        .args(["-o", &log])
        .arg(harness::bin())
        .args(["lab", "unix-family"]);
    let out = run(cmd, b"");
    out.assert_ok();
    let wanted = |l: &str| {
        (l.starts_with("getrandom(") && l.contains(", 6, 0)"))
            || l.starts_with("mkdirat(")
            || (l.starts_with("openat(")
                && l.contains("|O_DIRECTORY)")
                && !l.contains("O_NONBLOCK")) // not an opendir
            || l.starts_with("fchmod")
    };
    let ours: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once(" | ")
                .map(|(_, call)| crate::harness::untask(call))
        })
        .filter(|l| wanted(l))
        .map(str::to_string)
        .collect();
    let theirs: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            unpad(
                l.trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start(),
            )
        })
        .filter(|l| wanted(l))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.starts_with("mkdirat(") && l.ends_with(", 0700) = 0")),
        "{ours:#?}\n{}",
        out.dump()
    );
    assert!(ours.iter().any(|l| l.starts_with("fchmodat(")), "{ours:#?}");
    assert_eq!(ours, theirs, "{}", out.dump());
}
