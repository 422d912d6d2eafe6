//! Real peers no one here wrote: OpenBSD `nc` and `socat` talk to socklab's
//! servers as clients, and serve socklab's clients, over TCP (IPv4, IPv6),
//! UDP, UNIX stream, UNIX datagram and the abstract namespace.
//!
//! Ordering is by handshakes only. socklab's servers print `listening on
//! ADDR`; socat, run with `-d -d`, logs `listening on AF=N ADDR` (or
//! `receiving on ...`) on stderr once it has bound, and for `TCP-LISTEN:0`
//! and `UDP-LISTEN:0` that line carries the port the kernel chose. Datagram
//! clients (`nc -u`, `socat UNIX-SENDTO`) never see an end of stream, so the
//! test reads their stdout until the expected reply arrived, then kills them.
//! Every process runs under a watchdog.

// Tests report by panicking; the tests' own probe sockets are outside the
// sys rule (DESIGN.md §1 is about socklab, not about its tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use common::{Outcome, Server, TempDir, WATCHDOG, abstract_name, finish, have, run, socklab};

/// Both third-party tools are present (or we skip, outside CI).
fn have_both() -> bool {
    have("nc") & have("socat")
}

/// Is IPv6 loopback usable here? (A container may have it disabled.)
fn have_ipv6() -> bool {
    let ok = std::net::UdpSocket::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("SKIPPED: no IPv6 loopback in this environment");
    }
    ok
}

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// The server's port, from `listening on 127.0.0.1:PORT` / `[::1]:PORT`.
fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().expect("a port")
}

// ---------------------------------------------------------------------------
// A socat server: started with `-d -d`, ready once it logged that it listens.
// ---------------------------------------------------------------------------

struct Socat {
    child: Option<Child>,
    /// What followed `AF=N ` on the listening line: `127.0.0.1:PORT`,
    /// `[0000:...:0001]:PORT`, `"/path"`, `"\0name"`.
    addr: String,
    /// All of socat's stderr, gathered by a thread until it exits.
    log: mpsc::Receiver<String>,
}

impl Socat {
    /// Start `socat -d -d ARGS` and wait (bounded) for its `listening on` or
    /// `receiving on` log line: socat prints it after bind (and listen).
    fn start(args: &[&str]) -> Socat {
        let mut c = Command::new("socat");
        c.args(["-d", "-d"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn socat");
        let stderr = child.stderr.take().expect("stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        let (log_tx, log_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut log = String::new();
            let mut ready = Some(ready_tx);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                log.push_str(&line);
                if ready.is_some()
                    && (line.contains(" N listening on ") || line.contains(" N receiving on "))
                {
                    let at = line.find("AF=").expect("AF= in socat's line");
                    let addr = line[at..]
                        .split_once(' ')
                        .map(|(_, a)| a.trim_end().to_string())
                        .expect("an address after AF=N");
                    let _ = ready.take().expect("once").send(addr);
                }
                line.clear();
            }
            let _ = log_tx.send(log);
        });
        match ready_rx.recv_timeout(WATCHDOG) {
            Ok(addr) => Socat {
                child: Some(child),
                addr,
                log: log_rx,
            },
            Err(_) => {
                let _ = child.kill();
                let out = finish(child);
                let log = log_rx.recv_timeout(WATCHDOG).unwrap_or_default();
                panic!(
                    "socat {args:?} never logged that it listens\n{log}\n{}",
                    out.dump()
                );
            }
        }
    }

    /// The port from `127.0.0.1:PORT` or `[...]:PORT`.
    fn port(&self) -> &str {
        port_of(&self.addr)
    }

    /// Wait (bounded) for socat to exit by itself; its log is the stderr.
    fn finish(mut self) -> Outcome {
        let mut out = finish(self.child.take().expect("child"));
        out.stderr = self.log.recv_timeout(WATCHDOG).unwrap_or_default();
        out
    }

    /// Stop a socat that never ends by itself (a datagram PIPE server).
    fn kill(mut self) -> String {
        let mut child = self.child.take().expect("child");
        let _ = child.kill();
        let _ = child.wait();
        self.log.recv_timeout(WATCHDOG).unwrap_or_default()
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// A datagram client that never ends by itself.
// ---------------------------------------------------------------------------

/// Start `peer`, write `input` to its stdin (kept open: an end of input is no
/// end of a datagram conversation), read its stdout until `expect` appeared
/// (bounded by the watchdog), then kill it. Returns everything it printed.
fn converse_then_kill(mut peer: Command, input: &[u8], expect: &str) -> String {
    peer.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = peer.spawn().expect("spawn peer");
    let mut stdin: ChildStdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write to peer");
    stdin.flush().expect("flush");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(expect) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(_) => {
                let _ = child.kill();
                drop(stdin);
                let out = finish(child);
                panic!(
                    "{expect:?} never came back; peer printed {:?}\n{}",
                    String::from_utf8_lossy(&seen),
                    out.dump()
                );
            }
        }
    }
    let _ = child.kill();
    drop(stdin);
    let _ = child.wait();
    String::from_utf8_lossy(&seen).into_owned()
}

fn assert_reply(peer: &Outcome, expect: &str, what: &str) {
    assert_eq!(peer.code(), Some(0), "{what} failed\n{}", peer.dump());
    assert_eq!(peer.stdout, expect, "{what} got back\n{}", peer.dump());
}

// ===========================================================================
// nc and socat as clients of socklab's servers
// ===========================================================================

#[test]
fn tcp_server_nc_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    // -N: shutdown(SHUT_WR) after stdin's end, so the server sees EOF.
    let nc = run(
        cmd("nc", &["-N", "127.0.0.1", port_of(&server.addr)]),
        b"hello",
    );
    assert_reply(&nc, "HELLO", "nc");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains(": 5 bytes \"hello\""),
        "server did not report the bytes\n{}",
        srv.dump()
    );
    assert!(srv.stdout.contains("from 127.0.0.1:"), "{}", srv.dump());
}

#[test]
fn tcp6_server_nc_client() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let server = Server::start(&["tcp", "server", "[::1]:0", "--max-conns", "1"]);
    assert!(server.addr.starts_with("[::1]:"), "{}", server.addr);
    let nc = run(
        cmd("nc", &["-6", "-N", "::1", port_of(&server.addr)]),
        b"hello",
    );
    assert_reply(&nc, "HELLO", "nc -6");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains("from [::1]:") && srv.stdout.contains(": 5 bytes \"hello\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn tcp_server_socat_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    // -t 10: after stdin's end socat half-closes and waits (up to 10 s) for
    // the server to answer and close; it exits as soon as the server closes.
    let target = format!("TCP:{}", server.addr);
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"hello world");
    assert_reply(&socat, "HELLO WORLD", "socat");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains(": 11 bytes \"hello world\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn udp_server_nc_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let got = converse_then_kill(
        cmd("nc", &["-u", "127.0.0.1", port_of(&server.addr)]),
        b"hello",
        "HELLO",
    );
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains("from 127.0.0.1:") && srv.stdout.contains(": 5 bytes \"hello\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn udp6_server_socat_client() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let server = Server::start(&["udp", "server", "[::1]:0", "--max-conns", "1"]);
    let target = format!("UDP6:{}", server.addr);
    let got = converse_then_kill(cmd("socat", &["-", &target]), b"ping", "PING");
    assert_eq!(got, "PING");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 4 bytes \"ping\""), "{}", srv.dump());
}

#[test]
fn unix_stream_server_nc_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-unix");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--max-conns", "1"]);
    let nc = run(cmd("nc", &["-N", "-U", &path]), b"hello");
    assert_reply(&nc, "HELLO", "nc -U");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 5 bytes \"hello\""), "{}", srv.dump());
    assert!(
        !std::path::Path::new(&path).exists(),
        "the server should unlink its socket file on exit"
    );
}

#[test]
fn unix_stream_server_socat_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-unix");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--max-conns", "1"]);
    let target = format!("UNIX-CONNECT:{path}");
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"over unix");
    assert_reply(&socat, "OVER UNIX", "socat");
    server.finish().assert_ok();
}

#[test]
fn unix_dgram_server_nc_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-dgram");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--dgram", "--max-conns", "1"]);
    // OpenBSD nc -uU binds its own /tmp/nc-XXXXXX/recv.sock for the reply.
    let got = converse_then_kill(cmd("nc", &["-u", "-U", &path]), b"hello", "HELLO");
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 5 bytes \"hello\""), "{}", srv.dump());
}

#[test]
fn unix_dgram_server_socat_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-dgram");
    let path = dir.path("srv.sock");
    let client_path = dir.path("cli.sock");
    let server = Server::start(&["unix", "server", &path, "--dgram", "--max-conns", "1"]);
    // The client binds a path of its own so that the reply has somewhere to go.
    let target = format!("UNIX-SENDTO:{path},bind={client_path}");
    let got = converse_then_kill(cmd("socat", &["-", &target]), b"hello", "HELLO");
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout
            .contains(&format!("from {client_path}: 5 bytes \"hello\"")),
        "{}",
        srv.dump()
    );
}

#[test]
fn abstract_server_socat_client() {
    if !have_both() {
        return;
    }
    let name = abstract_name("peers-abs");
    let server = Server::start(&["unix", "server", &name, "--max-conns", "1"]);
    let target = format!("ABSTRACT-CONNECT:{}", &name[1..]);
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"no file");
    assert_reply(&socat, "NO FILE", "socat");
    server.finish().assert_ok();
}

// ===========================================================================
// socat (and nc) as servers for socklab's clients
// ===========================================================================

#[test]
fn tcp_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    // PIPE: socat echoes every byte back, whatever the chunking.
    let socat = Socat::start(&["TCP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["tcp", "client", &addr, "-m", "hello", "-m", "world"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hello\nworld\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn tcp_client_socat_upcasing_server() {
    if !have_both() {
        return;
    }
    // tr buffers until its input ends; dd passes on exactly one read (one
    // message) and ends, so tr answers at once.
    let socat = Socat::start(&[
        "TCP-LISTEN:0,bind=127.0.0.1",
        "SYSTEM:dd bs=64 count=1 2>/dev/null | tr a-z A-Z",
    ]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(socklab(&["tcp", "client", &addr, "-m", "hello"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "HELLO\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn tcp6_client_socat_echo_server() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let socat = Socat::start(&["TCP6-LISTEN:0,bind=[::1]", "PIPE"]);
    let addr = format!("[::1]:{}", socat.port());
    let client = run(socklab(&["tcp", "client", &addr]), b"one\ntwo\n");
    client.assert_ok();
    assert_eq!(client.stdout, "one\ntwo\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn udp_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    // UDP-LISTEN logs the bound port (UDP-RECVFROM:0 would log port 0).
    let socat = Socat::start(&["UDP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["udp", "client", &addr, "-m", "hello", "-m", "again"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hello\nagain\n", "{}", client.dump());
    // A datagram conversation has no end: socat would wait forever.
    let log = socat.kill();
    assert!(
        log.contains("accepting UDP connection"),
        "socat log:\n{log}"
    );
}

#[test]
fn udp_connected_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let socat = Socat::start(&["UDP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["udp", "client", &addr, "--connect", "-m", "connected"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "connected\n", "{}", client.dump());
    socat.kill();
}

#[test]
fn unix_stream_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-srv-unix");
    let path = dir.path("socat.sock");
    let socat = Socat::start(&[&format!("UNIX-LISTEN:{path}"), "PIPE"]);
    assert_eq!(socat.addr, format!("\"{path}\""));
    let client = run(
        socklab(&["unix", "client", &path, "-m", "hi", "-m", "there"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hi\nthere\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn unix_dgram_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-srv-dgram");
    let path = dir.path("socat.sock");
    // UNIX-RECVFROM answers the sender: socklab's client autobinds for that.
    let socat = Socat::start(&[&format!("UNIX-RECVFROM:{path}"), "PIPE"]);
    let client = run(
        socklab(&["unix", "client", &path, "--dgram", "-m", "datagram"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "datagram\n", "{}", client.dump());
    // One datagram, one answer, then socat ends by itself.
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
    // The autobind address: socat logs it as "\0" and five hex digits.
    assert!(
        s.stderr.contains("receiving packet from AF=1 \"\\0"),
        "socat log:\n{}",
        s.stderr
    );
}

#[test]
fn abstract_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let name = abstract_name("peers-socat-srv-abs");
    let socat = Socat::start(&[&format!("ABSTRACT-LISTEN:{}", &name[1..]), "PIPE"]);
    assert_eq!(socat.addr, format!("\"\\0{}\"", &name[1..]));
    let client = run(socklab(&["unix", "client", &name, "-m", "abstract"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "abstract\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

/// nc as a UNIX stream server: it prints what it receives and sends what the
/// test writes to its stdin, so the test plays the server by hand.
#[test]
fn unix_stream_client_nc_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-srv-unix");
    let path = dir.path("nc.sock");
    let mut nc = cmd("nc", &["-N", "-l", "-U", &path]);
    nc.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut nc = nc.spawn().expect("spawn nc");
    let nc_pid = nc.id() as i32;
    // nc -l prints nothing when it is ready, so there is no handshake to
    // read. Poll (bounded, 1 ms steps) for its socket in /proc/net/unix with
    // the listening flag (__SO_ACCEPTCON, 00010000): the file alone appears
    // at bind(), before listen(), when a connect would still be refused.
    let deadline = Instant::now() + WATCHDOG;
    while !unix_listening(&path) {
        if Instant::now() >= deadline {
            // SAFETY: our child.
            unsafe { libc::kill(nc_pid, libc::SIGKILL) };
            panic!("nc never listened on {path}\n{}", finish(nc).dump());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut nc_in = nc.stdin.take().expect("stdin");
    let mut nc_out = BufReader::new(nc.stdout.take().expect("stdout"));

    // The client: one message, print the reply, close.
    let mut client = socklab(&["unix", "client", &path, "-m", "question"]);
    client
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let client = client.spawn().expect("spawn client");

    // nc prints the bytes it received (no newline: socklab sends none). The
    // reader keeps nc's stdout open until nc exits: nc gives up on the
    // connection when its stdout goes away.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok(n) = nc_out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    let mut got = Vec::new();
    while got.len() < b"question".len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => got.extend_from_slice(&chunk),
            Err(_) => {
                // SAFETY: our child.
                unsafe { libc::kill(nc_pid, libc::SIGKILL) };
                panic!(
                    "nc printed {:?}, not the client's message",
                    String::from_utf8_lossy(&got)
                );
            }
        }
    }
    assert_eq!(String::from_utf8_lossy(&got), "question");
    nc_in.write_all(b"ANSWER").expect("write to nc");
    nc_in.flush().expect("flush");
    // Keep nc's stdin open until the client has its answer: nc may drop what
    // is still unread on a pipe that already hung up. The client closes
    // after one reply; then the end of nc's stdin lets nc exit.
    let client = finish(client);
    drop(nc_in);
    client.assert_ok();
    assert_eq!(client.stdout, "ANSWER\n", "{}", client.dump());
    let nc = finish(nc);
    assert_eq!(nc.code(), Some(0), "nc\n{}", nc.dump());
}

/// Is a UNIX stream socket listening on `path`? (/proc/net/unix: the Flags
/// column is 00010000 for a listening socket; the path is the last column.)
fn unix_listening(path: &str) -> bool {
    let table = std::fs::read_to_string("/proc/net/unix").expect("/proc/net/unix");
    table.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.len() >= 8 && cols[3] == "00010000" && cols[7] == path
    })
}
