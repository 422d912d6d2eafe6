//! The clients at the edges (issue 12): a message longer than the buffers
//! between client and server, stdin without newlines, and a server that
//! sends terminal escape sequences (sizes that cannot be allocated:
//! allocation.rs).

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::process::Command;

use crate::harness::{self, Server, TempDir, run, socklab};

/// A client's `--size 16777216` against socklab's own server: before, both
/// sat in `sendto` forever (the client sent all before reading, the server's
/// echo filled the client's receive buffer); now the client reads while it
/// sends, and the whole echo comes back intact.
fn size_16_mib_completes(family: &str, addr_arg: &str) {
    let server = Server::start(&[family, "server", addr_arg, "--max-conns", "1", "-q"]);
    let client = run(
        socklab(&[family, "client", &server.addr, "--size", "16777216"]),
        b"",
    );
    client.assert_ok();
    client.stdout_has("received 16777216 bytes in ");
    client.stdout_has("the upper-cased message, intact");
    server.finish().assert_ok();
}

#[test]
fn tcp_client_size_16_mib_completes_against_socklabs_server() {
    size_16_mib_completes("tcp", "127.0.0.1:0");
}

#[test]
fn unix_client_size_16_mib_completes_against_socklabs_server() {
    let dir = TempDir::new("big");
    size_16_mib_completes("unix", &dir.path("s.sock"));
}

/// The C twins (c_compat/) make the same calls for a long message:
/// `send(MSG_DONTWAIT)`, `poll(POLLIN|POLLOUT)`, `recvfrom`; they too
/// complete 16 MiB against socklab's server.
#[test]
fn c_twin_clients_size_16_mib_complete_against_socklabs_server() {
    let bin = c_bin();
    let dir = TempDir::new("bigc");
    for (family, addr_arg) in [
        ("tcp", "127.0.0.1:0".to_string()),
        ("unix", dir.path("s.sock")),
    ] {
        let server = Server::start(&[family, "server", &addr_arg, "--max-conns", "1", "-q"]);
        let mut cmd = Command::new(bin.join(format!("{family}_client")));
        cmd.args([server.addr.as_str(), "--size", "16777216"]);
        let client = run(cmd, b"");
        client.assert_ok();
        client.stdout_has("received 16777216 bytes in ");
        client.stdout_has("the upper-cased message, intact");
        server.finish().assert_ok();
    }
}

/// The trace of a long message shows how it went: `sendto` with
/// MSG_DONTWAIT (what fits), `poll` on both directions, `recvfrom`.
#[test]
fn tcp_client_long_message_trace_shows_dontwait_and_poll() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1", "-q"]);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--size",
            "16777216",
        ]),
        b"",
    );
    client.assert_ok();
    // The send buffer never holds 16 MiB (tcp_wmem's maximum is 4 MiB).
    client.stderr_has(
        "sendto(3, \"abcdefghijklmnopqrstuvwxyzabcdef\"..., 16777216, MSG_DONTWAIT, NULL, 0) = ",
    );
    client.stderr_has("poll([{fd=3, events=POLLIN|POLLOUT}], 1, -1) = 1 ([{fd=3, revents=");
    client.stdout_has("received 16777216 bytes in ");
    server.finish().assert_ok();
}

/// `--lines` sends every line before reading the replies: 18 MB of lines
/// (300 of 60,000 bytes, under the 64 KiB line limit) against a `--lines`
/// server deadlocked the same way; now every reply comes back, in order.
#[test]
fn tcp_client_lines_longer_than_the_buffers_complete() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--lines",
        "--max-conns",
        "1",
    ]);
    let mut input = Vec::new();
    for i in 0..300 {
        input.extend_from_slice(format!("l{i:05}").as_bytes());
        input.extend_from_slice(&[b'x'; 59_994]);
        input.push(b'\n');
    }
    let client = run(socklab(&["tcp", "client", &server.addr, "--lines"]), &input);
    client.assert_ok();
    let replies: Vec<&str> = client
        .stdout
        .lines()
        .filter(|l| l.starts_with('L'))
        .collect();
    assert_eq!(
        replies.len(),
        300,
        "{}",
        &client.stdout[..client.stdout.len().min(2000)]
    );
    assert!(replies[0].starts_with("L00000XXX") && replies[0].len() == 60_000);
    assert!(replies[299].starts_with("L00299XXX") && replies[299].len() == 60_000);
    server.finish().assert_ok();
}

/// stdin without a newline (`< /dev/zero`) made the client's line grow to
/// gigabytes; now a line is at most 64 KiB (the `--lines` buffer's limit)
/// and a longer one is an error, exit 1, at once.
#[test]
fn tcp_client_refuses_a_stdin_line_over_64_kib() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1", "-q"]);
    let zeros = vec![0u8; 1 << 20];
    let client = run(socklab(&["tcp", "client", &server.addr]), &zeros);
    client.assert_code(1);
    client.stderr_has("socklab: a stdin line longer than 65536 bytes");
    server.finish().assert_ok();
    // The C twin the same way.
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1", "-q"]);
    let mut twin = Command::new(c_bin().join("tcp_client"));
    twin.arg(&server.addr);
    let client = run(twin, &zeros);
    client.assert_code(1);
    client.stderr_has("tcp_client: a stdin line longer than 65536 bytes");
    server.finish().assert_ok();
    // A line of exactly 64 KiB still goes.
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1", "-q"]);
    let mut line = vec![b'x'; 65536];
    line.push(b'\n');
    let client = run(socklab(&["tcp", "client", &server.addr]), &line);
    client.assert_ok();
    server.finish().assert_ok();
}

/// The C twins, built (`make c`).
pub(super) fn c_bin() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("c_compat/bin");
    assert!(
        bin.join("tcp_client").exists(),
        "c_compat/bin is not built: make c"
    );
    bin
}

/// A test-made TCP server that reads one message and answers with a
/// terminal title change and a screen clear; returns its address.
fn hostile_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let _ = conn.read(&mut buf).unwrap();
        conn.write_all(b"\x1b]0;pwned\x07\x1b[2J").unwrap();
    });
    (addr, handle)
}

/// Run `socklab ARGS` with its stdout on a pseudo-terminal; returns what
/// the terminal got and the exit status.
fn on_a_terminal(args: &[&str]) -> (Vec<u8>, harness::Outcome) {
    harness::on_a_terminal(socklab(args))
}

/// A server's bytes printed raw could retitle and clear the user's
/// terminal. On a terminal the client now shows control characters escaped
/// as the trace does; `--raw` prints them as they came; and stdout that is
/// not a terminal gets them raw (as the C twins print).
#[test]
fn tcp_client_on_a_terminal_shows_a_servers_escape_sequences_escaped() {
    let (addr, server) = hostile_server();
    let (tty, out) = on_a_terminal(&["tcp", "client", &addr, "-m", "hi"]);
    server.join().unwrap();
    out.assert_ok();
    let shown = String::from_utf8_lossy(&tty);
    assert!(shown.contains("\\33]0;pwned\\7\\33[2J"), "{shown:?}");
    assert!(
        !tty.contains(&0x1b),
        "a raw ESC reached the terminal: {shown:?}"
    );

    let (addr, server) = hostile_server();
    let (tty, out) = on_a_terminal(&["tcp", "client", &addr, "-m", "hi", "--raw"]);
    server.join().unwrap();
    out.assert_ok();
    let raw = b"\x1b]0;pwned\x07\x1b[2J";
    assert!(
        tty.windows(raw.len()).any(|w| w == raw),
        "{:?}",
        String::from_utf8_lossy(&tty)
    );

    let (addr, server) = hostile_server();
    let out = run(socklab(&["tcp", "client", &addr, "-m", "hi"]), b"");
    server.join().unwrap();
    out.assert_ok();
    assert_eq!(out.stdout, "\x1b]0;pwned\x07\x1b[2J\n");
}

/// `bench rr` and `bench connect` send a request before reading its echo:
/// 16 MiB requests deadlocked with socklab's server as the clients did;
/// now they complete.
#[test]
fn bench_rr_and_connect_with_16_mib_requests_complete() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "3", "-q"]);
    let out = run(
        socklab(&[
            "bench",
            "rr",
            &server.addr,
            "--size",
            "16777216",
            "--count",
            "2",
        ]),
        b"",
    );
    out.assert_ok();
    out.stdout_has("2 transactions in ");
    let out = run(
        socklab(&[
            "bench",
            "connect",
            &server.addr,
            "--size",
            "16777216",
            "--count",
            "2",
        ]),
        b"",
    );
    out.assert_ok();
    out.stdout_has("2 connections in ");
    server.finish().assert_ok();
}

#[test]
fn udp_client_names_shows_the_address_the_first_sendto_bound() {
    let server = harness::Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let out = harness::run(
        harness::socklab(&[
            "--trace",
            "udp",
            "client",
            &server.addr,
            "--names",
            "-m",
            "a",
            "-m",
            "b",
        ]),
        b"",
    );
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("fd 3: local 0.0.0.0:")
            && lines[0].ends_with(" (bound by the first sendto)"),
        "{}",
        out.dump()
    );
    assert_eq!(&lines[1..], ["A", "B"], "{}", out.dump());
    // One getsockname, right after the first sendto.
    let calls: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("# "))
        .filter_map(|l| l.split('(').next())
        .collect();
    assert_eq!(
        calls,
        [
            "socket",
            "sendto",
            "getsockname",
            "recvfrom",
            "sendto",
            "recvfrom",
            "close",
            "exit_group",
            "+++ exited with 0 +++"
        ],
        "{}",
        out.dump()
    );
}

#[test]
fn bufsize_0_server_makes_one_zero_length_recv_and_says_it_is_not_eof() {
    let server = harness::Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--once",
        "--bufsize",
        "0",
        "--backlog",
        "-1",
    ]);
    // recv(fd, "", 0) on TCP waits for data (or a FIN), then returns 0
    // and leaves the data queued.
    let mut peer = std::net::TcpStream::connect(&server.addr).unwrap();
    std::io::Write::write_all(&mut peer, b"hi").unwrap();
    let out = server.finish();
    drop(peer);
    out.assert_ok();
    out.stderr_has("listen(3, -1) = 0\n");
    out.stderr_has("recvfrom(4, \"\", 0, 0, NULL, NULL) = 0\n");
    assert!(
        out.stdout.contains(
            ": recv with --bufsize 0 returned 0, as a zero-length recv always does (not an end of file); closing the connection\n"
        ),
        "{}",
        out.dump()
    );
    assert!(!out.stdout.contains(" closed\n"), "{}", out.dump());
}
