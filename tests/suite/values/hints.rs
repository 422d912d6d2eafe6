//! Hints that depend on the socket and the options the program used, not
//! only on the call and its errno (issue 15): the line a user reads.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The tests make their own silent peers: the test's sockets, not socklab's.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::harness::{self, Server, run, socklab};

/// The `  hint: ` line of a run that failed with exit code 1.
pub(super) fn hint(out: &harness::Outcome) -> String {
    out.assert_code(1);
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix("  hint: "))
        .unwrap_or_else(|| panic!("no hint\n{}", out.dump()))
        .to_string()
}

fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap()
}

#[test]
fn tcp_eaddrinuse_without_reuseaddr_names_time_wait_and_the_real_port() {
    let first = Server::start(&["tcp", "server", "127.0.0.1:0", "-q"]);
    let h = hint(&run(socklab(&["tcp", "server", &first.addr]), b""));
    let p = port(&first.addr);
    assert!(h.contains("TIME_WAIT"), "{h}");
    assert!(h.contains("--reuseaddr"), "{h}");
    assert!(h.contains(&format!("ss -ltnp 'sport = :{p}'")), "{h}");
}

#[test]
fn tcp_eaddrinuse_with_reuseaddr_says_what_it_does_not_pass() {
    let first = Server::start(&["tcp", "server", "127.0.0.1:0", "-q"]);
    let p = port(&first.addr);
    for extra in ["--reuseaddr", "--sockopt=SO_REUSEADDR=1"] {
        let h = hint(&run(socklab(&["tcp", "server", &first.addr, extra]), b""));
        assert!(
            h.starts_with(&format!(
                "another socket holds port {p}, one SO_REUSEADDR does not let bind past: a listener"
            )),
            "{h}"
        );
        assert!(h.contains(&format!("ss -ltnp 'sport = :{p}'")), "{h}");
        assert!(!h.contains("retry with --reuseaddr"), "{h}");
    }
}

#[test]
fn udp_eaddrinuse_has_no_time_wait() {
    let first = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let p = port(&first.addr);
    let h = hint(&run(socklab(&["udp", "server", &first.addr]), b""));
    assert!(h.contains("UDP has no TIME_WAIT"), "{h}");
    assert!(h.contains(&format!("ss -uanp 'sport = :{p}'")), "{h}");
    assert!(!h.contains("--reuseaddr"), "{h}");
}

#[test]
fn udp_timeout_hint_is_about_datagrams_tcp_about_the_empty_send_only_after_one() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let udp = run(
        socklab(&["udp", "client", &addr, "--timeout", "0.2", "-m", "x"]),
        b"",
    );
    let h = hint(&udp);
    assert!(h.starts_with("no datagram came before the deadline"), "{h}");
    // UDP's own text, not UNIX datagrams' (which are not lost).
    assert!(h.contains("UDP does not retransmit"), "{h}");
    assert!(!h.contains("UNIX"), "{h}");
    assert!(!h.contains("TCP"), "{h}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let tcp = run(
        socklab(&["tcp", "client", &addr, "--timeout", "0.2", "-m", "x"]),
        b"",
    );
    // It sent bytes: not a word of an empty send it did not make.
    let h = hint(&tcp);
    assert!(
        h.starts_with("nothing arrived before the deadline: our messages went into the connection and the peer has not answered"),
        "{h}"
    );
    assert!(!h.contains("empty"), "{h}");
    let empty = run(
        socklab(&[
            "tcp",
            "client",
            &addr,
            "--timeout",
            "0.2",
            "--send-empty",
            "-m",
            "",
        ]),
        b"",
    );
    let h = hint(&empty);
    assert!(
        h.contains("an empty TCP send puts nothing on the wire"),
        "{h}"
    );
}

#[test]
fn broadcast_without_so_broadcast_says_which_option() {
    let out = run(
        socklab(&["udp", "client", "255.255.255.255:9", "-m", "x"]),
        b"",
    );
    out.stderr_has("EACCES (Permission denied)");
    assert_eq!(
        hint(&out),
        "a datagram to a broadcast address needs SO_BROADCAST on the socket: add --sockopt SO_BROADCAST=1"
    );
}

#[test]
fn connecting_udp_to_broadcast_without_so_broadcast_says_which_option() {
    let out = run(
        socklab(&["udp", "client", "255.255.255.255:9", "--connect", "-m", "x"]),
        b"",
    );
    out.stderr_has("connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"255.255.255.255\")}, 16) = -1 EACCES");
    assert!(
        hint(&out)
            .ends_with("needs SO_BROADCAST on the socket first: add --sockopt SO_BROADCAST=1"),
        "{}",
        out.dump()
    );
}

#[test]
fn an_address_not_here_does_not_claim_only_loopback_exists() {
    // A host may have more than loopback (a container's eth0, socklab
    // net's namespaces): the hint says where to look instead.
    let out = run(socklab(&["tcp", "server", "192.0.2.213:0"]), b"");
    out.stderr_has("= -1 EADDRNOTAVAIL");
    let h = hint(&out);
    assert!(h.contains("ip -br addr lists them"), "{h}");
    assert!(!h.contains("only loopback"), "{h}");
}

#[test]
fn ipv6_v6only_after_connect_says_set_it_before_bind() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        return; // no IPv6 loopback here
    };
    let addr = listener.local_addr().unwrap().to_string();
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &addr,
            "--sockopt",
            "IPV6_V6ONLY=1@connected",
            "-m",
            "x",
        ]),
        b"",
    );
    out.stderr_has("IPV6_V6ONLY, [1], 4) = -1 EINVAL");
    let h = hint(&out);
    assert!(
        h.starts_with("IPV6_V6ONLY can be set only before the socket is bound"),
        "{h}"
    );
}

#[test]
fn unix_eaddrinuse_says_an_abstract_name_has_no_file_and_a_path_does() {
    let name = harness::abstract_name("hint-abs");
    let first = Server::start(&["unix", "server", &name, "-q"]);
    for cmd in [
        socklab(&["unix", "server", &first.addr]),
        socklab(&[
            "unix",
            "client",
            &first.addr,
            "--bind",
            &first.addr,
            "-m",
            "x",
        ]),
    ] {
        let h = hint(&run(cmd, b""));
        assert!(
            h.starts_with("a live socket holds this abstract name (an abstract name has no file"),
            "{h}"
        );
        assert!(!h.contains("--unlink-stale"), "{h}");
    }
    // A client's --bind to a path that exists (here a plain file).
    let dir = harness::TempDir::new("hint-path");
    let taken = dir.path("taken");
    std::fs::write(&taken, b"").unwrap();
    let out = run(
        socklab(&["unix", "client", &first.addr, "--bind", &taken, "-m", "x"]),
        b"",
    );
    out.stderr_has("= -1 EADDRINUSE");
    assert!(
        hint(&out).starts_with("a file exists at this path, and bind never replaces one"),
        "{}",
        out.dump()
    );
}

#[test]
fn udp_eaddrinuse_with_reuseaddr_says_every_socket_must_set_it() {
    let first = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let p = port(&first.addr);
    let h = hint(&run(
        socklab(&["udp", "server", &first.addr, "--reuseaddr"]),
        b"",
    ));
    assert!(
        h.starts_with(&format!(
            "another UDP socket holds port {p} without SO_REUSEADDR: --reuseaddr lets UDP sockets share a port only when every one of them set it"
        )),
        "{h}"
    );
    assert!(h.contains(&format!("ss -uanp 'sport = :{p}'")), "{h}");
}

#[test]
fn udp_msg_more_timeout_says_the_datagram_never_left() {
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let out = run(
        socklab(&[
            "udp",
            "client",
            &server.addr,
            "--send-flags",
            "MSG_MORE",
            "--timeout",
            "0.2",
            "-m",
            "x",
        ]),
        b"",
    );
    let h = hint(&out);
    assert!(
        h.starts_with("no datagram came before the deadline, and ours never left: --send-flags MSG_MORE corks a UDP socket"),
        "{h}"
    );
}

#[test]
fn msg_oob_refusals_say_which_sockets_have_urgent_data() {
    let udp = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let out = run(
        socklab(&[
            "udp",
            "client",
            &udp.addr,
            "--send-flags",
            "MSG_OOB",
            "-m",
            "x",
        ]),
        b"",
    );
    out.stderr_has("MSG_OOB, {sa_family=AF_INET, ")
        .stderr_has("= -1 EOPNOTSUPP");
    assert!(
        hint(&out).starts_with("MSG_OOB (--send-flags) needs a stream socket with urgent data"),
        "{}",
        out.dump()
    );
    let tcp = Server::start(&["tcp", "server", "127.0.0.1:0", "-q"]);
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &tcp.addr,
            "--recv-flags",
            "MSG_OOB",
            "-m",
            "x",
        ]),
        b"",
    );
    out.stderr_has("1024, MSG_OOB, NULL, NULL) = -1 EINVAL");
    assert!(
        hint(&out).starts_with(
            "MSG_OOB (--recv-flags) reads the peer's urgent byte, and none is waiting"
        ),
        "{}",
        out.dump()
    );
    let name = harness::abstract_name("hint-oob");
    let unix = Server::start(&["unix", "server", "--dgram", &name, "-q"]);
    let out = run(
        socklab(&[
            "unix",
            "client",
            "--dgram",
            &unix.addr,
            "--recv-flags",
            "MSG_OOB",
            "-m",
            "x",
        ]),
        b"",
    );
    out.stderr_has("= -1 EOPNOTSUPP");
    assert!(
        hint(&out).starts_with("MSG_OOB (--recv-flags) reads a stream's urgent byte"),
        "{}",
        out.dump()
    );
}

#[test]
fn unix_datagram_refused_is_not_about_ports() {
    let name = harness::abstract_name("hint-refused");
    let out = run(
        socklab(&["unix", "client", "--dgram", &name, "-m", "x"]),
        b"",
    );
    out.stderr_has("= -1 ECONNREFUSED");
    let h = hint(&out);
    assert!(h.starts_with("nothing is bound to it:"), "{h}");
    assert!(!h.contains("port"), "{h}");
}

/// A recv that SO_RCVTIMEO ended (`--rcvtimeo`) fails with EAGAIN: the
/// hint says so, and does not tell the user to drop a MSG_DONTWAIT they
/// never passed; with `--recv-flags MSG_DONTWAIT` it names that flag.
#[test]
fn recv_eagain_names_msg_dontwait_only_when_the_user_passed_it() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let timed = run(
        socklab(&["udp", "client", &addr, "--rcvtimeo", "0.1", "-m", "x"]),
        b"",
    );
    timed.stderr_has(", 1024, 0, ").stderr_has("-1 EAGAIN");
    let h = hint(&timed);
    assert!(h.contains("SO_RCVTIMEO ran out (--rcvtimeo)"), "{h}");
    assert!(!h.contains("drop MSG_DONTWAIT"), "{h}");
    let dontwait = run(
        socklab(&[
            "udp",
            "client",
            &addr,
            "--recv-flags",
            "MSG_DONTWAIT",
            "-m",
            "x",
        ]),
        b"",
    );
    let h = hint(&dontwait);
    assert!(h.contains("(MSG_DONTWAIT, --recv-flags)"), "{h}");
    assert!(h.ends_with("or drop MSG_DONTWAIT"), "{h}");
}

#[test]
fn an_option_the_sockets_protocol_lacks_says_so() {
    for (family, addr, opt, errno) in [
        ("udp", "127.0.0.1:9", "TCP_NODELAY=1", "ENOPROTOOPT"),
        ("udp", "127.0.0.1:9", "IPV6_V6ONLY=1", "ENOPROTOOPT"),
        (
            "unix",
            "@socklab-no-such-name",
            "TCP_NODELAY=1",
            "EOPNOTSUPP",
        ),
    ] {
        let out = run(
            socklab(&[family, "client", addr, "--sockopt", opt, "-m", "x"]),
            b"",
        );
        out.stderr_has(&format!("= -1 {errno}"));
        assert!(
            hint(&out).starts_with("this socket's protocol has no such option at this level"),
            "{}",
            out.dump()
        );
    }
}

/// ENAMETOOLONG comes from a path's length (NAME_MAX, PATH_MAX), also on
/// a call about a socket file: never sun_path's (refused before the call).
#[test]
fn a_name_too_long_is_about_name_max_not_sun_path() {
    let long = "a".repeat(300);
    let out = run(
        socklab(&["shell"]),
        format!("unlink(\"/tmp/{long}\")\nmkdirat(AT_FDCWD, \"/tmp/{long}\", 0755)\n").as_bytes(),
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    let hints: Vec<&str> = all.lines().filter(|l| l.starts_with("  hint: ")).collect();
    assert_eq!(
        hints,
        vec![
            "  hint: a file name holds at most 255 bytes (NAME_MAX), a whole path at most 4095 (PATH_MAX)";
            2
        ],
        "{}",
        out.dump()
    );
}
