//! Cross-interop: each socklab client against each C server (`c_compat/`)
//! and each C client against each socklab server, on every family and
//! type; the bytes that come back and what the server printed are checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::harness::cmp;

use crate::harness::cmp::Side;
use crate::harness::{self, Server, TempDir};

/// One pairing: `client_side`'s client against `server_side`'s server.
fn pair(
    server_side: Side,
    client_side: Side,
    (server_prog, client_prog): (&str, &str),
    server_args: &[&str],
    client_args: &[&str],
) {
    let to_strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let server = Server::start_cmd(cmp::program(
        server_side,
        server_prog,
        &to_strings(server_args),
    ));
    let mut args = vec![server.addr.clone()];
    args.extend(to_strings(client_args));
    args.extend(to_strings(&["-m", "hello", "-m", "wor\tld"]));
    let client = harness::run(cmp::program(client_side, client_prog, &args), b"");
    let srv = server.finish();
    let what = format!(
        "{} client against {} server ({server_prog} {server_args:?})\n--- client ---\n{}\n--- server ---\n{}",
        client_side.name(),
        server_side.name(),
        client.dump(),
        srv.dump()
    );
    assert_eq!(client.code(), Some(0), "{what}");
    // A client out of blocking mode first says what Python's gettimeout()
    // would (`fd N: setblocking(False), gettimeout() -> 0.0`); then the
    // replies alone.
    let (mode, replies): (Vec<&str>, Vec<&str>) = client
        .stdout
        .lines()
        .partition(|l| l.starts_with("fd ") && l.contains(", gettimeout() -> "));
    let leaves_blocking = client_args
        .iter()
        .any(|a| *a == "--nonblocking" || *a == "--timeout");
    assert_eq!(mode.len(), usize::from(leaves_blocking), "{what}");
    assert_eq!(replies.join("\n") + "\n", "HELLO\nWOR\tLD\n", "{what}");
    assert_eq!(srv.code(), Some(0), "{what}");
    assert!(srv.stdout.contains(": 5 bytes \"hello\""), "{what}");
    assert!(srv.stdout.contains(": 6 bytes \"wor\\tld\""), "{what}");
}

/// Both directions: Rust client → C server, C client → Rust server.
fn both(progs: (&str, &str), server_args: &[&str], client_args: &[&str]) {
    pair(Side::C, Side::Rust, progs, server_args, client_args);
    pair(Side::Rust, Side::C, progs, server_args, client_args);
}

const TCP: (&str, &str) = ("tcp_server", "tcp_client");
const UDP: (&str, &str) = ("udp_server", "udp_client");
const UNIX: (&str, &str) = ("unix_server", "unix_client");

#[test]
fn tcp_v4() {
    both(TCP, &["127.0.0.1:0", "--max-conns", "1"], &[]);
}

#[test]
fn tcp_v6() {
    both(TCP, &["[::1]:0", "--max-conns", "1"], &[]);
}

#[test]
fn udp_v4() {
    both(UDP, &["127.0.0.1:0", "--max-conns", "2"], &[]);
    both(UDP, &["127.0.0.1:0", "--max-conns", "2"], &["--connect"]);
}

#[test]
fn udp_v6() {
    both(UDP, &["[::1]:0", "--max-conns", "2"], &[]);
}

#[test]
fn unix_stream_path() {
    let dir = TempDir::new("interop");
    let path = dir.path("s.sock");
    both(UNIX, &[&path, "--max-conns", "1"], &[]);
    assert!(!std::path::Path::new(&path).exists(), "socket file left");
}

#[test]
fn unix_stream_abstract() {
    let name = harness::abstract_name("interop");
    both(UNIX, &[&name, "--max-conns", "1"], &[]);
}

#[test]
fn unix_dgram_path() {
    let dir = TempDir::new("interop");
    let path = dir.path("d.sock");
    both(UNIX, &[&path, "--dgram", "--max-conns", "2"], &["--dgram"]);
    both(
        UNIX,
        &[&path, "--dgram", "--max-conns", "2"],
        &["--dgram", "--connect"],
    );
}

#[test]
fn unix_dgram_abstract() {
    let name = harness::abstract_name("interop");
    both(UNIX, &[&name, "--dgram", "--max-conns", "2"], &["--dgram"]);
}

/// Non-blocking servers and clients (EAGAIN, poll, again) with the other
/// side's programs; the servers set options right after socket and on the
/// accepted socket (the clients' stdout must be the replies alone).
#[test]
fn nonblocking_and_sockopts() {
    let opts = &[
        "--nonblocking",
        "--sockopt",
        "SO_RCVBUF=8192",
        "--sockopt",
        "SO_SNDBUF=8192@accepted",
    ];
    let mut tcp_server = vec!["127.0.0.1:0", "--max-conns", "1"];
    tcp_server.extend(opts);
    both(TCP, &tcp_server, &["--nonblocking"]);
    both(
        UDP,
        &["127.0.0.1:0", "--max-conns", "2", "--nonblocking"],
        &["--nonblocking", "--connect"],
    );
    let dir = TempDir::new("interop");
    let path = dir.path("s.sock");
    let mut unix_server = vec![path.as_str(), "--max-conns", "1"];
    unix_server.extend(opts);
    both(UNIX, &unix_server, &["--nonblocking"]);
}

/// `--size N` through the other side's server: the whole echo comes back,
/// with `send` and with `sendall`.
#[test]
fn size_echo() {
    for mode in ["send", "sendall"] {
        for (server_side, client_side) in [(Side::C, Side::Rust), (Side::Rust, Side::C)] {
            let server = Server::start_cmd(cmp::program(
                server_side,
                "tcp_server",
                &[
                    "127.0.0.1:0".to_string(),
                    "--max-conns".to_string(),
                    "1".to_string(),
                    "-q".to_string(),
                ],
            ));
            let args: Vec<String> = [&server.addr, "--size", "3000", "--send-mode", mode]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let client = harness::run(cmp::program(client_side, "tcp_client", &args), b"");
            let srv = server.finish();
            let what = format!("{}\n{}", client.dump(), srv.dump());
            assert_eq!(client.code(), Some(0), "{what}");
            assert!(
                client.stdout.contains("received 3000 bytes in ")
                    && client
                        .stdout
                        .contains(" recv calls: the upper-cased message, intact"),
                "{what}"
            );
        }
    }
}
