//! The echo programs' options: --once, several clients, stdin, --naive, --send-empty, --connect-ex, JSON traces; the demo.

use super::*;

#[test]
fn once_serves_one_message_and_exits() {
    let server = Server::start(&["--trace", "tcp", "server", "127.0.0.1:0", "--once"]);
    let client = run(socklab(&["tcp", "client", &server.addr, "-m", "only"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "ONLY\n");
    let server = server.finish();
    server.assert_ok();
    // Its calls (its note lines, `# ...`, name what is not shown).
    let calls: Vec<&str> = server
        .stderr
        .lines()
        .filter(|l| !l.starts_with("# "))
        .map(|l| l.split('(').next().unwrap_or(""))
        .collect();
    assert_eq!(
        calls,
        [
            "socket",
            "bind",
            "listen",
            "getsockname",
            "accept4",
            "recvfrom",
            "sendto",
            "close",
            "close",
            // The process's end, as strace -f's (cli/end.rs).
            "exit_group",
            "+++ exited with 0 +++"
        ],
        "the low version: one recv, one reply\n{}",
        server.dump()
    );
}

#[test]
fn three_clients_are_served_one_after_another() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "3"]);
    for word in ["one", "two", "three"] {
        let client = run(socklab(&["tcp", "client", &server.addr, "-m", word]), b"");
        client.assert_ok();
        assert_eq!(client.stdout, format!("{}\n", word.to_uppercase()));
    }
    let server = server.finish();
    server.assert_ok();
    assert_eq!(
        server.stdout.matches("connection from ").count(),
        3,
        "{}",
        server.dump()
    );
    assert_eq!(
        server.stdout.matches(" closed").count(),
        3,
        "{}",
        server.dump()
    );
}

#[test]
fn client_reads_stdin_skips_empty_lines_and_exits_on_eof() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
    ]);
    let client = run(
        socklab(&["tcp", "client", &server.addr]),
        b"  hello  \n\n\t\nworld\n",
    );
    client.assert_ok();
    // Not a terminal: no `>>: ` prompt. Lines are stripped, empty ones skipped.
    assert_eq!(client.stdout, "HELLO\nWORLD\n");
    let server = server.finish();
    server.assert_ok();
    assert_eq!(
        server.stderr.matches("recvfrom(").count(),
        3,
        "two messages and the EOF\n{}",
        server.dump()
    );
}

#[test]
fn udp_client_sends_empty_stdin_lines_as_empty_datagrams() {
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "2"]);
    let client = run(socklab(&["udp", "client", &server.addr]), b"a\n\n");
    client.assert_ok();
    assert!(
        client.stdout.starts_with("A\n(an empty datagram from "),
        "{}",
        client.dump()
    );
    server.finish().assert_ok();
}

#[test]
fn naive_server_spins_on_recv_zero_and_stops_at_its_limit() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--naive",
        "--naive-limit",
        "7",
        "--max-conns",
        "1",
    ]);
    let client = run(socklab(&["tcp", "client", &server.addr, "-m", "hi"]), b"");
    client.assert_ok();
    let server = server.finish();
    server.assert_ok();
    server.stdout_has("recv returned 0 bytes 7 times");
    server.stdout_has("stopped at --naive-limit 7");
    // Each spin is a recvfrom that returns 0 and an empty send, as the tutorial's loop does.
    let zero_recvs = server
        .stderr
        .lines()
        .filter(|l| l.starts_with("recvfrom(") && l.ends_with(" = 0"))
        .count();
    assert_eq!(zero_recvs, 7, "{}", server.dump());
    let empty_sends = server
        .stderr
        .lines()
        .filter(|l| l.contains("sendto(") && l.contains("\"\", 0, 0"))
        .count();
    assert_eq!(empty_sends, 7, "{}", server.dump());
}

#[test]
fn send_empty_puts_nothing_on_the_wire_and_recv_times_out() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--send-empty",
            "--timeout",
            "0.5",
            "-m",
            "",
        ]),
        b"",
    );
    client.assert_code(1);
    client.stderr_has("sendto(3, \"\", 0, 0, NULL, 0) = 0");
    assert!(
        client
            .stderr
            .contains("events=POLLIN}], 1, 500) = 0 (Timeout)"),
        "{}",
        client.dump()
    );
    client.stderr_has("socklab: recvfrom(3, ...): timed out after 0.5s");
    let server = server.finish();
    server.assert_ok();
    // The server saw no message, only the close.
    assert!(!server.stdout.contains(" bytes "), "{}", server.dump());
}

#[test]
fn connect_ex_reports_zero_on_success() {
    let (client, server) = exchange(
        &["tcp", "server", "127.0.0.1:0", "--max-conns", "1"],
        &["tcp", "client", "--connect-ex", "-m", "ok"],
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "connect_ex -> 0\nOK\n");
    server.assert_ok();
}

#[test]
fn trace_json_carries_the_same_events() {
    let (client, server) = exchange(
        &["tcp", "server", "127.0.0.1:0", "--once"],
        &["--trace=json", "tcp", "client", "-m", "j"],
        b"",
    );
    client.assert_ok();
    server.assert_ok();
    // The calls' events (a note is `{"note":...}`).
    let lines: Vec<&str> = client
        .stderr
        .lines()
        .filter(|l| !l.starts_with("{\"note\""))
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "socket, connect, sendto, recvfrom, close\n{}",
        client.dump()
    );
    assert!(
        lines[0].contains("\"call\":\"socket\"") && lines[0].contains("\"ret\":3"),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].contains("\"line\":\"sendto(3, \\\"j\\\", 1, 0, NULL, 0) = 1\""),
        "{}",
        lines[2]
    );
    for l in &lines {
        assert!(
            l.starts_with("{\"time\":")
                && l.contains("\"duration_us\":")
                && l.contains("\"errno\":null"),
            "{l}"
        );
    }
}

#[test]
fn demo_shows_every_family_and_leaves_nothing_behind() {
    let out = run(socklab(&["demo"]), b"").without_tasks();
    out.assert_ok();
    for title in [
        "TCP over IPv4",
        "TCP over IPv6",
        "UDP over IPv4",
        "UNIX stream socket on a path",
        "UNIX datagram socket",
        "abstract name",
    ] {
        assert!(
            out.stdout.contains(title),
            "missing {title}\n{}",
            out.dump()
        );
    }
    assert_eq!(
        out.stdout.matches("client > HELLO").count(),
        6,
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("server | accept4("), "{}", out.dump());
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("socklab-demo-"))
        .collect();
    assert!(leftovers.is_empty(), "demo left {leftovers:?}");
}
