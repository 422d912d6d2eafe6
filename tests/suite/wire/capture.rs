//! Capture beside the programs: order of packets, tcpdump agrees, privileges.

use super::*;
use crate::harness;

#[test]
fn tcp_client_wire_shows_handshake_data_and_close_in_order() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire");
    let pcap = dir.path("tcp.pcap");
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let client = run(
        socklab(&[
            "--wire",
            "--pcap",
            &pcap,
            "tcp",
            "client",
            "-m",
            "hello",
            &server.addr,
        ]),
        b"",
    );
    server.finish().assert_ok();
    client.assert_ok().stdout_has("HELLO");
    let port = server_port(&client);
    let to_server = format!(" > 127.0.0.1.{port}: ");
    let from_server = format!("127.0.0.1.{port} > ");

    let connect = line_of(&client, &["connect("]);
    let syn = line_of(&client, &["  wire: IP ", &to_server, "Flags [S], seq "]);
    let syn_ack = line_of(&client, &["  wire: IP ", &from_server, "Flags [S.], seq "]);
    let ack = line_of(&client, &["  wire: IP ", &to_server, "Flags [.], ack 1, "]);
    let send = line_of(&client, &["sendto(", "\"hello\""]);
    let data = line_of(
        &client,
        &[
            &to_server,
            "Flags [P.], seq 1:6, ack 1, ",
            "length 5: \"hello\"",
        ],
    );
    let reply = line_of(
        &client,
        &[&from_server, "Flags [P.], seq 1:6, ack 6, ", "\"HELLO\""],
    );
    let close = line_of(&client, &["close("]); // the TCP socket's, first
    let fin = line_of(&client, &[&to_server, "Flags [F.], seq 6, ack 6, "]);
    let order = [connect, syn, syn_ack, ack, send, data, reply, close, fin];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "expected connect, SYN, SYN-ACK, ACK, sendto, data, reply, close, FIN in this order: {order:?}\n{}",
        client.dump()
    );
    // Each packet once (loopback hands each to the tap twice).
    let syns = client.stderr.matches("Flags [S],").count();
    assert_eq!(syns, 1, "{}", client.dump());

    // The pcap says the same as the timeline, as tcpdump reads it.
    if have("tcpdump") {
        assert_eq!(
            wire_lines(&client),
            tcpdump_lines(&pcap),
            "{}",
            client.dump()
        );
    }
}

/// The server's port, from the client's connect line.
fn server_port(o: &Outcome) -> u16 {
    let l = &o.stderr[o.stderr.find("sin_port=htons(").expect("connect line") + 15..];
    l[..l.find(')').unwrap()].parse().unwrap()
}

#[test]
fn udp_over_ipv6_is_decoded_and_the_pcap_matches_tcpdump() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire");
    let pcap = dir.path("udp6.pcap");
    let server = Server::start(&["udp", "server", "[::1]:0", "--max-conns", "1"]);
    let client = run(
        socklab(&[
            "--wire",
            "--pcap",
            &pcap,
            "udp",
            "client",
            "-m",
            "hey",
            &server.addr,
        ]),
        b"",
    );
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    server.finish().assert_ok();
    client.assert_ok().stdout_has("HEY");
    let out = line_of(
        &client,
        &[
            "  wire: IP6 ::1.",
            &format!(" > ::1.{port}: UDP, length 3: \"hey\""),
        ],
    );
    let back = line_of(
        &client,
        &[
            &format!("  wire: IP6 ::1.{port} > ::1."),
            "UDP, length 3: \"HEY\"",
        ],
    );
    let send = line_of(&client, &["sendto(", "\"hey\""]);
    assert!(send < out && out < back, "{}", client.dump());
    if have("tcpdump") {
        assert_eq!(
            wire_lines(&client),
            tcpdump_lines(&pcap),
            "{}",
            client.dump()
        );
    }
}

#[test]
fn a_refused_udp_datagram_shows_the_icmp_port_unreachable() {
    if !can_capture() {
        return;
    }
    // A TCP socket of ours reserves the port number; nothing listens on
    // UDP there (TCP and UDP ports are separate spaces).
    let (_held, port) = bound_tcp(None);
    let addr = format!("127.0.0.1:{port}");
    let client = run(
        socklab(&[
            "--wire",
            "udp",
            "client",
            "--connect",
            "-m",
            "a",
            "-m",
            "b",
            &addr,
        ]),
        b"",
    );
    client.assert_code(1).stderr_has("ECONNREFUSED");
    let out = line_of(&client, &[&format!(" > 127.0.0.1.{port}: UDP, length 1")]);
    let icmp = line_of(
        &client,
        &[&format!(
            "  wire: IP 127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port {port} unreachable"
        )],
    );
    let refused = line_of(&client, &["= -1 ECONNREFUSED"]);
    assert!(out < icmp && icmp < refused, "{}", client.dump());
}

#[test]
fn wire_on_a_unix_program_is_a_usage_error() {
    let dir = TempDir::new("wire");
    let o = run(
        socklab(&["--wire", "unix", "client", &dir.path("s.sock")]),
        b"",
    );
    o.assert_code(2)
        .stderr_has("UNIX socket has no packets on the wire");
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.dump());
    let o = run(socklab(&["--pcap", &dir.path("x.pcap"), "demo"]), b"");
    o.assert_code(2);
}

/// Without CAP_NET_RAW: one error line with the hint, exit 1; the same
/// program without --wire works.
#[test]
fn capture_without_privilege_fails_with_a_hint() {
    if !can_capture() || !have("setpriv") {
        return;
    }
    let nobody = harness::socklab_as_nobody;
    let server = Server::start_cmd(nobody(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
    ]));
    let denied = run(
        nobody(&["--wire", "tcp", "client", "-m", "x", &server.addr]),
        b"",
    );
    denied
        .assert_code(1)
        .stderr_has("socklab: socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL)) = -1 EPERM (Operation not permitted)")
        .stderr_has("  hint: capturing needs root or CAP_NET_RAW");
    run(nobody(&["--wire", "lab", "phone-call"]), b"")
        .assert_code(1)
        .stderr_has("  hint: capturing needs root or CAP_NET_RAW");
    let fine = run(nobody(&["tcp", "client", "-m", "x", &server.addr]), b"");
    fine.assert_ok().stdout_has("X");
    server.finish().assert_ok();
}

/// A raw socket the user makes (a shell's line) fails with EPERM for the
/// same reason, but no --wire/--pcap was given: the hint names the
/// capability, not the flags.
#[test]
fn a_users_raw_socket_without_privilege_is_not_told_of_wire() {
    if !can_capture() || !have("setpriv") {
        return;
    }
    let c = harness::socklab_as_nobody(&["shell"]);
    let out = run(c, b"socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)\n");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = -1 EPERM")
            && all.contains(
                "  hint: a raw or packet socket (SOCK_RAW, AF_PACKET) needs root or CAP_NET_RAW"
            )
            && !all.contains("--wire"),
        "{}",
        out.dump()
    );
}

/// A capturing server closes its packet socket and exits: nothing is left
/// in /proc/net/packet with the socket's inode.
#[test]
fn a_capturing_server_leaves_no_socket_behind() {
    if !can_capture() {
        return;
    }
    let server = Server::start(&[
        "--pcap",
        "/dev/null",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
    ]);
    let packet_inodes = || std::fs::read_to_string("/proc/net/packet").unwrap();
    let open = packet_inodes();
    let inode = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .map(|l| {
            l.to_string_lossy()
                .trim_start_matches("socket:[")
                .trim_end_matches(']')
                .to_string()
        })
        .find(|i| {
            open.lines()
                .any(|l| l.split_whitespace().last() == Some(i.as_str()))
        })
        .expect("the server holds a packet socket");
    run(socklab(&["tcp", "client", "-m", "x", &server.addr]), b"").assert_ok();
    let out = server.finish();
    out.assert_ok().stdout_has("packets written to /dev/null");
    assert!(
        !packet_inodes()
            .lines()
            .any(|l| l.split_whitespace().last() == Some(inode.as_str())),
        "packet socket {inode} still open\n{}",
        packet_inodes()
    );
}
