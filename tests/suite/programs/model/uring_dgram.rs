//! The datagram server's `--model uring` (issue 18): the same lines as the
//! iterative model, UDP and UNIX datagram; one io_uring_enter for a whole
//! batch of replies; its --trace ring lines; what it refuses; io_uring
//! refused.

use super::*;
use crate::harness::{self, blocked_in};

/// --max-conns 3: two clients (one sends an empty datagram), each reply
/// upper-cased; the same stdout lines as `--model iterative`; exit 0.
#[test]
fn udp_server_model_uring_answers_as_iterative() {
    let mut outs = Vec::new();
    for model in ["iterative", "uring"] {
        let server = Server::start(&[
            "udp",
            "server",
            "127.0.0.1:0",
            "--model",
            model,
            "--max-conns",
            "3",
        ]);
        harness::run(
            socklab(&["udp", "client", &server.addr, "--bind", "127.0.0.1:0"]),
            b"hello\n\n",
        )
        .assert_ok()
        .stdout_has("HELLO\n(an empty datagram from ");
        harness::run(
            socklab(&["udp", "client", &server.addr, "-m", "world"]),
            b"",
        )
        .assert_ok()
        .stdout_has("WORLD");
        let addr = server.addr.clone();
        let out = server.finish();
        out.assert_ok();
        // The clients' ports differ from run to run.
        let lines: Vec<String> = out
            .stdout
            .replace(&addr, "SERVER")
            .lines()
            .map(|l| match l.split_once(": ") {
                Some((from, rest)) if from.starts_with("datagram from ") => {
                    format!("datagram from PEER: {rest}")
                }
                _ => l.to_string(),
            })
            .collect();
        outs.push(lines);
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[1].len(), 4, "{:?}", outs[1]);
}

/// A UNIX datagram server with --model uring --once: one datagram, the
/// reply, exit 0, the socket file removed.
#[test]
fn unix_server_dgram_model_uring_once() {
    let dir = TempDir::new("uring-dgram");
    let path = dir.path("d.sock");
    let server = Server::start(&[
        "unix", "server", "--dgram", &path, "--model", "uring", "--once",
    ]);
    harness::run(
        socklab(&["unix", "client", "--dgram", &path, "-m", "hi"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HI");
    server
        .finish()
        .assert_ok()
        .stdout_has("datagram from @")
        .stdout_has(": 2 bytes \"hi\"");
    assert!(!Path::new(&path).exists(), "socket file left behind");
}

/// 50 datagrams that arrive while the server is stopped: one
/// io_uring_enter reaps them all (50 RECVMSG CQEs), the next submits the
/// 50 SENDMSG replies at once; no recvfrom or sendto. Each ring line sits
/// under an io_uring_enter line.
#[test]
fn udp_server_model_uring_one_enter_per_batch() {
    let server = Server::start(&[
        "udp",
        "server",
        "127.0.0.1:0",
        "--model",
        "uring",
        "--max-conns",
        "50",
        "--trace",
    ]);
    let pid = server.pid();
    blocked_in(pid, libc::SYS_io_uring_enter);
    server.signal(libc::SIGSTOP);
    let deadline = Instant::now() + harness::WATCHDOG;
    while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default()
        .contains(") T ")
    {
        assert!(Instant::now() < deadline, "the server never stopped");
        std::thread::sleep(Duration::from_millis(1));
    }
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    for i in 0..50 {
        s.send_to(format!("m{i}").as_bytes(), &server.addr).unwrap();
    }
    server.signal(libc::SIGCONT);
    let mut got = Vec::new();
    for _ in 0..50 {
        let mut b = [0u8; 16];
        let n = s.recv(&mut b).unwrap();
        got.push(String::from_utf8_lossy(&b[..n]).into_owned());
    }
    let want: Vec<String> = (0..50).map(|i| format!("M{i}")).collect();
    assert_eq!(got, want);
    let out = server.finish();
    out.assert_ok()
        .stderr_has("\n  sqe RECVMSG(fd=3, {msg_namelen=128}, buf_group=0, multishot) user_data=0x200000003\n")
        .stderr_has("msg_iov=[{iov_base=\"M49\", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) user_data=0x3000000")
        .stderr_has(" res=") ;
    let enters: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("io_uring_enter("))
        .collect();
    assert!(
        enters
            .iter()
            .any(|l| l.starts_with("io_uring_enter(4, 51, 1, ")),
        "50 replies and the cancel in one io_uring_enter: {enters:?}"
    );
    assert!(enters.len() <= 3, "{enters:?}");
    assert!(!out.stderr.contains("recvfrom(") && !out.stderr.contains("sendto("));
    let lines: Vec<&str> = out.stderr.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("  sqe ") || l.starts_with("  cqe ") {
            let above = lines[..i].iter().rev().find(|p| !p.starts_with("  "));
            assert!(
                above.is_some_and(|a| a.starts_with("io_uring_enter(")),
                "{l} under {above:?}"
            );
        }
    }
}

/// What the ring cannot honour is a usage error (exit 2, one line); the
/// C twin refuses --recv-flags too.
#[test]
fn udp_server_model_uring_usage_errors() {
    for (args, text) in [
        (vec!["--timeout", "2"], "drop --timeout/--nonblocking"),
        (vec!["--nonblocking"], "drop --timeout/--nonblocking"),
        (vec!["--recv-flags", "MSG_TRUNC"], "takes no --recv-flags"),
    ] {
        let mut all = vec!["udp", "server", "127.0.0.1:0", "--model", "uring"];
        all.extend(args);
        let out = harness::run(socklab(&all), b"");
        out.assert_code(2).stderr_has(text);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.dump());
    }
}

/// io_uring refused (strace injects EPERM into io_uring_setup): one error
/// line and its hint, exit 1, no `listening on`.
#[test]
fn udp_server_model_uring_unavailable_is_one_line_and_exit_1() {
    if !harness::have("strace") {
        return;
    }
    let cmd = harness::injected(
        "io_uring_setup:error=EPERM",
        &["udp", "server", "127.0.0.1:0", "--model", "uring"],
    );
    let out = harness::run(cmd, b"");
    out.assert_code(1)
        .stderr_has("socklab: io_uring_setup(1024, {flags=0, sq_thread_cpu=0, sq_thread_idle=0}) = -1 EPERM")
        .stderr_has("\n  hint: io_uring is not available here");
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.dump());
    assert!(!out.stdout.contains("listening on"), "{}", out.dump());
}

/// A UNIX peer that sends 30 datagrams and never reads: its queue fills,
/// the later replies fail with EAGAIN (SENDMSG with MSG_DONTWAIT, reported
/// one by one), and the server never waits for it: the next client is
/// answered, and the server ends after its 31 datagrams.
#[test]
fn unix_server_dgram_model_uring_full_peer_gets_eagain_not_a_wait() {
    let dir = TempDir::new("uring-dgram-full");
    let path = dir.path("d.sock");
    let server = Server::start(&[
        "unix",
        "server",
        "--dgram",
        &path,
        "--model",
        "uring",
        "-q",
        "--max-conns",
        "31",
    ]);
    let hog = std::os::unix::net::UnixDatagram::bind(dir.path("hog")).unwrap();
    for i in 0..30 {
        hog.send_to(format!("x{i}").as_bytes(), &path).unwrap();
    }
    let other = std::os::unix::net::UnixDatagram::bind(dir.path("other")).unwrap();
    other.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    other.send_to(b"hi", &path).unwrap();
    let mut b = [0u8; 8];
    let n = other.recv(&mut b).unwrap();
    assert_eq!(&b[..n], b"HI");
    let out = server.finish();
    out.assert_ok()
        .stderr_has("socklab: io_uring SENDMSG(fd=3) to ")
        .stderr_has("/hog = -1 EAGAIN (Resource temporarily unavailable)");
    let failed = out.stderr.matches(" = -1 EAGAIN").count();
    assert!((1..30).contains(&failed), "{failed}\n{}", out.dump());
    drop(hog);
}
