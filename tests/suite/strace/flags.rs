//! Issue 15: recvfrom and sendto flags only as asked (`--recv-flags`,
//! `--send-flags`), `--bind` before connect: each line equals strace's.

use super::*;

/// The UDP server passes no MSG_TRUNC unasked: a datagram of 11 bytes into
/// a 4-byte buffer is `recvfrom(3, "hell", 4, 0, ...) = 4`, as the
/// tutorial's and C's call; with `--recv-flags MSG_TRUNC` it is `= 11`
/// and the server says it was truncated.
#[test]
fn udp_server_recvfrom_has_msg_trunc_only_when_asked() {
    if !have("strace") {
        return;
    }
    for (extra, flags, ret) in [
        (&[][..], "4, 0, {", "= 4"),
        (
            &["--recv-flags", "MSG_TRUNC"][..],
            "4, MSG_TRUNC, {",
            "= 11",
        ),
    ] {
        let mut server = vec!["udp", "server", "127.0.0.1:0", "--once", "--bufsize", "4"];
        server.extend_from_slice(extra);
        let (srv, client, s, _) = pair(
            "trunc",
            &server,
            &["udp", "client", "-m", "hello world"],
            b"",
        );
        assert_eq!(client.stdout, "HELL\n", "{}", client.dump());
        let recv: Vec<&String> = s.iter().filter(|l| l.starts_with("recvfrom(")).collect();
        assert_eq!(recv.len(), 1, "{s:#?}");
        assert!(
            recv[0].contains(&format!("\"hell\", {flags}")) && recv[0].ends_with(ret),
            "{extra:?}: {}",
            recv[0]
        );
        let truncated = srv.stdout.contains("truncated: 11 bytes, buffer 4");
        assert_eq!(truncated, !extra.is_empty(), "{}", srv.dump());
    }
}

/// The clients' flags as strace prints them, `|`-joined and repeated; a
/// MSG_PEEK reply is peeked, then read by the same call without MSG_PEEK
/// (the bytes print twice); `--bind 127.0.0.1:0` is a bind before connect.
#[test]
fn client_flags_and_bind_equal_strace() {
    if !have("strace") {
        return;
    }
    let (_, client, _, c) = pair(
        "flags",
        &["tcp", "server", "127.0.0.1:0", "--once"],
        &[
            "tcp",
            "client",
            "--bind",
            "127.0.0.1:0",
            "--send-flags",
            "MSG_NOSIGNAL|MSG_MORE",
            "--recv-flags",
            "MSG_PEEK",
            "--recv-flags",
            "MSG_WAITALL",
            "--bufsize",
            "5",
            "-m",
            "hello",
        ],
        b"",
    );
    assert_eq!(client.stdout, "HELLO\nHELLO\n", "{}", client.dump());
    let names: Vec<&str> = c
        .iter()
        .map(|l| l.split('(').next().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "socket", "bind", "connect", "sendto", "recvfrom", "recvfrom", "close"
        ],
        "{c:#?}"
    );
    assert!(
        c[1].contains(", {sa_family=AF_INET, sin_port=htons(0), "),
        "{c:#?}"
    );
    assert!(
        c[3].contains(", 5, MSG_NOSIGNAL|MSG_MORE, NULL, 0) = 5"),
        "{c:#?}"
    );
    assert!(
        c[4].contains("\"HELLO\", 5, MSG_PEEK|MSG_WAITALL, NULL, NULL) = 5"),
        "{c:#?}"
    );
    assert!(
        c[5].contains("\"HELLO\", 5, MSG_WAITALL, NULL, NULL) = 5"),
        "{c:#?}"
    );
}

/// `--recv-flags MSG_DONTWAIT` on a socket with nothing to read: strace's
/// `-1 EAGAIN` line, exit 1, a hint that names MSG_DONTWAIT.
#[test]
fn msg_dontwait_on_an_empty_socket_is_eagain_with_a_hint() {
    if !have("strace") {
        return;
    }
    let (silent, addr) = silent_udp();
    let dir = TempDir::new("dontwait");
    let cli = Traced::new(&dir, "client");
    let out = run(
        cli.command(&[
            "udp",
            "client",
            &addr,
            "--recv-flags",
            "MSG_DONTWAIT",
            "-m",
            "hi",
        ]),
        b"",
    );
    drop(silent);
    out.assert_code(1)
        .stderr_has(", 1024, MSG_DONTWAIT, ")
        .stderr_has(" = -1 EAGAIN (Resource temporarily unavailable)")
        .stderr_has("hint: the call would block: nothing to read yet (MSG_DONTWAIT");
    let c = cli.assert_equal("dontwait client");
    assert!(
        c.iter().any(|l| l.starts_with("recvfrom(")
            && l.contains(", 1024, MSG_DONTWAIT, ")
            && l.ends_with(" = -1 EAGAIN (Resource temporarily unavailable)")),
        "{c:#?}"
    );
}
