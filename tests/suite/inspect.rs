//! Looking at the socket while it runs: --show-state, --pause-after seen by
//! `ss`, and the rest of the socket object (--lines, --shutdown).

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::harness::{self, Server, have, run, socklab};

#[test]
fn show_state_sees_established_then_close_wait() {
    let server = Server::start(&[
        "--show-state",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
    ]);
    let client = run(
        socklab(&[
            "--trace",
            "--show-state",
            "tcp",
            "client",
            &server.addr,
            "-m",
            "hi",
        ]),
        b"",
    );
    client.assert_ok();
    // The state is read with traced syscalls.
    assert!(
        client
            .stderr
            .contains("getsockopt(3, SOL_TCP, TCP_INFO, \""),
        "{}",
        client.dump()
    );
    client.stderr_has(
        "ioctl(3, FIONREAD, [0]) = 0\nioctl(3, TIOCOUTQ, [0]) = 0\n[state fd 3: ESTABLISHED",
    );
    let out = server.finish();
    out.assert_ok();
    let states: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("[state "))
        .collect();
    assert!(
        states
            .iter()
            .any(|l| l.starts_with("[state fd 3: LISTEN, accept queue 0 of 5]")),
        "{}",
        out.dump()
    );
    let established = states
        .iter()
        .position(|l| l.contains(": ESTABLISHED,"))
        .expect(&out.stdout);
    let close_wait = states
        .iter()
        .position(|l| l.contains(": CLOSE_WAIT,"))
        .expect(&out.stdout);
    assert!(established < close_wait, "{}", out.dump());
    // After the recv that returned 0 (the peer's FIN) the socket is in
    // CLOSE_WAIT. (It may be so already after the reply's sendto, when the
    // client closed quickly: that is the race of two processes.)
    let lines: Vec<&str> = out.stdout.lines().collect();
    let closed = lines.iter().position(|l| l.ends_with(" closed")).unwrap();
    assert!(
        lines[closed - 1].contains(": CLOSE_WAIT,"),
        "{}",
        out.dump()
    );
}

#[test]
fn a_pause_after_listen_can_be_seen_with_ss() {
    if !have("ss") {
        return;
    }
    let mut child = Command::new(harness::bin())
        .args([
            "--pause-after",
            "listen",
            "tcp",
            "server",
            "127.0.0.1:0",
            "--once",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        format!(
            "paused after listen on fd 3 (pid {pid}): send SIGUSR1 to go on (kill -USR1 {pid})\n"
        )
    );
    // Paused between listen and accept4: the kernel shows a listener.
    let ss = Command::new("ss").args(["-ltnp"]).output().unwrap();
    let ss = String::from_utf8_lossy(&ss.stdout);
    let row = ss
        .lines()
        .find(|l| l.contains(&format!("pid={pid},")))
        .unwrap_or_else(|| panic!("no socket of {pid} in\n{ss}"));
    assert!(row.starts_with("LISTEN"), "{row}");
    // SAFETY: our child.
    unsafe { libc::kill(pid as i32, libc::SIGUSR1) };
    line.clear();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let client = run(socklab(&["tcp", "client", &addr, "-m", "go"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "GO\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn timed_pauses_and_bad_pause_arguments() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once"]);
    let client = run(
        socklab(&[
            "--pause-before",
            "close:0.05",
            "tcp",
            "client",
            &server.addr,
            "-m",
            "p",
        ]),
        b"",
    );
    client.assert_ok();
    assert!(
        client
            .stdout
            .starts_with("P\npaused before close on fd 3 (pid "),
        "{}",
        client.dump()
    );
    assert!(
        client.stdout.contains("): waiting 0.05s\n"),
        "{}",
        client.dump()
    );
    server.finish().assert_ok();
    for bad in ["accept", "listen:x", "listen:-1", "close:99999"] {
        let out = run(socklab(&["--pause-after", bad, "tcp", "client"]), b"");
        out.assert_code(2);
    }
}

#[test]
fn lines_mode_shows_one_recv_carrying_several_lines() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
        "--lines",
    ]);
    let client = run(
        socklab(&[
            "tcp",
            "client",
            &server.addr,
            "--lines",
            "-m",
            "one",
            "-m",
            "two",
            "-m",
            "three",
        ]),
        b"",
    );
    client.assert_ok();
    let replies: Vec<&str> = client
        .stdout
        .lines()
        .filter(|l| !l.starts_with("recv returned"))
        .collect();
    assert_eq!(replies, ["ONE", "TWO", "THREE"], "{}", client.dump());
    let out = server.finish();
    out.assert_ok();
    // The client wrote the three lines in one sendall: the server's first
    // recv carried all of them, and the buffer handed them out one by one.
    out.stdout_has("recv returned 14 bytes: the buffer now holds 3 complete lines and 0 bytes of a partial one");
    assert_eq!(
        out.stdout.matches("line from ").count(),
        3,
        "{}",
        out.dump()
    );
}

#[test]
fn shutdown_half_closes_and_reads_until_the_server_closes() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--max-conns",
        "1",
    ]);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--shutdown",
            "-m",
            "bye",
        ]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "BYE\nserver closed the connection\n");
    client.stderr_has(
        "shutdown(3, SHUT_WR) = 0\nrecvfrom(3, \"\", 1024, 0, NULL, NULL) = 0\nclose(3) = 0",
    );
    let out = server.finish();
    out.assert_ok();
    out.stdout_has(" closed");
}

#[test]
fn names_shows_getsockname_and_getpeername_at_connect_and_accept() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--once",
        "--names",
    ]);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--names",
            "-m",
            "n",
        ]),
        b"",
    );
    client.assert_ok();
    let line = client.stdout.lines().next().unwrap();
    assert!(
        line.starts_with("fd 3: local 127.0.0.1:")
            && line.ends_with(&format!(", peer {}", server.addr)),
        "{}",
        client.dump()
    );
    assert!(
        client.stderr.contains(") = 0\ngetsockname(3, ")
            && client.stderr.contains("getpeername(3, {sa_family=AF_INET"),
        "{}",
        client.dump()
    );
    let out = server.finish();
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!(
            "fd 4: local {}, peer 127.0.0.1:",
            out.stdout
                .lines()
                .next()
                .unwrap()
                .trim_start_matches("listening on ")
        )),
        "{}",
        out.dump()
    );
}

#[test]
fn step_stops_before_every_syscall_until_sigusr1() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once"]);
    let mut child = Command::new(harness::bin())
        .args(["--step", "tcp", "client", &server.addr, "-m", "s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut steps = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("step: before ") {
            steps.push(rest.split(' ').next().unwrap().to_string());
            // SAFETY: our child, waiting in sigwait for this signal.
            unsafe { libc::kill(pid, libc::SIGUSR1) };
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(steps, ["socket", "connect", "sendto", "recvfrom", "close"]);
    server.finish().assert_ok();
}

#[test]
fn show_state_after_accept4_shows_the_new_connection_then_the_listener() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--once",
        "--show-state",
        "--trace",
    ]);
    let client = run(socklab(&["tcp", "client", &server.addr, "-m", "hi"]), b"");
    client.assert_ok();
    let out = server.finish();
    out.assert_ok();
    // With --trace the state notes go with the trace: the two after accept4's line.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let accept = lines
        .iter()
        .position(|l| l.starts_with("accept4(3, "))
        .expect(&out.stderr);
    let states: Vec<&str> = lines[accept..]
        .iter()
        .copied()
        .filter(|l| l.starts_with("[state "))
        .take(2)
        .collect();
    assert!(
        states[0].starts_with("[state fd 4: ESTABLISHED, rtt "),
        "{}",
        out.dump()
    );
    assert_eq!(
        states[1],
        "[state fd 3: LISTEN, accept queue 0 of 5]",
        "{}",
        out.dump()
    );
    // The state is read on the new fd, with traced calls, right after accept4.
    out.stderr_has(") = 4\ngetsockopt(4, SOL_TCP, TCP_INFO, ");
}

/// The help names the queue ioctls as the trace shows them (strace's
/// FIONREAD and TIOCOUTQ are SIOCINQ and SIOCOUTQ's numbers), and says
/// that UDP and UNIX sockets get no state lines.
#[test]
fn show_state_help_names_what_the_trace_prints_and_that_it_is_tcp_only() {
    let out = run(socklab(&["udp", "server", "--help"]), b"");
    out.assert_ok();
    let help = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("SIOCINQ and SIOCOUTQ, which strace prints as FIONREAD and TIOCOUTQ"),
        "{help}"
    );
    assert!(
        help.contains("TCP only: on UDP and UNIX sockets it prints nothing"),
        "{help}"
    );
}
