//! `--model uring` (issue 18): the io_uring event loop under many
//! clients, a slow reader, --max-conns and --once, its --trace lines for
//! the operations that went through the rings, io_uring refused.

use super::*;
use crate::harness;

#[test]
fn tcp_server_model_uring_many_clients() {
    check_model("uring", &["tcp", "server", "127.0.0.1:0"], 11);
}

#[test]
fn unix_server_model_uring_many_clients() {
    let dir = TempDir::new("model-uring");
    let path = dir.path("s.sock");
    check_model("uring", &["unix", "server", &path], 12);
    assert!(!Path::new(&path).exists(), "socket file left behind");
}

#[test]
fn tcp_server_model_uring_slow_reader_does_not_stall_others() {
    super::behaviour::slow_reader("uring");
}

/// --max-conns 5: five connections (single-shot ACCEPTs), each echoed and
/// closed, exit 0; --once: one connection, one echo, exit 0.
#[test]
fn tcp_server_model_uring_max_conns_and_once() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "uring",
        "--max-conns",
        "5",
    ]);
    for i in 0..5 {
        let msg = format!("m{i}");
        harness::run(socklab(&["tcp", "client", &server.addr, "-m", &msg]), b"")
            .assert_ok()
            .stdout_has(&msg.to_uppercase());
    }
    let out = server.finish();
    out.assert_ok();
    assert_eq!(
        out.stdout.matches("connection from").count(),
        5,
        "{}",
        out.dump()
    );
    assert_eq!(out.stdout.matches(" closed").count(), 5, "{}", out.dump());

    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--model", "uring", "--once"]);
    harness::run(socklab(&["tcp", "client", &server.addr, "-m", "hi"]), b"")
        .assert_ok()
        .stdout_has("HI");
    server.finish().assert_ok().stdout_has("from ");
}

/// --trace: each io_uring_enter, and under it the SQEs it submitted and
/// the CQEs reaped (what strace cannot show); the same stdout lines as
/// the epoll model.
#[test]
fn tcp_server_model_uring_trace_shows_the_ring_operations() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "uring",
        "--max-conns",
        "1",
        "--trace",
    ]);
    harness::run(
        socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    let out = server.finish();
    out.assert_ok()
        .stdout_has("connection from 127.0.0.1:")
        .stdout_has(": 5 bytes \"hello\"")
        .stdout_has(" closed")
        .stderr_has("io_uring_setup(1024, {flags=0, ")
        .stderr_has(", IORING_REGISTER_PBUF_RING, {ring_addr=0x")
        .stderr_has("io_uring_enter(")
        .stderr_has(", IORING_ENTER_GETEVENTS, NULL, 0) = ")
        .stderr_has("\n  sqe ACCEPT(fd=3) user_data=0x100000003\n")
        .stderr_has(", buf_group=0, multishot, limit=")
        .stderr_has(", \"HELLO\", 5) user_data=0x3")
        .stderr_has(" res=5 flags=F_BUFFER|F_MORE (buf 0)\n");
    // Each ring line comes after an io_uring_enter line.
    let lines: Vec<&str> = out.stderr.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("  sqe ") || l.starts_with("  cqe ") {
            let above = lines[..i]
                .iter()
                .rev()
                .find(|p| !p.starts_with("  "))
                .unwrap();
            assert!(above.starts_with("io_uring_enter("), "{l} under {above}");
        }
    }
}

/// io_uring refused (strace injects EPERM into io_uring_setup, as
/// kernel.io_uring_disabled=2 or a seccomp filter would): one error line
/// and its hint, exit 1, no fallback, no `listening on`.
#[test]
fn tcp_server_model_uring_unavailable_is_one_line_and_exit_1() {
    if !harness::have("strace") {
        return;
    }
    let cmd = harness::injected(
        "io_uring_setup:error=EPERM",
        &["tcp", "server", "127.0.0.1:0", "--model", "uring"],
    );
    let out = harness::run(cmd, b"");
    out.assert_code(1)
        .stderr_has("socklab: io_uring_setup(1024, {flags=0, sq_thread_cpu=0, sq_thread_idle=0}) = -1 EPERM")
        .stderr_has("\n  hint: io_uring is not available here")
        .stderr_has("kernel.io_uring_disabled");
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.dump());
    assert!(!out.stdout.contains("listening on"), "{}", out.dump());
}

#[test]
fn tcp_server_model_uring_bufsize_0_is_a_usage_error() {
    harness::run(
        socklab(&[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            "uring",
            "--bufsize",
            "0",
        ]),
        b"",
    )
    .assert_code(2)
    .stderr_has("--model uring: --bufsize 0");
}

/// Peer isolation with a small pool (256 buffers of 1 KiB): a client that
/// sends without reading holds at most 2 buffers (its multishot RECV has a
/// byte limit of 2 x --bufsize and is re-armed only once they are sent),
/// not the pool: the others are answered, and the trace shows the hog's
/// received-but-unsent buffers stayed few.
#[test]
fn tcp_server_model_uring_hog_does_not_take_the_buffer_pool() {
    let dir = TempDir::new("uring-hog");
    let trace = dir.path("trace");
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "uring",
        "--bufsize",
        "1024",
        "--trace-file",
        &trace,
    ]);
    let hog = TcpStream::connect(&server.addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut w = hog.try_clone().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let stuck = (0..16).any(|_| w.write_all(&chunk).is_err());
    assert!(stuck, "16 MiB went out to a server that must stop reading");
    let mut other = TcpStream::connect(&server.addr).unwrap();
    other.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    for _ in 0..300 {
        other.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        other.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"PING");
    }
    drop(other);
    server.signal(libc::SIGTERM);
    harness::assert_no_panic(&server.finish());
    drop(w);
    drop(hog);
    let text = std::fs::read_to_string(&trace).unwrap();
    // The hog: the first accepted fd.
    let fd: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("  cqe user_data=0x1000000"))
        .and_then(|r| r.split(" res=").nth(1))
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let count = |kind: u64| {
        let tag = format!("  cqe user_data={:#x} res=", (kind << 32) | fd);
        text.lines()
            .filter(|l| l.starts_with(&tag) && !l.contains("res=-"))
            .count()
    };
    let (received, sent) = (count(2), count(3));
    assert!(received > 100, "the hog's data was read: {received}");
    assert!(
        received <= sent + 4,
        "the hog holds {} buffers (received {received}, sends completed {sent})",
        received.saturating_sub(sent)
    );
}
