//! Issue 18: the datagram server's `--batch N` (recvmmsg, sendmmsg) when a
//! peer does not read its replies: a sendmmsg that sends fewer than asked
//! is followed by one of the rest; the reply that fails alone is that
//! peer's failure (reported, dropped). socklab and its C twin.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Server, TempDir, WATCHDOG, run, socklab};

fn twin_or_socklab(twin: bool, family: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd = if twin {
        let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("c_compat/bin")
            .join(format!("{family}_{role}"));
        assert!(bin.exists(), "c_compat/bin is not built: make c");
        Command::new(bin)
    } else {
        socklab(&[family, role])
    };
    cmd.args(args);
    cmd
}

/// Wait until process `pid` is stopped (state T in /proc/PID/stat).
fn stopped(pid: i32) {
    let deadline = std::time::Instant::now() + WATCHDOG;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
        if state == Some("T") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} never stopped: {stat}"
        );
        std::thread::yield_now();
    }
}

/// The hog's queue holds 5 replies; then, the server stopped (SIGSTOP), the
/// hog sends max_dgram_qlen + 1 more, which one recvmmsg takes at once
/// after SIGCONT; of their replies only the room left fits: sendmmsg
/// returns that many, the server says so and sends the rest, one EAGAIN
/// per reply that does not fit, each reported.
#[test]
fn dgram_server_batch_sends_the_rest_after_a_partial_sendmmsg() {
    let qlen: usize = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let fits = qlen + 1;
    assert!(fits > 6, "max_dgram_qlen {qlen} is too small for this test");
    let dir = TempDir::new("batchpartial");
    for twin in [false, true] {
        let path = dir.path(&format!("b{twin}.sock"));
        let total = (5 + 1 + fits).to_string();
        let srv = Server::start_cmd(twin_or_socklab(
            twin,
            "unix",
            "server",
            &[&path, "--dgram", "--batch", "32", "--max-conns", &total],
        ));
        let hog_path = dir.path(&format!("hog{twin}.sock"));
        let hog = UnixDatagram::bind(&hog_path).unwrap();
        hog.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        for _ in 0..5 {
            hog.send_to(b"a", &path).unwrap();
        }
        // One socket, replies in order: once this reply is back, the
        // hog's five are in its queue.
        let sync = UnixDatagram::bind(dir.path(&format!("sync{twin}.sock"))).unwrap();
        sync.set_read_timeout(Some(WATCHDOG)).unwrap();
        sync.send_to(b"s", &path).unwrap();
        let mut buf = [0u8; 8];
        let n = sync.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"S");
        srv.signal(libc::SIGSTOP);
        // kill(2) returns before the server stops: a datagram sent while
        // it still runs would wake its recvmmsg with fewer than `fits`.
        stopped(srv.pid());
        for i in 0..fits {
            hog.send_to(format!("b{i}").as_bytes(), &path).unwrap();
        }
        srv.signal(libc::SIGCONT);
        let out = srv.finish();
        out.assert_ok();
        let room = fits - 5;
        let line = format!("sendmmsg: {room} of {fits} replies sent; sending the rest");
        assert!(
            out.stdout.contains(&line),
            "twin={twin}: {line}\n{}",
            out.dump()
        );
        let failed: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("sendmmsg") && l.contains("EAGAIN"))
            .collect();
        assert_eq!(
            failed.len(),
            5,
            "twin={twin}: one EAGAIN per reply that did not fit\n{}",
            out.dump()
        );
        assert!(
            out.stdout
                .contains(&format!("batched: {total} datagrams, ")),
            "twin={twin}\n{}",
            out.dump()
        );
        drop(hog);
    }
}

/// `--batch` out of range, with --timeout or --nonblocking, or on a UNIX
/// stream server: usage errors (exit 2), socklab and the C twin.
#[test]
fn batch_usage_errors_exit_2() {
    let dir = TempDir::new("batchusage");
    let path = dir.path("u.sock");
    let cases: [(&str, Vec<&str>); 5] = [
        ("udp", vec!["127.0.0.1:0", "--batch", "0"]),
        ("udp", vec!["127.0.0.1:0", "--batch", "1025"]),
        ("udp", vec!["127.0.0.1:0", "--batch", "4", "--timeout", "1"]),
        ("udp", vec!["127.0.0.1:0", "--batch", "4", "--nonblocking"]),
        ("unix", vec![path.as_str(), "--batch", "4"]),
    ];
    for twin in [false, true] {
        for (family, args) in &cases {
            let out = run(twin_or_socklab(twin, family, "server", args), b"");
            assert_eq!(out.code(), Some(2), "twin={twin} {args:?}\n{}", out.dump());
        }
    }
}
