//! Issue 15: the clients' `--no-reply`, `--bind`, `--send-flags` and
//! `--recv-flags`, socklab and its C twins (the strace tests check the
//! lines against strace: `strace::flags`).

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::Read;
use std::process::Command;

use crate::harness::{Server, TempDir, WATCHDOG, run, socklab};

/// socklab's client or its C twin (`c_compat/bin`).
fn client(twin: bool, family: &str, args: &[&str]) -> Command {
    let mut cmd = if twin {
        let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("c_compat/bin")
            .join(format!("{family}_client"));
        assert!(bin.exists(), "c_compat/bin is not built: make c");
        Command::new(bin)
    } else {
        socklab(&[family, "client"])
    };
    cmd.args(args);
    cmd
}

/// `nc -l` as a peer: a listener of the test's own that reads to the end
/// and never answers. `--no-reply` sends its messages, makes no recvfrom,
/// closes; the peer got every byte (before: the client waited for a reply
/// that never came).
#[test]
fn no_reply_sends_to_a_peer_that_never_answers() {
    for twin in [false, true] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let reader = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(WATCHDOG)).unwrap();
            let mut got = Vec::new();
            conn.read_to_end(&mut got).unwrap();
            got
        });
        let out = run(
            client(
                twin,
                "tcp",
                &[&addr, "--no-reply", "-m", "one", "-m", "two"],
            ),
            b"",
        );
        out.assert_ok();
        assert_eq!(out.stdout, "", "twin {twin}: {}", out.dump());
        assert_eq!(reader.join().unwrap(), b"onetwo", "twin {twin}");

        // UDP: the datagrams arrive, no recvfrom waits for an answer.
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(WATCHDOG)).unwrap();
        let addr = peer.local_addr().unwrap().to_string();
        let out = run(
            client(
                twin,
                "udp",
                &[&addr, "--no-reply", "-m", "hi", "-m", "there"],
            ),
            b"",
        );
        out.assert_ok();
        let mut buf = [0u8; 64];
        for want in [&b"hi"[..], b"there"] {
            let n = peer.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], want, "twin {twin}");
        }

        // UNIX datagram: the same, from the client's autobind address.
        let dir = TempDir::new("noreply");
        let path = dir.path("peer.sock");
        let peer = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        peer.set_read_timeout(Some(WATCHDOG)).unwrap();
        let out = run(
            client(twin, "unix", &[&path, "--dgram", "--no-reply", "-m", "x"]),
            b"",
        );
        out.assert_ok();
        let n = peer.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"x", "twin {twin}");
    }
}

/// `--bind 127.0.0.1:0` binds before connect: the peer sees the
/// connection come from 127.0.0.1; `--bind` of a port already taken is
/// the kernel's EADDRINUSE on bind, exit 1, before any connect.
#[test]
fn bind_before_connect() {
    for twin in [false, true] {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap().to_string();
        let out = run(
            client(
                twin,
                "tcp",
                &[&taken_addr, "--bind", &taken_addr, "-m", "x"],
            ),
            b"",
        );
        out.assert_code(1);
        assert!(
            out.stderr.contains("EADDRINUSE"),
            "twin {twin}: {}",
            out.dump()
        );
        let out = run(
            socklab(&[
                "--trace",
                "tcp",
                "client",
                &taken_addr,
                "--bind",
                &taken_addr,
                "-m",
                "x",
            ]),
            b"",
        );
        assert!(!out.stderr.contains("connect("), "{}", out.dump());
        assert!(out.stderr.contains("bind(3, "), "{}", out.dump());
    }
}

/// A successful `--bind` seen from the peer's side: the connection the
/// listener accepts comes from the bound address and port (127.0.0.2 and
/// a port the kernel picked for the test, freed just before), not from
/// what connect would have picked (127.0.0.1, an ephemeral port).
#[test]
fn bind_before_connect_is_the_source_the_peer_sees() {
    for twin in [false, true] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = listener.local_addr().unwrap().to_string();
        let port = std::net::TcpListener::bind("127.0.0.2:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let from = format!("127.0.0.2:{port}");
        let peer = std::thread::spawn(move || {
            let (mut conn, addr) = listener.accept().unwrap();
            let mut got = Vec::new();
            conn.read_to_end(&mut got).unwrap();
            (addr.to_string(), got)
        });
        let out = run(
            client(
                twin,
                "tcp",
                &[&at, "--bind", &from, "--no-reply", "-m", "x"],
            ),
            b"",
        );
        out.assert_ok();
        let (addr, got) = peer.join().unwrap();
        assert_eq!(addr, from, "twin {twin}: {}", out.dump());
        assert_eq!(got, b"x", "twin {twin}");
    }
}

/// A flag name that is not one of the seven is a usage error (exit 2) that
/// lists the valid ones; a datagram server refuses MSG_PEEK; no call made.
#[test]
fn unknown_flag_names_are_usage_errors_listing_the_valid_ones() {
    for twin in [false, true] {
        for opt in ["--send-flags", "--recv-flags"] {
            let out = run(
                client(twin, "udp", &["127.0.0.1:9", opt, "MSG_PEEK|MSG_NOPE"]),
                b"",
            );
            out.assert_code(2);
            assert!(
                out.stderr.contains("'MSG_NOPE' is not a flag: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_OOB, MSG_MORE, MSG_NOSIGNAL, MSG_TRUNC"),
                "twin {twin}: {}",
                out.dump()
            );
        }
    }
    let out = run(
        socklab(&["udp", "server", "127.0.0.1:0", "--recv-flags", "MSG_PEEK"]),
        b"",
    );
    out.assert_code(2)
        .stderr_has("MSG_PEEK leaves the datagram queued");
    let dir = TempDir::new("flagsusage");
    let path = dir.path("s.sock");
    let out = run(
        socklab(&["unix", "server", &path, "--recv-flags", "MSG_TRUNC"]),
        b"",
    );
    out.assert_code(2).stderr_has("--dgram");
}

/// `--help` says what each new option does.
#[test]
fn help_explains_the_client_options() {
    let out = run(socklab(&["tcp", "client", "--help"]), b"");
    out.assert_ok();
    for text in [
        "--no-reply",
        "read nothing back (no recvfrom)",
        "--bind <ADDR>",
        "as Stevens' `sock -b`",
        "--send-flags <FLAGS>",
        "MSG_NOSIGNAL (EPIPE without SIGPIPE)",
        "--recv-flags <FLAGS>",
        "the bytes show twice",
        "MSG_DONTWAIT (-1 EAGAIN when nothing is there yet)",
    ] {
        assert!(
            out.stdout.contains(text),
            "--help lacks {text:?}: {}",
            out.stdout
        );
    }
    let out = run(socklab(&["udp", "server", "--help"]), b"");
    out.assert_ok()
        .stdout_has("MSG_TRUNC (the datagram's real length");
}

/// UDP takes --recv-flags MSG_OOB and reads the datagram as without it
/// (measured: recvfrom returns the reply); each help says so per type.
#[test]
fn udp_recv_msg_oob_is_ignored_and_the_help_says_which_socket_does_what() {
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let out = run(
        socklab(&[
            "--trace",
            "udp",
            "client",
            &server.addr,
            "--recv-flags",
            "MSG_OOB",
            "-m",
            "hi",
        ]),
        b"",
    );
    out.assert_ok()
        .stderr_has("recvfrom(3, \"HI\", 1024, MSG_OOB, ")
        .stdout_has("HI\n");
    server.finish().assert_ok();
    for (cmd, text) in [
        (
            "client",
            "UDP ignores it and reads the datagram as without it; a UNIX datagram socket fails with EOPNOTSUPP",
        ),
        (
            "server",
            "MSG_OOB (UDP ignores it and reads the datagram as without it; a UNIX datagram socket fails with EOPNOTSUPP",
        ),
    ] {
        let help = run(socklab(&["udp", cmd, "--help"]), b"");
        let flat = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(text),
            "udp {cmd} --help lacks {text:?}: {flat}"
        );
    }
}
