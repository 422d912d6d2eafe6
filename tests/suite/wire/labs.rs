//! Capture in the labs, a server stopped by SIGINT, TCP over IPv6, a forking server.

use super::*;
use crate::harness;

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
    )
    .without_tasks();
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
    let o = run(socklab(&["--wire", "lab", "empty-send"]), b"").without_tasks();
    o.assert_ok().stdout_has(": PASS");
    // The send starts here, whole or split by the server's line (`<unfinished ...>`).
    let send = stdout_line_of(&o, &["client | sendto(", "\"\", 0, 0, NULL, 0"]);
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
    let c = crate::harness::socklab_as_nobody(&["lab", "phone-call"]);
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
    harness::blocked_in(server.pid(), libc::SYS_accept4);
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
    let eintr = line_of(&out, &["accept4(", "ERESTARTSYS"]);
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
    let o = run(socklab(&["--wire", "lab", "time-wait"]), b"").without_tasks();
    // Not the lab's verdict: when the kernel's TIME_WAIT table is full
    // (tcp_max_tw_buckets, other load on the machine) the lab fails, but
    // the packets are the same.
    harness::assert_no_panic(&o);
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

/// recv after SHUT_RD (a script lab): the peer's data after SHUT_RD is
/// acknowledged like any other, no RST; the RST comes for the data sent
/// once the socket has shut both ways.
#[test]
fn recv_after_shut_rd_lab_shows_the_rst_only_after_shut_wr() {
    if !can_capture() {
        return;
    }
    let o = run(socklab(&["--wire", "lab", "recv-after-shut-rd"]), b"").without_tasks();
    o.assert_ok().stdout_has(": PASS");
    let shut_rd = stdout_line_of(&o, &["client | shutdown(", "SHUT_RD) = 0"]);
    let after = stdout_line_of(&o, &["Flags [P.], seq 7:12,", "\"after\""]);
    let acked = stdout_line_of(&o, &["  wire: IP ", "Flags [.], ack 12,"]);
    let late = stdout_line_of(&o, &["Flags [P.], seq 12:16,", "\"late\""]);
    let rst = stdout_line_of(&o, &["  wire: IP ", "Flags [R]"]);
    let order = [shut_rd, after, acked, late, rst];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}\n{}",
        o.dump()
    );
    assert_eq!(o.stdout.matches("Flags [R]").count(), 1, "{}", o.dump());
}

/// Issue 15 item 4: with `--wire`, a program's own output line comes
/// after the call that produced it (it was printed first, before the
/// capture's first line, while the calls waited in the timeline).
#[test]
fn a_labs_program_line_comes_after_its_call_with_wire() {
    if !can_capture() {
        return;
    }
    let o = run(socklab(&["--wire", "lab", "sticky-packets"]), b"").without_tasks();
    o.assert_ok();
    let said = stdout_line_of(&o, &["server > recv returned "]);
    let n = o
        .stdout
        .lines()
        .nth(said)
        .and_then(|l| l.split("recv returned ").nth(1))
        .and_then(|r| r.split(' ').next())
        .unwrap_or("?")
        .to_string();
    let part = stdout_line_of(&o, &["-- fix 2: lines through a buffer"]);
    let recv = o
        .stdout
        .lines()
        .enumerate()
        .skip(part)
        .position(|(_, l)| {
            l.starts_with("server | ") && l.contains("recv") && l.ends_with(&format!(") = {n}"))
        })
        .map(|i| i + part)
        .unwrap_or_else(|| panic!("no server recvfrom returning {n}\n{}", o.dump()));
    let capture = stdout_line_of(&o, &["  wire | socket(AF_PACKET"]);
    assert!(capture < part && part < recv && recv < said, "{}", o.dump());
}
