//! `--wire` and `--pcap`: the program's packets beside its syscalls
//! (src/wire/). Capturing needs CAP_NET_RAW: these tests run as root (as
//! `make test` does in CI); elsewhere they say they skip, and under
//! CI=true a missing privilege is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Outcome, Server, TempDir, bound_tcp, have, run, socklab};

fn can_capture() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "capturing needs root; under CI that is a failure"
        );
        eprintln!("SKIPPED: capturing needs root or CAP_NET_RAW");
    }
    root
}

/// The index of the first stderr line containing every one of `parts`.
fn line_of(o: &Outcome, parts: &[&str]) -> usize {
    o.stderr
        .lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?}\n{}", o.dump()))
}

/// The packet lines of a timeline, without the `  wire: ` mark and the
/// payload bytes socklab adds after `length N`.
fn wire_lines(o: &Outcome) -> Vec<String> {
    o.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  wire: "))
        .map(|l| match l.find(": \"") {
            Some(at) if l[..at].contains("length") => l[..at].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// `tcpdump -r FILE -nn`, each line without its timestamp and TCP options.
fn tcpdump_lines(pcap: &str) -> Vec<String> {
    let out = run(
        {
            let mut c = std::process::Command::new("tcpdump");
            c.args(["-r", pcap, "-nn"]);
            c
        },
        b"",
    );
    out.assert_ok();
    out.stdout
        .lines()
        .map(|l| {
            let l = l.split_once(' ').map_or(l, |(_, rest)| rest);
            match (l.find(", options ["), l.find("], length")) {
                (Some(a), Some(b)) if b > a => format!("{}{}", &l[..a], &l[b + 1..]),
                _ => l.to_string(),
            }
        })
        .collect()
}

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
    let nobody = |args: &[&str]| {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(common::bin())
        .args(args);
        c
    };
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

/// The index of the first stdout line containing every one of `parts`.
fn stdout_line_of(o: &Outcome, parts: &[&str]) -> usize {
    o.stdout
        .lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no stdout line with {parts:?}\n{}", o.dump()))
}

/// A lab's timeline with its packets: the handshake inside connect, the
/// data, the two FINs; the packet socket closed at the end; the pcap file
/// says the same as the timeline, as tcpdump reads it.
#[test]
fn phone_call_lab_with_wire_and_pcap() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire");
    let pcap = dir.path("lab.pcap");
    let o = run(
        socklab(&["--wire", "--pcap", &pcap, "lab", "phone-call"]),
        b"",
    );
    o.assert_ok()
        .stdout_has("lab phone-call: observed")
        .stdout_has(": PASS");
    let connect = stdout_line_of(&o, &["client | connect("]);
    let syn = stdout_line_of(&o, &["  wire: IP ", "Flags [S], seq "]);
    let syn_ack = stdout_line_of(&o, &["  wire: IP ", "Flags [S.], seq "]);
    let ack = stdout_line_of(&o, &["  wire: IP ", "Flags [.], ack 1, "]);
    let data = stdout_line_of(&o, &["Flags [P.], seq 1:14, ack 1,", "\"linhaifeng nb\""]);
    let fin = stdout_line_of(&o, &["Flags [F.]"]);
    let closed = stdout_line_of(&o, &["  wire | close("]);
    let verdict = stdout_line_of(&o, &["lab phone-call: observed"]);
    let order = [connect, syn, syn_ack, ack, data, fin, closed, verdict];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}\n{}",
        o.dump()
    );
    assert_eq!(o.stdout.matches("Flags [F.]").count(), 2, "{}", o.dump());
    if have("tcpdump") {
        let ours: Vec<String> = wire_lines(&Outcome {
            status: o.status,
            stdout: String::new(),
            stderr: o.stdout.clone(),
        });
        assert_eq!(ours, tcpdump_lines(&pcap), "{}", o.dump());
    }
}

/// The empty TCP send puts nothing on the wire: no packet between the
/// client's `sendto(N, "", 0, ...)` and the lab's shutdown; the empty UDP
/// datagram is a real packet of length 0.
#[test]
fn empty_send_lab_shows_the_absent_packet() {
    if !can_capture() {
        return;
    }
    let o = run(socklab(&["--wire", "lab", "empty-send"]), b"");
    o.assert_ok().stdout_has(": PASS");
    let send = stdout_line_of(&o, &["client | sendto(", "\"\", 0, 0, NULL, 0) = 0"]);
    let shutdown = stdout_line_of(&o, &["shutdown("]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        !lines[send..shutdown]
            .iter()
            .any(|l| l.starts_with("  wire: ")),
        "a packet between the empty send and the shutdown\n{}",
        o.dump()
    );
    stdout_line_of(&o, &["  wire: IP 127.0.0.1.", "UDP, length 0"]);
}

/// Labs without --wire need no privilege.
#[test]
fn a_lab_without_wire_runs_unprivileged() {
    if !can_capture() || !have("setpriv") {
        return;
    }
    let mut c = std::process::Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(common::bin())
    .args(["lab", "phone-call"]);
    run(c, b"").assert_ok().stdout_has(": PASS");
}

/// Ctrl-C on a capturing server: its blocking accept4 is interrupted, the
/// capture stops (the last packets printed, the packet socket closed, the
/// pcap file complete), then the server dies by the signal (130).
#[test]
fn a_capturing_server_stopped_by_sigint_finishes_its_capture() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire");
    let pcap = dir.path("srv.pcap");
    let server = Server::start(&["--wire", "--pcap", &pcap, "tcp", "server", "127.0.0.1:0"]);
    run(socklab(&["tcp", "client", "-m", "hi", &server.addr]), b"").assert_ok();
    // The handshake: the server is back in accept4 (its main thread's
    // /proc/PID/syscall), done with the client, before the signal.
    common::blocked_in(server.pid(), libc::SYS_accept4);
    server.signal(libc::SIGINT);
    let out = server.finish();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(libc::SIGINT),
        "{}",
        out.dump()
    );
    out.stdout_has("packets written to");
    let fin = out.stderr.matches("Flags [F.]").count();
    assert_eq!(fin, 2, "both FINs on the server's timeline\n{}", out.dump());
    let eintr = line_of(&out, &["accept4(", "EINTR"]);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let closed = lines.iter().rposition(|l| l.starts_with("close(")).unwrap();
    assert!(eintr < closed, "{}", out.dump());
    if have("tcpdump") {
        assert_eq!(wire_lines(&out), tcpdump_lines(&pcap), "{}", out.dump());
    }
}

/// TCP over IPv6: decoded, and the same as tcpdump reads from the pcap.
#[test]
fn tcp_over_ipv6_matches_tcpdump() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire");
    let pcap = dir.path("tcp6.pcap");
    let server = Server::start(&["tcp", "server", "[::1]:0", "--max-conns", "1"]);
    let client = run(
        socklab(&[
            "--wire",
            "--pcap",
            &pcap,
            "tcp",
            "client",
            "-m",
            "six",
            &server.addr,
        ]),
        b"",
    );
    server.finish().assert_ok();
    client.assert_ok().stdout_has("SIX");
    line_of(&client, &["  wire: IP6 ::1.", "Flags [S], seq "]);
    line_of(
        &client,
        &["  wire: IP6 ::1.", "Flags [P.], seq 1:4, ack 1,", "\"six\""],
    );
    if have("tcpdump") {
        assert_eq!(
            wire_lines(&client),
            tcpdump_lines(&pcap),
            "{}",
            client.dump()
        );
    }
}

/// The time-wait lab: the server closes first (FIN), the client answers
/// with its FIN, and the last ACK comes from the server, the side that
/// then sits in TIME_WAIT.
#[test]
fn time_wait_lab_shows_the_last_ack() {
    if !can_capture() {
        return;
    }
    let o = run(socklab(&["--wire", "lab", "time-wait"]), b"");
    // Not the lab's verdict: when the kernel's TIME_WAIT table is full
    // (tcp_max_tw_buckets, other load on the machine) the lab fails, but
    // the packets are the same.
    common::assert_no_panic(&o);
    o.stdout_has("lab time-wait: observed");
    let lines: Vec<&str> = o.stdout.lines().collect();
    let listen_port = {
        let l = lines[stdout_line_of(&o, &["server | getsockname("])];
        let rest = &l[l.find("sin_port=htons(").unwrap() + 15..];
        rest[..rest.find(')').unwrap()].to_string()
    };
    let from_server = format!("  wire: IP 127.0.0.1.{listen_port} > ");
    let to_server = format!(" > 127.0.0.1.{listen_port}: ");
    let server_fin = stdout_line_of(&o, &[&from_server, "Flags [F.], seq 1, ack 1,"]);
    let client_fin = stdout_line_of(&o, &[&to_server, "Flags [F.], seq 1, ack 2,"]);
    let last_ack = stdout_line_of(&o, &[&from_server, "Flags [.], ack 2,"]);
    let time_wait = stdout_line_of(&o, &["lab | # ", "/proc/net/tcp"]);
    let order = [server_fin, client_fin, last_ack, time_wait];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}\n{}",
        o.dump()
    );
}

/// A forking server under --wire: the child's calls are printed too (at
/// once: the capture and its time-ordering run in the parent).
#[test]
fn a_forking_server_with_wire_prints_its_childrens_calls() {
    if !can_capture() {
        return;
    }
    let server = Server::start(&[
        "--wire",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "fork",
        "--max-conns",
        "1",
    ]);
    run(socklab(&["tcp", "client", "-m", "hi", &server.addr]), b"").assert_ok();
    let out = server.finish();
    out.assert_ok();
    line_of(&out, &["sendto(", "\"HI\", 2, 0, NULL, 0) = 2"]);
    line_of(
        &out,
        &["  wire: IP ", "Flags [P.], seq 1:3, ack 3,", "\"HI\""],
    );
    line_of(&out, &["getsockopt(", "PACKET_STATISTICS"]);
}
