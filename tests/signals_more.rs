//! Signals beyond tests/errors.rs (issue #8):
//! - SIGINT/SIGTERM/SIGHUP reaching a UNIX server in the middle of a
//!   connection (blocked in recvfrom on it), or waiting in poll
//!   (`--timeout`), or with `--mode`: exit 128+N (killed by the re-raised
//!   signal), the socket file removed.
//! - Programs without a file to clean up (TCP, UDP, clients) die by the
//!   signal's default action: the same 128+N.
//! - Signals that do not stop socklab (SIGSTOP then SIGCONT, SIGWINCH,
//!   SIGCHLD, SIGURG) arriving during blocking calls: the call is restarted
//!   or retried, the server serves on, nothing is reported as a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use common::{Server, TempDir, run, socklab};

fn assert_died_by(out: &common::Outcome, sig: i32) {
    assert_eq!(out.status.signal(), Some(sig), "{}", out.dump());
    common::assert_no_panic(out);
}

#[test]
fn unix_server_mid_connection_or_in_poll_exits_128_plus_n_and_cleans_up() {
    let dir = TempDir::new("sig-mid");
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        for extra in [&[][..], &["--timeout", "30"], &["--mode", "0600"]] {
            let path = dir.path("m.sock");
            let mut args = vec!["unix", "server", path.as_str()];
            args.extend_from_slice(extra);
            let srv = Server::start(&args);
            // A connection that sends one message and then nothing: the
            // server answers and waits in recvfrom (or poll) on it.
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(b"hi").unwrap();
            let mut buf = [0u8; 2];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"HI");
            srv.signal(sig);
            let out = srv.finish();
            assert_died_by(&out, sig);
            assert!(!Path::new(&path).exists(), "{sig} {extra:?}: file left");
        }
    }
}

#[test]
fn programs_without_a_file_die_by_the_signal() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        for args in [
            vec!["tcp", "server", "127.0.0.1:0"],
            vec!["udp", "server", "127.0.0.1:0"],
        ] {
            let srv = Server::start(&args);
            srv.signal(sig);
            assert_died_by(&srv.finish(), sig);
        }
        // A client blocked in recvfrom: a server that never answers.
        let (sink, port) = common::bound_tcp(Some(8));
        let addr = format!("127.0.0.1:{port}");
        let mut c = socklab(&["tcp", "client", &addr])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Its stdin stays open: the client waits for a line; signal it.
        // SAFETY: our child.
        unsafe { libc::kill(c.id() as i32, sig) };
        let _ = c.stdin.take();
        assert_died_by(&common::finish(c), sig);
        drop(sink);
    }
}

#[test]
fn stop_continue_and_harmless_signals_do_not_disturb_a_server() {
    let dir = TempDir::new("sig-harmless");
    let path = dir.path("h.sock");
    for args in [
        vec!["tcp", "server", "127.0.0.1:0", "--max-conns", "2"],
        vec![
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--timeout",
            "30",
        ],
        vec!["unix", "server", path.as_str(), "--max-conns", "2"],
        vec!["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
    ] {
        let srv = Server::start(&args);
        let family = args[0];
        let client = |msg: &str| {
            let mut c = socklab(&[family, "client", &srv.addr, "-m", msg]);
            if family == "udp" {
                c.args(["--timeout", "10"]);
            }
            run(c, b"")
        };
        // Blocked in accept4/recvfrom/poll: stopped, continued, poked.
        for sig in [
            libc::SIGSTOP,
            libc::SIGCONT,
            libc::SIGWINCH,
            libc::SIGCHLD,
            libc::SIGURG,
        ] {
            srv.signal(sig);
        }
        client("one").assert_ok().stdout_has("ONE");
        for sig in [libc::SIGSTOP, libc::SIGCONT, libc::SIGWINCH] {
            srv.signal(sig);
        }
        client("two").assert_ok().stdout_has("TWO");
        let out = srv.finish();
        out.assert_ok();
        assert!(!out.stderr.contains("socklab:"), "{args:?}\n{}", out.dump());
    }
}

/// SIGPIPE and EPIPE on stdout: `socklab demo | head -1` and a usage error
/// whose stderr reader is gone end normally, never with a panic.
#[test]
fn a_closed_stdout_or_stderr_is_no_panic() {
    use std::io::BufRead;
    let mut demo = socklab(&["demo"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("socklab demo"), "{first}");
    // The reader is gone (dropped): every later line meets EPIPE.
    let out = common::finish(demo);
    out.assert_ok();

    let mut bad = socklab(&["tcp", "server", ":99999"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(bad.stderr.take());
    let status = bad.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{status:?}");
}
