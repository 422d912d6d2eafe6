//! EADDRINUSE past an earlier server's connection (FIN_WAIT2 or
//! TIME_WAIT): Linux lets a bind pass it only when both sockets set
//! SO_REUSEADDR, so the hint must not promise that --reuseaddr alone
//! does; and a client, which has no --reuseaddr, is told its own option.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The test's own client: its socket, not socklab's.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{Read, Write};

use super::hints::hint;
use crate::harness::{self, Server, run, socklab};

/// A `--once` server (with `extra` options) served one client and closed
/// first: its side of the connection outlives it (FIN_WAIT2, then
/// TIME_WAIT) and holds the port. Returns the server's address.
fn port_held_by_a_closed_servers_connection(extra: &[&str]) -> String {
    let mut args = vec!["tcp", "server", "127.0.0.1:0", "--once", "-q"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    let mut c = std::net::TcpStream::connect(&server.addr).unwrap();
    c.write_all(b"hi").unwrap();
    let mut echo = Vec::new();
    c.read_to_end(&mut echo).unwrap(); // the server's close ends it
    assert_eq!(echo, b"HI");
    let addr = server.addr.clone();
    server.finish().assert_ok();
    addr
}

#[test]
fn reuseaddr_does_not_pass_a_connection_whose_server_did_not_set_it() {
    let addr = port_held_by_a_closed_servers_connection(&[]);
    let p = addr.rsplit(':').next().unwrap();
    let plain = hint(&run(socklab(&["tcp", "server", &addr]), b""));
    assert!(
        plain.contains(
            "--reuseaddr binds past a connection only if its socket set SO_REUSEADDR too"
        ),
        "{plain}"
    );
    assert!(!plain.contains("retry with --reuseaddr"), "{plain}");
    let out = run(socklab(&["tcp", "server", &addr, "--reuseaddr"]), b"");
    out.stderr_has("= -1 EADDRINUSE");
    let h = hint(&out);
    assert!(!h.starts_with("a live socket"), "{h}");
    assert!(
        h.contains("a connection, in TIME_WAIT too, whose socket did not set SO_REUSEADDR"),
        "{h}"
    );
    assert!(h.contains(&format!("ss -tan 'sport = :{p}'")), "{h}");
}

#[test]
fn reuseaddr_passes_a_connection_whose_server_set_it_too() {
    // The other half of the hint's rule, so the hint stays true.
    let addr = port_held_by_a_closed_servers_connection(&["--reuseaddr"]);
    let again = Server::start(&["tcp", "server", &addr, "--reuseaddr", "-q"]);
    assert_eq!(again.addr, addr);
}

#[test]
fn a_clients_bind_hint_names_the_clients_option() {
    let addr = port_held_by_a_closed_servers_connection(&[]);
    let out = run(
        socklab(&["tcp", "client", "127.0.0.1:1", "--bind", &addr, "-m", "x"]),
        b"",
    );
    let h = hint(&out);
    assert!(
        h.contains("--sockopt SO_REUSEADDR=1 binds past a connection"),
        "{h}"
    );
    // A client has no --reuseaddr (the hint may name the earlier server's).
    assert!(!h.contains("--reuseaddr binds"), "{h}");
    assert!(!h.contains("retry with --reuseaddr"), "{h}");
}

// Timeouts by role: a server waits for clients; a connect waits for the
// SYN's answer. Neither is "the peer did not answer" our data.

#[test]
fn a_datagram_servers_timeout_says_no_client_sent_one() {
    let dir = harness::TempDir::new("hint-dgram-server");
    let path = dir.path("s");
    for cmd in [
        socklab(&["udp", "server", "127.0.0.1:0", "--timeout", "0.2"]),
        socklab(&["unix", "server", &path, "--dgram", "--timeout", "0.2"]),
    ] {
        let out = run(cmd, b"");
        out.stderr_has("recvfrom(3, ...): timed out after 0.2s");
        let h = hint(&out);
        assert!(
            h.starts_with("no datagram came before the deadline: no client sent one"),
            "{h}"
        );
        assert!(!h.contains("answer"), "{h}");
        assert!(!h.contains("--connect"), "a server has no --connect: {h}");
    }
}

#[test]
fn a_connect_timeout_is_about_the_syn_not_an_empty_send() {
    // A listener that never accepts, its queue filled by the runs
    // before: a connect whose SYN is dropped runs out of time.
    let (_listener, port) = harness::bound_tcp(Some(0));
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..6 {
        let out = run(
            socklab(&["tcp", "client", &addr, "--timeout", "0.2", "-m", "x"]),
            b"",
        );
        if !out.stderr.contains("connect(3, ...): timed out") {
            continue; // it got into the queue: its recvfrom timed out
        }
        let h = hint(&out);
        assert!(
            h.starts_with(
                "the connection was not set up before the deadline: nothing answered the SYN"
            ),
            "{h}"
        );
        assert!(!h.contains("empty"), "{h}");
        return;
    }
    panic!("no connect timed out against a full accept queue");
}

#[test]
fn a_send_after_a_failed_connect_ex_is_not_about_a_peer_that_does_not_read() {
    // As above: a listener whose queue fills; once a connect_ex times
    // out, the client goes on (Python's connect_ex), and its send waits
    // for a connection that is not there.
    let (_listener, port) = harness::bound_tcp(Some(0));
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..6 {
        let out = run(
            socklab(&[
                "tcp",
                "client",
                &addr,
                "--connect-ex",
                "--timeout",
                "0.2",
                "-m",
                "x",
            ]),
            b"",
        );
        if !out.stdout.contains("connect_ex -> 11 EAGAIN") {
            continue; // it got into the queue
        }
        let h = hint(&out);
        assert!(
            h.starts_with(
                "no connection was set up before the deadline (connect_ex returned an error"
            ),
            "{}",
            out.dump()
        );
        assert!(!h.contains("does not read"), "{h}");
        return;
    }
    panic!("no connect_ex timed out against a full accept queue");
}
