//! Server models under load: a slow reader, pools that stop, --once, UDP, usage errors.

use super::*;
use crate::harness;

/// A client that sends 16 MiB and never reads: its connection's output
/// backs up, the server stops reading it, and the others are served all
/// the same; when it goes away (RST: unread data), the server reports the
/// failed call and goes on.
pub(super) fn slow_reader(model: &str) {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--backlog",
        "64",
    ]);
    let addr = server.addr.clone();
    let hog = TcpStream::connect(&addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut w = hog.try_clone().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut stuck = false;
    for _ in 0..16 {
        if w.write_all(&chunk).is_err() {
            stuck = true; // the buffers are full: the server reads no more
            break;
        }
    }
    assert!(stuck, "16 MiB went out to a server that must stop reading");
    // Others are served while the hog is stuck.
    many_clients(&addr, 77);
    let mut other = TcpStream::connect(&addr).unwrap();
    other.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    for _ in 0..100 {
        other.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        other.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"PING");
    }
    drop(w);
    drop(hog);
    // The server goes on after the hog's reset.
    let mut again = TcpStream::connect(&addr).unwrap();
    again.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    again.write_all(b"after").unwrap();
    let mut b = [0u8; 5];
    again.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"AFTER");
    drop(other);
    drop(again);
    server.signal(libc::SIGTERM);
    let out = server.finish();
    harness::assert_no_panic(&out);
    out.stdout_has("from 127.0.0.1:");
}

#[test]
fn tcp_server_model_epoll_slow_reader_does_not_stall_others() {
    slow_reader("epoll");
}

#[test]
fn tcp_server_model_poll_slow_reader_does_not_stall_others() {
    slow_reader("poll");
}

/// --max-conns counts connections across a pool's workers; the server
/// exits 0 after the last one.
#[test]
fn tcp_server_model_pools_stop_after_max_conns() {
    for model in [
        "prefork:3",
        "prethread:3",
        "fork",
        "thread",
        "epoll",
        "poll",
    ] {
        let server = Server::start(&[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            model,
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
            "{model}\n{}",
            out.dump()
        );
        assert_eq!(
            out.stdout.matches(" closed").count(),
            5,
            "{model}\n{}",
            out.dump()
        );
    }
}

/// --once in every model: one connection, one recv, one reply, exit 0.
#[test]
fn tcp_server_model_once() {
    for model in [
        "fork",
        "thread",
        "prefork:2",
        "prethread:2",
        "poll",
        "epoll",
    ] {
        let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--model", model, "--once"]);
        harness::run(socklab(&["tcp", "client", &server.addr, "-m", "hi"]), b"")
            .assert_ok()
            .stdout_has("HI");
        server.finish().assert_ok().stdout_has("from ");
    }
}

/// The UDP server's epoll model answers as the iterative one does.
#[test]
fn udp_server_model_epoll() {
    let server = Server::start(&[
        "udp",
        "server",
        "127.0.0.1:0",
        "--model",
        "epoll",
        "--max-conns",
        "2",
    ]);
    harness::run(
        socklab(&["udp", "client", &server.addr, "-m", "one", "-m", "two"]),
        b"",
    )
    .assert_ok()
    .stdout_has("ONE")
    .stdout_has("TWO");
    server.finish().assert_ok().stdout_has("datagram from");
}

/// Bad models are usage errors (exit 2, one line) before any syscall.
#[test]
fn tcp_server_model_usage_errors() {
    for (args, text) in [
        (vec!["--model", "prefork"], "needs a pool size"),
        (vec!["--model", "prefork:0"], "from 1 to"),
        (vec!["--model", "prethread:x"], "from 1 to"),
        (vec!["--model", "select"], "is not a model"),
        (
            vec!["--model", "epoll", "--nonblocking"],
            "non-blocking already",
        ),
        (vec!["--model", "poll", "--lines"], "blocking model"),
    ] {
        let mut all = vec!["tcp", "server", "127.0.0.1:0"];
        all.extend(args);
        let out = harness::run(socklab(&all), b"");
        out.assert_code(2).stderr_has(text);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.dump());
    }
    harness::run(
        socklab(&["udp", "server", "127.0.0.1:0", "--model", "fork"]),
        b"",
    )
    .assert_code(2)
    .stderr_has("iterative, epoll or uring");
}
