//! `--model`: every server model under many concurrent clients, with
//! random payloads of random sizes (some larger than the socket buffers),
//! each checked byte for byte; afterwards no fd is left open in the server
//! and no child is left behind (fork, prefork). A client that sends and
//! never reads does not stall the event loops for the others. Not timed:
//! every wait is bounded by a watchdog, never asserted as a duration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod behaviour;
mod same_calls_as_c;
mod startup_and_failures;
mod survival;
mod uring;
mod uring_dgram;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{self, Rng, Server, TempDir, socklab};

/// How many clients run at once against each model.
const CLIENTS: usize = 24;

/// A connected stream, TCP or UNIX.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn connect(addr: &str) -> Conn {
        if addr.starts_with('/') {
            Conn::Unix(UnixStream::connect(addr).expect("connect unix"))
        } else {
            Conn::Tcp(TcpStream::connect(addr).expect("connect tcp"))
        }
    }

    fn split(&self) -> (Box<dyn Write + Send>, Box<dyn Read + Send>) {
        match self {
            Conn::Tcp(s) => (
                Box::new(s.try_clone().unwrap()),
                Box::new(s.try_clone().unwrap()),
            ),
            Conn::Unix(s) => (
                Box::new(s.try_clone().unwrap()),
                Box::new(s.try_clone().unwrap()),
            ),
        }
    }

    fn shutdown_write(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Write),
            Conn::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }

    fn set_timeout(&self) {
        let t = Some(harness::WATCHDOG);
        match self {
            Conn::Tcp(s) => {
                s.set_read_timeout(t).unwrap();
                s.set_write_timeout(t).unwrap();
            }
            Conn::Unix(s) => {
                s.set_read_timeout(t).unwrap();
                s.set_write_timeout(t).unwrap();
            }
        }
    }
}

/// One client: send a random payload (lower-case letters and digits, its
/// size random: mostly small, one in four above a MiB, larger than the
/// socket buffers), half-close, read until the server closes; the reply
/// must be the payload upper-cased, every byte. Writes and reads run at
/// once (a payload larger than the buffers would otherwise deadlock).
fn client(addr: &str, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let size = if rng.below(4) == 0 {
        (1 << 20) + rng.below(1 << 19) as usize
    } else {
        1 + rng.below(64 * 1024) as usize
    };
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let payload: Vec<u8> = (0..size)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
        .collect();
    let expected = payload.to_ascii_uppercase();
    let conn = Conn::connect(addr);
    conn.set_timeout();
    let (mut w, mut r) = conn.split();
    let writer = std::thread::spawn(move || {
        // A few writes of random sizes, as a real client would.
        let mut rng = Rng(seed | 1);
        let mut sent = 0;
        while sent < payload.len() {
            let n = (1 + rng.below(200_000) as usize).min(payload.len() - sent);
            w.write_all(&payload[sent..sent + n]).expect("write");
            sent += n;
        }
    });
    let mut got = Vec::with_capacity(expected.len());
    let mut buf = vec![0u8; 65536];
    // Read until the whole echo is back, then half-close and expect EOF.
    while got.len() < expected.len() {
        let n = r.read(&mut buf).expect("read");
        assert!(n > 0, "server closed after {} of {} bytes", got.len(), size);
        got.extend_from_slice(&buf[..n]);
    }
    writer.join().unwrap();
    conn.shutdown_write();
    let n = r.read(&mut buf).expect("read EOF");
    assert_eq!(n, 0, "bytes after the echo");
    assert!(
        got == expected,
        "echo of {size} bytes corrupted (seed {seed})"
    );
}

fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The children of `pid` (all its threads' children).
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Wait (bounded by the watchdog) until `ok()` holds: the server closes
/// connections and reaps children asynchronously, after the clients' end.
fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < harness::WATCHDOG,
            "still not true after {:?}: {what}",
            harness::WATCHDOG
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run CLIENTS clients at once against `addr`.
fn many_clients(addr: &str, salt: u64) {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let addr = addr.to_string();
            std::thread::spawn(move || client(&addr, salt * 1000 + i as u64))
        })
        .collect();
    for t in threads {
        t.join().expect("a client failed");
    }
}

/// The whole check for one model on one address: fds and children before
/// and after, every echo intact, then SIGTERM: children gone too.
fn check_model(model: &str, args: &[&str], salt: u64) {
    let mut all = args.to_vec();
    all.extend_from_slice(&[
        "-q",
        "--bufsize",
        "16384",
        "--backlog",
        "64",
        "--model",
        model,
    ]);
    let server = Server::start(&all);
    let pid = server.pid();
    // prefork:N forks its workers after the listening line.
    if let Some(n) = model.strip_prefix("prefork:") {
        let n: usize = n.parse().unwrap();
        eventually("the prefork workers", || children(pid).len() == n);
    }
    let pool_children = children(pid);
    let fds = fd_count(pid);
    many_clients(&server.addr, salt);
    eventually(&format!("{model}: fds back to {fds}"), || {
        fd_count(pid) == fds
    });
    eventually(
        &format!("{model}: no zombie and no connection child"),
        || {
            let now = children(pid);
            now.iter().all(|c| !is_zombie(*c)) && now.iter().all(|c| pool_children.contains(c))
        },
    );
    let workers = children(pid);
    server.signal(libc::SIGTERM);
    let out = server.finish();
    harness::assert_no_panic(&out);
    assert!(
        out.stderr.is_empty() || !out.stderr.contains("socklab:"),
        "{model}: unexpected errors\n{}",
        out.dump()
    );
    for w in workers {
        eventually(&format!("{model}: worker {w} ended"), || {
            !Path::new(&format!("/proc/{w}")).exists() || is_zombie(w)
        });
    }
}

#[test]
fn tcp_server_model_epoll_many_clients() {
    check_model("epoll", &["tcp", "server", "127.0.0.1:0"], 1);
}

#[test]
fn tcp_server_model_poll_many_clients() {
    check_model("poll", &["tcp", "server", "127.0.0.1:0"], 2);
}

#[test]
fn tcp_server_model_thread_many_clients() {
    check_model("thread", &["tcp", "server", "127.0.0.1:0"], 3);
}

#[test]
fn tcp_server_model_fork_many_clients() {
    check_model("fork", &["tcp", "server", "127.0.0.1:0"], 4);
}

#[test]
fn tcp_server_model_prefork_many_clients() {
    check_model("prefork:4", &["tcp", "server", "127.0.0.1:0"], 5);
}

#[test]
fn tcp_server_model_prethread_many_clients() {
    check_model("prethread:4", &["tcp", "server", "[::1]:0"], 6);
}

#[test]
fn tcp_server_model_iterative_many_clients() {
    check_model("iterative", &["tcp", "server", "127.0.0.1:0"], 7);
}

#[test]
fn unix_server_model_epoll_many_clients() {
    let dir = TempDir::new("model-epoll");
    let path = dir.path("s.sock");
    check_model("epoll", &["unix", "server", &path], 8);
    assert!(!Path::new(&path).exists(), "socket file left behind");
}

#[test]
fn unix_server_model_fork_many_clients() {
    let dir = TempDir::new("model-fork");
    let path = dir.path("s.sock");
    check_model("fork", &["unix", "server", &path], 9);
    assert!(!Path::new(&path).exists(), "socket file left behind");
}

// ---------------------------------------------------------------------------
// Helpers for the edges of the thread and process models (issue 12; tests in
// `survival` and `startup_and_failures`): out of fds, dead workers, a killed
// parent, stop signals, the pool's readiness.
// ---------------------------------------------------------------------------

/// `cmd` with RLIMIT_NOFILE set to `n` (soft and hard) in the child.
fn with_fd_limit(mut cmd: std::process::Command, n: u64) -> std::process::Command {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn echo(c: &mut TcpStream, msg: &str) {
    c.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
    c.write_all(msg.as_bytes()).unwrap();
    let want = msg.to_ascii_uppercase();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).expect("the echo");
    assert_eq!(got, want.as_bytes());
}

fn is_running(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
}

/// prefork:N's workers (children of pid) once all N exist.
fn prefork_workers(pid: i32, n: usize) -> Vec<i32> {
    eventually("the prefork workers", || children(pid).len() == n);
    children(pid)
}

fn gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid)
}
