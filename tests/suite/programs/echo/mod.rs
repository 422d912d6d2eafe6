//! Every program end to end, as a user runs it: the bytes that come back,
//! what each side prints, the exit codes.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod options;

use crate::harness::{self, Server, TempDir, abstract_name, run, socklab};

/// Start `server_args`, run a client with `client_args` + the server's address.
fn exchange(
    server_args: &[&str],
    client_args: &[&str],
    stdin: &[u8],
) -> (harness::Outcome, harness::Outcome) {
    let server = Server::start(server_args);
    let mut args: Vec<&str> = client_args.to_vec();
    let after_client = args
        .iter()
        .position(|a| *a == "client")
        .expect("a client command")
        + 1;
    args.insert(after_client, &server.addr);
    let client = run(socklab(&args), stdin);
    let server_out = server.finish();
    (client, server_out)
}

#[test]
fn tcp_over_ipv4_answers_each_message_upper_cased() {
    let (client, server) = exchange(
        &["tcp", "server", "127.0.0.1:0", "--max-conns", "1"],
        &["tcp", "client", "-m", "hello", "-m", "world"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "HELLO\nWORLD\n");
    server.assert_ok();
    let lines: Vec<&str> = server.stdout.lines().collect();
    assert!(
        lines[0].starts_with("listening on 127.0.0.1:"),
        "{}",
        server.dump()
    );
    assert!(
        lines[0] != "listening on 127.0.0.1:0",
        "the real port from getsockname: {}",
        server.dump()
    );
    assert!(
        lines[1].starts_with("connection from 127.0.0.1:"),
        "{}",
        server.dump()
    );
    assert!(
        lines[2].ends_with(": 5 bytes \"hello\""),
        "{}",
        server.dump()
    );
    assert!(
        lines[3].ends_with(": 5 bytes \"world\""),
        "{}",
        server.dump()
    );
    assert!(lines[4].ends_with(" closed"), "{}", server.dump());
}

#[test]
fn tcp_over_ipv6() {
    let (client, server) = exchange(
        &["tcp", "server", "[::1]:0", "--max-conns", "1"],
        &["tcp", "client", "-m", "v6"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "V6\n");
    server.assert_ok();
    assert!(
        server.stdout.starts_with("listening on [::1]:"),
        "{}",
        server.dump()
    );
    server.stdout_has("connection from [::1]:");
}

#[test]
fn udp_keeps_datagrams_and_answers_an_empty_one() {
    let (client, server) = exchange(
        &["udp", "server", "127.0.0.1:0", "--max-conns", "3"],
        &["udp", "client", "-m", "one", "-m", "", "-m", "two"],
        b"",
    );
    client.assert_ok();
    let lines: Vec<&str> = client.stdout.lines().collect();
    assert_eq!(lines[0], "ONE", "{}", client.dump());
    assert!(
        lines[1].starts_with("(an empty datagram from 127.0.0.1:"),
        "{}",
        client.dump()
    );
    assert_eq!(lines[2], "TWO", "{}", client.dump());
    server.assert_ok();
    server.stdout_has(": 0 bytes \"\" (an empty datagram)");
    server.stdout_has(": 3 bytes \"two\"");
}

#[test]
fn udp_over_ipv6_connected_client() {
    let (client, server) = exchange(
        &["udp", "server", "[::1]:0", "--once"],
        &["udp", "client", "--connect", "-m", "hi"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "HI\n");
    server.assert_ok();
}

#[test]
fn unix_stream_on_a_path_removes_its_file() {
    let dir = TempDir::new("stream");
    let path = dir.path("s.sock");
    let (client, server) = exchange(
        &["unix", "server", &path, "--max-conns", "1"],
        &["unix", "client", "-m", "hello"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "HELLO\n");
    server.assert_ok();
    assert_eq!(
        server.stdout.lines().next(),
        Some(format!("listening on {path}").as_str())
    );
    assert!(
        !std::path::Path::new(&path).exists(),
        "socket file left behind"
    );
}

#[test]
fn unix_datagram_client_autobinds_so_the_reply_comes_back() {
    let dir = TempDir::new("dgram");
    let path = dir.path("d.sock");
    let server = Server::start(&[
        "--trace",
        "unix",
        "server",
        &path,
        "--dgram",
        "--max-conns",
        "2",
    ]);
    let client = run(
        socklab(&[
            "--trace",
            "unix",
            "client",
            "--dgram",
            &server.addr,
            "-m",
            "abc",
            "-m",
            "",
        ]),
        b"",
    );
    client.assert_ok();
    assert!(
        client.stdout.starts_with("ABC\n(an empty datagram from "),
        "{}",
        client.dump()
    );
    client.stderr_has("bind(3, {sa_family=AF_UNIX}, 2) = 0");
    let server = server.finish();
    server.assert_ok();
    // The autobound name is abstract: `@` and five hex digits.
    server.stdout_has("datagram from @");
    assert!(
        !std::path::Path::new(&path).exists(),
        "socket file left behind"
    );
}

#[test]
fn abstract_stream_and_datagram() {
    let name = abstract_name("abs");
    let (client, server) = exchange(
        &["unix", "server", &name, "--max-conns", "1"],
        &["unix", "client", "-m", "x"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "X\n");
    server.assert_ok();
    assert!(
        server.stdout.starts_with(&format!("listening on {name}\n")),
        "{}",
        server.dump()
    );

    let name = abstract_name("absd");
    let (client, server) = exchange(
        &["unix", "server", &name, "--dgram", "--once"],
        &["unix", "client", "--dgram", "-m", "y"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "Y\n");
    server.assert_ok();
}
