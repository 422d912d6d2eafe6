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

mod clients;
mod servers;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use crate::harness::{
    Outcome, Server, TempDir, WATCHDOG, abstract_name, finish, have, run, socklab,
};

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
