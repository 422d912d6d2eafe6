//! Peers that misbehave (issue #8): a client that resets mid-message, that
//! half-closes, that connects and sends nothing, that sends 1 MiB without
//! reading the replies, that disappears with data in flight. After each,
//! the server (TCP and UNIX stream, the iterative model) serves the next,
//! well-behaved client, and a flood does not make it grow.
//!
//! The iterative server serves one client at a time: while a client that
//! sends nothing is connected, the next one waits in the accept queue (the
//! kernel completes its handshake; its data waits). It is served once the
//! silent one leaves, or at once with `--timeout SECS`, which ends the
//! silent connection (`recvfrom ... timed out`) and goes on. The tests show
//! both. The event-loop models, which serve the others meanwhile, are
//! tested with them (`--model`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;
#[path = "peers_misbehave/unix_dgram.rs"]
mod unix_dgram;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::{Outcome, TempDir, WATCHDOG, run, socklab};

/// A server whose stdout lines arrive one by one (the test waits for
/// `connection from` before it misbehaves further).
struct Live {
    child: Option<Child>,
    addr: String,
    lines: Receiver<String>,
    seen: String,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = socklab(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut live = Live {
            child: Some(child),
            addr: String::new(),
            lines,
            seen: String::new(),
        };
        let l = live.wait_for("listening on ");
        live.addr = l.trim_start_matches("listening on ").to_string();
        live
    }

    /// The next line that starts with `prefix` (bounded by the watchdog).
    fn wait_for(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(WATCHDOG) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => panic!("no line {prefix:?} from the server; so far:\n{}", self.seen),
            }
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn finish(mut self) -> Outcome {
        let mut out = common::finish(self.child.take().unwrap());
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        out.stdout = self.seen.clone();
        out
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// VmRSS of a process in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A connection of the test's own to the server: TCP or UNIX stream.
enum Peer {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Peer {
    fn connect(addr: &str) -> Peer {
        if addr.starts_with('/') {
            Peer::Unix(UnixStream::connect(addr).unwrap())
        } else {
            Peer::Tcp(TcpStream::connect(addr).unwrap())
        }
    }

    fn stream(&mut self) -> (&mut dyn Read, &mut dyn Write) {
        match self {
            Peer::Tcp(s) => {
                let r: *mut TcpStream = s;
                // SAFETY: Read and Write on the same socket do not alias
                // any Rust state (TcpStream is an fd).
                (unsafe { &mut *r }, s)
            }
            Peer::Unix(s) => {
                let r: *mut UnixStream = s;
                // SAFETY: as above.
                (unsafe { &mut *r }, s)
            }
        }
    }

    fn write(&mut self, data: &[u8]) {
        self.stream().1.write_all(data).unwrap();
    }

    /// Read until `n` bytes came or the server closed.
    fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut got = vec![];
        let mut buf = [0u8; 4096];
        while got.len() < n {
            match self.stream().0.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        got
    }

    fn half_close(&self) {
        match self {
            Peer::Tcp(s) => s.shutdown(Shutdown::Write).unwrap(),
            Peer::Unix(s) => s.shutdown(Shutdown::Write).unwrap(),
        }
    }

    fn fd(&self) -> i32 {
        match self {
            Peer::Tcp(s) => s.as_raw_fd(),
            Peer::Unix(s) => s.as_raw_fd(),
        }
    }

    /// close with SO_LINGER {on, 0}: TCP sends RST instead of FIN.
    fn reset(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid fd and a linger struct of the right size.
        let r = unsafe {
            libc::setsockopt(
                self.fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &linger as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0);
        drop(self);
    }
}

/// The well-behaved client after the misbehaving one: it gets its reply.
fn next_client_is_served(addr: &str) {
    let family = if addr.starts_with('/') { "unix" } else { "tcp" };
    let out = run(
        socklab(&[family, "client", addr, "-m", "next", "--timeout", "10"]),
        b"",
    );
    out.assert_ok().stdout_has("NEXT");
}

/// Each server kind the tests run: TCP, and UNIX stream on a fresh path.
fn servers(extra: &[&str], f: impl Fn(Live)) {
    let dir = TempDir::new("misbehave");
    let path = dir.path("s.sock");
    for base in [
        vec!["tcp", "server", "127.0.0.1:0"],
        vec!["unix", "server", path.as_str()],
    ] {
        let mut args = base.clone();
        args.extend_from_slice(extra);
        f(Live::start(&args));
        assert!(!std::path::Path::new(&path).exists(), "socket file removed");
    }
}

#[test]
fn server_survives_a_reset_mid_message() {
    servers(&["--max-conns", "2"], |mut srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"half a mess");
        srv.wait_for("from ");
        // Unread reply in our buffer + linger 0: an RST (TCP), a reset (UNIX).
        peer.reset();
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok();
        assert!(out.stdout.contains("\"next\""), "{}", out.dump());
    });
}

#[test]
fn server_answers_a_half_closed_client_then_the_next() {
    servers(&["--max-conns", "2"], |srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"hello");
        peer.half_close();
        // The server reads "hello", answers, reads 0 (our FIN) and closes:
        // we read the reply, then end of stream.
        let got = peer.read_n(usize::MAX);
        assert_eq!(got, b"HELLO");
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok().stdout_has("closed");
    });
}

#[test]
fn a_silent_client_holds_the_iterative_server_until_it_leaves() {
    servers(&["--max-conns", "2"], |mut srv| {
        let silent = Peer::connect(&srv.addr);
        srv.wait_for("connection from ");
        // The next client connects (the kernel queues it) and waits.
        let addr = srv.addr.clone();
        let next = std::thread::spawn(move || next_client_is_served(&addr));
        drop(silent);
        next.join().unwrap();
        srv.finish().assert_ok();
    });
}

#[test]
fn timeout_ends_a_silent_client_and_the_server_goes_on() {
    servers(&["--max-conns", "2", "--timeout", "0.5"], |mut srv| {
        let _silent = Peer::connect(&srv.addr);
        srv.wait_for("connection from ");
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok().stderr_has("timed out");
    });
}

#[test]
fn a_flood_without_reading_does_not_grow_the_server() {
    servers(&["--max-conns", "3", "-q"], |srv| {
        let before = rss_kib(srv.pid());
        let mut peer = Peer::connect(&srv.addr);
        // 1 MiB without reading a reply: the server echoes until both
        // directions' buffers are full, then blocks in sendto (it reads no
        // more than --bufsize at a time, and holds nothing else).
        let fd = peer.fd();
        // SAFETY: fd is our socket; make writes non-blocking.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        let mut stalled = 0;
        while sent < (1 << 20) && stalled < 50 {
            match peer
                .stream()
                .1
                .write(&chunk[..chunk.len().min((1 << 20) - sent)])
            {
                Ok(n) => {
                    sent += n;
                    stalled = 0;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Wait (bounded) for room; 50 waits of 20 ms with no
                    // room at all: the server has stopped reading.
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    if unsafe { libc::poll(&mut pfd, 1, 20) } == 0 {
                        stalled += 1;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        let during = rss_kib(srv.pid());
        assert!(
            during < before + 4096,
            "server RSS grew from {before} KiB to {during} KiB under a flood of {sent} bytes"
        );
        // Leave with the replies unread: the server's send fails (reset)
        // or completes; either way it serves the next client.
        peer.reset();
        next_client_is_served(&srv.addr);
        let after = rss_kib(srv.pid());
        assert!(after < before + 4096, "{before} KiB -> {after} KiB");
        println!("flood of {sent} bytes unread: server RSS {before} -> {during} -> {after} KiB");
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}

#[test]
fn a_client_killed_with_data_in_flight_does_not_stop_the_server() {
    servers(&["--max-conns", "2"], |mut srv| {
        let family = if srv.addr.starts_with('/') {
            "unix"
        } else {
            "tcp"
        };
        // A socklab client sending 8 MiB, killed once the server has
        // accepted it: megabytes still to come, echoes unread.
        let mut c = socklab(&[family, "client", &srv.addr, "--size", "8388608"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        srv.wait_for("connection from ");
        let _ = c.kill();
        let _ = c.wait();
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}

#[test]
fn a_client_that_sends_and_vanishes_before_the_reply() {
    servers(&["--max-conns", "2"], |mut srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"bye");
        drop(peer);
        srv.wait_for("from ");
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}

/// SIGPIPE never kills socklab: a server whose stdout reader went away
/// (`socklab ... | head -1`) keeps serving, and a client whose peer is gone
/// gets EPIPE or ECONNRESET as an error line, exit 1, not death by signal.
#[test]
fn a_closed_stdout_or_a_gone_peer_is_not_death_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = socklab(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().trim_start_matches("listening on ").to_string();
    drop(out); // the reader is gone: the server's next line meets EPIPE
    next_client_is_served(&addr);
    let srv = common::finish(child);
    assert_eq!(srv.status.signal(), None, "{}", srv.dump());
    srv.assert_ok();

    // A server that answers once and leaves; the rest of the client's
    // message goes to a closed connection (TCP and UNIX stream).
    let dir = TempDir::new("epipe");
    let path = dir.path("e.sock");
    for (family, addr_arg) in [("tcp", "127.0.0.1:0"), ("unix", path.as_str())] {
        let mut srv = Live::start(&[family, "server", addr_arg, "--once"]);
        let addr = srv.addr.clone();
        let family = family.to_string();
        let client = std::thread::spawn(move || {
            let mut c = socklab(&[&family, "client", &addr, "--size", "4000000"]);
            c.stdin(Stdio::null());
            run(c, b"")
        });
        srv.wait_for("connection from ");
        let out = client.join().unwrap();
        assert_eq!(out.status.signal(), None, "{}", out.dump());
        assert_eq!(out.code(), Some(1), "{}", out.dump());
        assert!(
            out.stderr.contains("EPIPE") || out.stderr.contains("ECONNRESET"),
            "{}",
            out.dump()
        );
        srv.finish().assert_ok();
    }
}

/// Oversized datagrams: recvfrom(MSG_TRUNC) returns the real length, and
/// the truncation is reported, never silently cut (UDP and UNIX datagram
/// servers and clients; the C twins print the same line).
#[test]
fn oversized_datagrams_are_reported_as_truncated() {
    let dir = TempDir::new("trunc");
    let path = dir.path("d.sock");
    let c_bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("c_compat/bin");
    for twin in [false, true] {
        for (family, addr_arg, model) in [
            ("udp", "127.0.0.1:0", "iterative"),
            ("udp", "127.0.0.1:0", "epoll"),
            ("unix", path.as_str(), "iterative"),
        ] {
            let args = [addr_arg, "--bufsize", "16", "--once", "--model", model];
            let mut cmd = if twin {
                let mut c = std::process::Command::new(c_bin.join(format!("{family}_server")));
                c.args(args);
                c
            } else {
                let mut c = socklab(&[family, "server"]);
                c.args(args);
                if family == "unix" {
                    c.arg("--dgram");
                }
                c
            };
            if twin && family == "unix" {
                cmd.arg("--dgram");
            }
            if twin && !c_bin.join(format!("{family}_server")).exists() {
                panic!("c_compat/bin is not built: make c");
            }
            let srv = common::Server::start_cmd(cmd);
            let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
            let reply = if family == "udp" {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_read_timeout(Some(WATCHDOG)).unwrap();
                s.send_to(&data, &srv.addr).unwrap();
                let mut buf = [0u8; 200];
                let n = s.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            } else {
                let s =
                    std::os::unix::net::UnixDatagram::bind(dir.path(&format!("c{twin}"))).unwrap();
                s.set_read_timeout(Some(WATCHDOG)).unwrap();
                s.send_to(&data, &srv.addr).unwrap();
                let mut buf = [0u8; 200];
                let n = s.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            };
            assert_eq!(
                reply,
                data[..16].to_ascii_uppercase(),
                "twin {twin} {family}"
            );
            let out = srv.finish();
            out.assert_ok()
                .stdout_has(": truncated: 100 bytes, buffer 16 (--bufsize)");
        }
    }
    // A client whose buffer is smaller than the reply.
    let srv = common::Server::start(&["udp", "server", "127.0.0.1:0", "--once"]);
    let out = run(
        socklab(&["udp", "client", &srv.addr, "--bufsize", "4", "-m", "hello"]),
        b"",
    );
    out.assert_ok().stdout_has(&format!(
        "datagram from {}: truncated: 5 bytes, buffer 4 (--bufsize)",
        srv.addr
    ));
    srv.finish().assert_ok();
}

/// `--lines`: a client that sends and sends without a newline cannot make
/// the line buffer grow without bound: past 64 KiB the connection is
/// refused with one line, the memory stays flat, the next client is served
/// (socklab and its C twin).
#[test]
fn a_line_without_end_is_cut_off_at_the_limit() {
    let c_bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("c_compat/bin/tcp_server");
    for twin in [false, true] {
        let args = ["127.0.0.1:0", "--lines", "--max-conns", "2", "-q"];
        let cmd = if twin {
            let mut c = std::process::Command::new(&c_bin);
            c.args(args);
            c
        } else {
            let mut c = socklab(&["tcp", "server"]);
            c.args(args);
            c
        };
        let srv = common::Server::start_cmd(cmd);
        let before = rss_kib(srv.pid());
        let mut peer = Peer::connect(&srv.addr);
        let chunk = vec![b'x'; 64 * 1024];
        // Up to 8 MiB without a newline: the server refuses the line after
        // 64 KiB and closes (our write then fails), or the buffers take it
        // all; either way the refusal is on its stderr (checked below).
        let mut sent = 0;
        while sent < (8 << 20) {
            match peer.stream().1.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        let during = rss_kib(srv.pid());
        assert!(
            during < before + 4096,
            "twin {twin}: {before} -> {during} KiB"
        );
        drop(peer);
        run(
            socklab(&[
                "tcp",
                "client",
                &srv.addr,
                "--lines",
                "-m",
                "next",
                "--timeout",
                "10",
            ]),
            b"",
        )
        .assert_ok()
        .stdout_has("NEXT");
        let out = srv.finish();
        out.assert_ok()
            .stderr_has("a line longer than 65536 bytes (no newline yet)");
    }
}

/// The other server models (`--model`, src/programs/model/) serve the others while
/// one client is silent and another floods without reading: the
/// well-behaved client gets its reply with both still connected. The
/// single-process models (poll, epoll, thread, prethread) do not grow
/// under the flood: the event loops keep at most --bufsize of output per
/// connection and stop reading from it until that is out.
#[test]
fn other_models_serve_the_others_meanwhile() {
    let dir = TempDir::new("models");
    let path = dir.path("m.sock");
    // A pool of N workers serves N clients at a time: with two of them held
    // by the silent client and the flooder, a pool of 4 has two left.
    for model in [
        "epoll",
        "poll",
        "thread",
        "prethread:4",
        "fork",
        "prefork:4",
    ] {
        for addr_arg in ["127.0.0.1:0", path.as_str()] {
            let family = if addr_arg.starts_with('/') {
                "unix"
            } else {
                "tcp"
            };
            let srv = common::Server::start(&[
                family,
                "server",
                addr_arg,
                "--model",
                model,
                "--max-conns",
                "3",
                "-q",
            ]);
            let before = rss_kib(srv.pid());
            let silent = Peer::connect(&srv.addr);
            let mut flood = Peer::connect(&srv.addr);
            let fd = flood.fd();
            // SAFETY: our socket; non-blocking writes.
            unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
            let chunk = vec![b'y'; 64 * 1024];
            let (mut sent, mut stalled) = (0usize, 0);
            while sent < (1 << 20) && stalled < 25 {
                match flood.stream().1.write(&chunk) {
                    Ok(n) => {
                        sent += n;
                        stalled = 0;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        let mut pfd = libc::pollfd {
                            fd,
                            events: libc::POLLOUT,
                            revents: 0,
                        };
                        // SAFETY: one valid pollfd.
                        if unsafe { libc::poll(&mut pfd, 1, 20) } == 0 {
                            stalled += 1;
                        }
                    }
                    Err(e) => panic!("{model}: {e}"),
                }
            }
            // Served while the silent one and the flooder are connected.
            let out = run(
                socklab(&[family, "client", &srv.addr, "-m", "next", "--timeout", "10"]),
                b"",
            );
            assert!(
                out.code() == Some(0) && out.stdout.contains("NEXT"),
                "--model {model} {family}: the next client is served meanwhile\n{}",
                out.dump()
            );
            if !model.contains("fork") {
                let during = rss_kib(srv.pid());
                assert!(
                    during < before + 8192,
                    "{model} {family}: VmRSS {before} -> {during} KiB under a flood of {sent} bytes"
                );
            }
            drop(silent);
            flood.reset();
            let out = srv.finish();
            out.assert_ok();
            if let Some(p) = std::path::Path::new(addr_arg).parent()
                && family == "unix"
            {
                assert!(!p.join("m.sock").exists(), "{model}: socket file left");
            }
        }
    }
}
