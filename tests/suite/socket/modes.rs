//! Python's modes: non-blocking, timeouts, connect_ex, send and sendall.

use super::*;
use crate::harness;

#[test]
fn nonblocking_shows_eagain_then_waits_in_poll() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--once",
        "--nonblocking",
    ]);
    // The handshake: the server has met EAGAIN and waits in poll before the
    // client connects (else accept4 may find the connection at once).
    harness::blocked_in(server.pid(), libc::SYS_poll);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--nonblocking",
            "-m",
            "nb",
        ]),
        b"",
    );
    client.assert_ok();
    // Python's gettimeout() after setblocking(False), then the reply.
    assert_eq!(
        client.stdout,
        "fd 3: setblocking(False), gettimeout() -> 0.0\nNB\n"
    );
    assert!(
        client
            .stderr
            .contains("ioctl(3, FIONBIO, [1]) = 0\nconnect(3, "),
        "{}",
        client.dump()
    );
    client.stderr_has("= -1 EINPROGRESS (Operation now in progress)");
    let server = server.finish();
    server.assert_ok();
    let t = &server.stderr;
    // The server was waiting for the client: accept4 said EAGAIN, then poll.
    let eagain = t.find("accept4(3, 0x").expect(t);
    assert!(t[eagain..].contains("= -1 EAGAIN (Resource temporarily unavailable)\npoll([{fd=3, events=POLLIN}], 1, -1) = 1 ([{fd=3, revents=POLLIN}])\naccept4(3, {"), "{t}");
    // Each EAGAIN is followed by exactly one poll: no busy loop.
    let eagains = t.matches("EAGAIN").count();
    let polls = t.matches("\npoll(").count();
    assert_eq!(eagains, polls, "{t}");
}

#[test]
fn timeout_fires_and_names_the_call() {
    let (_silent, addr) = silent_udp();
    let out = run(
        socklab(&[
            "--trace",
            "udp",
            "client",
            &addr,
            "--timeout",
            "0.3",
            "-m",
            "x",
        ]),
        b"",
    );
    out.assert_code(1);
    out.stderr_has("poll([{fd=3, events=POLLIN}], 1, 300) = 0 (Timeout)");
    out.stderr_has("socklab: recvfrom(3, ...): timed out after 0.3s");
}

#[test]
fn kernel_receive_timeout_fails_a_blocking_recv_with_eagain() {
    let (_silent, addr) = silent_udp();
    let out = run(
        socklab(&[
            "--trace",
            "udp",
            "client",
            &addr,
            "--rcvtimeo",
            "0.2",
            "-m",
            "x",
        ]),
        b"",
    );
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("setsockopt(3, SOL_SOCKET, SO_RCVTIMEO_OLD, "),
        "{}",
        out.dump()
    );
    out.stdout_has("sockopt SO_RCVTIMEO on fd 3: requested 0.2s");
    assert!(
        !out.stderr.contains("poll("),
        "the kernel's way: no poll\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("socklab: recvfrom(3, 0x"),
        "{}",
        out.dump()
    );
    out.stderr_has("= -1 EAGAIN (Resource temporarily unavailable)\n  hint: the call would block");
}

#[test]
fn connect_ex_gives_0_111_115_and_11() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "2"]);
    // 0: connected.
    let out = run(
        socklab(&["tcp", "client", &server.addr, "--connect-ex", "-m", "a"]),
        b"",
    );
    assert!(
        out.stdout.starts_with("connect_ex -> 0\n"),
        "{}",
        out.dump()
    );
    // 115: a non-blocking connect is under way (then the send waits for it).
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &server.addr,
            "--connect-ex",
            "--nonblocking",
            "-m",
            "b",
        ]),
        b"",
    );
    out.assert_ok();
    assert_eq!(
        out.stdout,
        "fd 3: setblocking(False), gettimeout() -> 0.0\nconnect_ex -> 115 EINPROGRESS (Operation now in progress)\nB\n",
        "{}",
        out.dump()
    );
    server.finish().assert_ok();

    // 111: refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &closed_addr,
            "--connect-ex",
            "--timeout",
            "2",
        ]),
        b"",
    );
    assert!(
        out.stdout.starts_with(
            "fd 3: settimeout(2.0), gettimeout() -> 2.0\nconnect_ex -> 111 ECONNREFUSED"
        ),
        "{}",
        out.dump()
    );

    // 11: the timeout expires during the connect. A loopback listener with
    // backlog 0 that never accepts: once its queue is full, the kernel
    // drops further SYNs and the connect waits.
    let (_queue, port) = harness::bound_tcp(Some(0));
    let addr = format!("127.0.0.1:{port}");
    let mut fillers = Vec::new();
    for _ in 0..2 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(
            &addr.parse().unwrap(),
            std::time::Duration::from_millis(300),
        ) {
            fillers.push(s);
        }
    }
    let out = run(
        socklab(&["tcp", "client", &addr, "--connect-ex", "--timeout", "0.3"]),
        b"",
    );
    assert!(
        out.stdout
            .starts_with("fd 3: settimeout(0.3), gettimeout() -> 0.3\nconnect_ex -> 11 EAGAIN (Resource temporarily unavailable)"),
        "{}",
        out.dump()
    );
}

#[test]
fn send_may_send_less_and_says_so() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1", "-q"]);
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &server.addr,
            "--size",
            "4000000",
            "--send-mode",
            "send",
            "--sockopt",
            "SO_SNDBUF=4096",
            "--nonblocking",
        ]),
        b"",
    );
    out.assert_ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("send: "))
        .unwrap_or_else(|| panic!("{}", out.dump()));
    let sent: usize = line["send: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent > 0 && sent < 4_000_000, "{line}");
    assert!(line.contains("of 4000000 bytes sent"), "{line}");
    assert!(
        out.stdout
            .contains("sockopt SO_SNDBUF on fd 3: requested 4096, effective 8192 (Linux doubles"),
        "{}",
        out.dump()
    );
    let echoed = format!("received {sent} bytes in ");
    assert!(
        out.stdout.contains(&echoed) && out.stdout.contains("the upper-cased message, intact"),
        "{}",
        out.dump()
    );
    server.finish().assert_ok();
}

#[test]
fn sendall_reports_progress_when_the_peer_resets() {
    // The --once server reads one buffer, answers and closes with unread
    // data: the kernel answers the rest with RST.
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once", "-q"]);
    let out = run(
        socklab(&["tcp", "client", &server.addr, "--size", "50000000"]),
        b"",
    );
    out.assert_code(1);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("sendall: "))
        .unwrap_or_else(|| panic!("{}", out.dump()));
    assert!(
        line.ends_with(" of 50000000 bytes went out before the failure"),
        "{line}"
    );
    assert!(
        out.stderr.contains("ECONNRESET (Connection reset by peer)")
            || out.stderr.contains("EPIPE (Broken pipe)"),
        "{}",
        out.dump()
    );
    server.finish().assert_ok();
}
