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

mod batch;
mod limits;
mod streams;
mod unix_dgram;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::harness::{self, Outcome, TempDir, WATCHDOG, run, socklab};

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
        let mut out = harness::finish(self.child.take().unwrap());
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
