//! `--model`: every server model under many concurrent clients, with
//! random payloads of random sizes (some larger than the socket buffers),
//! each checked byte for byte; afterwards no fd is left open in the server
//! and no child is left behind (fork, prefork). A client that sends and
//! never reads does not stall the event loops for the others. Not timed:
//! every wait is bounded by a watchdog, never asserted as a duration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Rng, Server, TempDir, socklab};

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
        let t = Some(common::WATCHDOG);
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
            start.elapsed() < common::WATCHDOG,
            "still not true after {:?}: {what}",
            common::WATCHDOG
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
    common::assert_no_panic(&out);
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

/// A client that sends 16 MiB and never reads: its connection's output
/// backs up, the server stops reading it, and the others are served all
/// the same; when it goes away (RST: unread data), the server reports the
/// failed call and goes on.
fn slow_reader(model: &str) {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--backlog",
        "64",
    ]);
    let addr = server.addr.clone();
    let hog = TcpStream::connect(&addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut w = hog.try_clone().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut stuck = false;
    for _ in 0..16 {
        if w.write_all(&chunk).is_err() {
            stuck = true; // the buffers are full: the server reads no more
            break;
        }
    }
    assert!(stuck, "16 MiB went out to a server that must stop reading");
    // Others are served while the hog is stuck.
    many_clients(&addr, 77);
    let mut other = TcpStream::connect(&addr).unwrap();
    other.set_read_timeout(Some(common::WATCHDOG)).unwrap();
    for _ in 0..100 {
        other.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        other.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"PING");
    }
    drop(w);
    drop(hog);
    // The server goes on after the hog's reset.
    let mut again = TcpStream::connect(&addr).unwrap();
    again.set_read_timeout(Some(common::WATCHDOG)).unwrap();
    again.write_all(b"after").unwrap();
    let mut b = [0u8; 5];
    again.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"AFTER");
    drop(other);
    drop(again);
    server.signal(libc::SIGTERM);
    let out = server.finish();
    common::assert_no_panic(&out);
    out.stdout_has("from 127.0.0.1:");
}

#[test]
fn tcp_server_model_epoll_slow_reader_does_not_stall_others() {
    slow_reader("epoll");
}

#[test]
fn tcp_server_model_poll_slow_reader_does_not_stall_others() {
    slow_reader("poll");
}

/// --max-conns counts connections across a pool's workers; the server
/// exits 0 after the last one.
#[test]
fn tcp_server_model_pools_stop_after_max_conns() {
    for model in [
        "prefork:3",
        "prethread:3",
        "fork",
        "thread",
        "epoll",
        "poll",
    ] {
        let server = Server::start(&[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            model,
            "--max-conns",
            "5",
        ]);
        for i in 0..5 {
            let msg = format!("m{i}");
            common::run(socklab(&["tcp", "client", &server.addr, "-m", &msg]), b"")
                .assert_ok()
                .stdout_has(&msg.to_uppercase());
        }
        let out = server.finish();
        out.assert_ok();
        assert_eq!(
            out.stdout.matches("connection from").count(),
            5,
            "{model}\n{}",
            out.dump()
        );
        assert_eq!(
            out.stdout.matches(" closed").count(),
            5,
            "{model}\n{}",
            out.dump()
        );
    }
}

/// --once in every model: one connection, one recv, one reply, exit 0.
#[test]
fn tcp_server_model_once() {
    for model in [
        "fork",
        "thread",
        "prefork:2",
        "prethread:2",
        "poll",
        "epoll",
    ] {
        let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--model", model, "--once"]);
        common::run(socklab(&["tcp", "client", &server.addr, "-m", "hi"]), b"")
            .assert_ok()
            .stdout_has("HI");
        server.finish().assert_ok().stdout_has("from ");
    }
}

/// The UDP server's epoll model answers as the iterative one does.
#[test]
fn udp_server_model_epoll() {
    let server = Server::start(&[
        "udp",
        "server",
        "127.0.0.1:0",
        "--model",
        "epoll",
        "--max-conns",
        "2",
    ]);
    common::run(
        socklab(&["udp", "client", &server.addr, "-m", "one", "-m", "two"]),
        b"",
    )
    .assert_ok()
    .stdout_has("ONE")
    .stdout_has("TWO");
    server.finish().assert_ok().stdout_has("datagram from");
}

/// Bad models are usage errors (exit 2, one line) before any syscall.
#[test]
fn tcp_server_model_usage_errors() {
    for (args, text) in [
        (vec!["--model", "prefork"], "needs a pool size"),
        (vec!["--model", "prefork:0"], "from 1 to"),
        (vec!["--model", "prethread:x"], "from 1 to"),
        (vec!["--model", "select"], "is not a model"),
        (
            vec!["--model", "epoll", "--nonblocking"],
            "non-blocking already",
        ),
        (vec!["--model", "poll", "--lines"], "blocking model"),
    ] {
        let mut all = vec!["tcp", "server", "127.0.0.1:0"];
        all.extend(args);
        let out = common::run(socklab(&all), b"");
        out.assert_code(2).stderr_has(text);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.dump());
    }
    common::run(
        socklab(&["udp", "server", "127.0.0.1:0", "--model", "fork"]),
        b"",
    )
    .assert_code(2)
    .stderr_has("iterative or epoll");
}

// ---------------------------------------------------------------------------
// fork and thread against their C twins, process by process (thread by
// thread): `strace -ff` writes one file per task, so the scheduler's
// interleaving of parent and children does not matter.
// ---------------------------------------------------------------------------

#[path = "common/cmp.rs"]
mod cmp;

/// Each task's socket calls, normalised: strace's padding, `-y`'s
/// `<socket:[INODE]>`, ports and pointers; calls a signal interrupted
/// (`= ? ERESTARTSYS`: SIGCHLD lands while the parent waits in accept4, or
/// not, as the children's timing goes) are dropped.
fn tasks(side: cmp::Side, prog: &str, args: &[&str], clients: &[&[&str]]) -> Vec<Vec<String>> {
    let dir = TempDir::new("model-tasks");
    let prefix = dir.path("t");
    let inner = cmp::program(
        side,
        prog,
        &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    let mut cmd = std::process::Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.args(["-ff", "-qq", "-e", "signal=none", "-y", "-e"])
        .arg(format!("trace={}", cmp::TRACE_SET))
        .arg("-o")
        .arg(&prefix)
        .arg(inner.get_program())
        .args(inner.get_args());
    let server = Server::start_cmd(cmd);
    for c in clients {
        let mut all = vec!["tcp", "client", server.addr.as_str()];
        all.extend_from_slice(c);
        common::run(socklab(&all), b"").assert_ok();
    }
    server.finish().assert_ok();
    let mut files: Vec<_> = std::fs::read_dir(dir.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("t."))
        .collect();
    files.sort();
    let mut out: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter(|l| cmp::is_program_call(l) && !l.contains("= ? ERESTARTSYS"))
                .map(normalise)
                .collect::<Vec<String>>()
        })
        .filter(|t: &Vec<String>| !t.is_empty())
        .collect();
    // The parent (it calls listen) first, then the others in order.
    out.sort_by_key(|t| (!t.iter().any(|l| l.starts_with("listen(")), t.clone()));
    out
}

fn normalise(line: &str) -> String {
    let mut s = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("<socket:[") {
        s.push_str(&rest[..i]);
        rest = rest[i..].find("]>").map_or("", |j| &rest[i + j + 2..]);
    }
    s.push_str(rest);
    if let Some(at) = s.rfind(" = ") {
        s = format!("{} = {}", s[..at].trim_end(), &s[at + 3..]);
    }
    for (from, to) in [("htons(", ")"), ("0x", "")] {
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find(from) {
            out.push_str(&rest[..i + from.len()]);
            rest = &rest[i + from.len()..];
            let n = rest.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
            out.push('N');
            rest = &rest[n..];
            let _ = to;
        }
        out.push_str(rest);
        s = out;
    }
    // Connection fds: which number accept4 returns depends on whether the
    // last connection's close came first (threads): `C`.
    if s.starts_with("accept4(")
        && let Some(at) = s.rfind(" = ")
        && s[at + 3..].parse::<i32>().is_ok_and(|fd| fd >= 4)
    {
        s = format!("{} = C", &s[..at]);
    }
    for call in ["recvfrom(", "sendto(", "close("] {
        if let Some(rest) = s.strip_prefix(call) {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if rest[..n].parse::<i32>().is_ok_and(|fd| fd >= 4) {
                s = format!("{call}C{}", &rest[n..]);
            }
        }
    }
    s
}

fn same_tasks(model: &str, clients: &[&[&str]], n_tasks: usize) {
    if !common::have("strace") {
        return;
    }
    let n = clients.len().to_string();
    let args = ["127.0.0.1:0", "--model", model, "--max-conns", n.as_str()];
    let rust = tasks(cmp::Side::Rust, "tcp_server", &args, clients);
    let c = tasks(cmp::Side::C, "tcp_server", &args, clients);
    assert_eq!(rust.len(), n_tasks, "{model}: tasks: {rust:#?}");
    assert_eq!(rust, c, "{model}: Rust (left) and C (right) differ");
}

#[test]
fn tcp_server_model_fork_same_calls_as_c() {
    same_tasks(
        "fork",
        &[&["-m", "hello", "-m", "world"], &["-m", "again"]],
        3,
    );
}

#[test]
fn tcp_server_model_thread_same_calls_as_c() {
    same_tasks(
        "thread",
        &[&["-m", "hello", "-m", "world"], &["-m", "again"]],
        3,
    );
}

/// A pool of one: the parent (socket ... getsockname, close) and its
/// worker (both connections).
#[test]
fn tcp_server_model_prefork_same_calls_as_c() {
    same_tasks("prefork:1", &[&["-m", "hello"], &["-m", "again"]], 2);
}

/// Many connections held open at once by the event loops (bounded at 500:
/// the test's own fd limit may be the default 1024); each gets its echo
/// while all the others stay open; then every fd is closed.
#[test]
fn tcp_server_model_event_loops_hold_many_connections() {
    for model in ["epoll", "poll"] {
        let server = Server::start(&[
            "tcp",
            "server",
            "127.0.0.1:0",
            "-q",
            "--backlog",
            "512",
            "--model",
            model,
        ]);
        let pid = server.pid();
        let fds = fd_count(pid);
        let mut conns: Vec<TcpStream> = (0..500)
            .map(|_| TcpStream::connect(&server.addr).expect("connect"))
            .collect();
        eventually(&format!("{model}: 500 connections accepted"), || {
            fd_count(pid) == fds + 500
        });
        for (i, c) in conns.iter_mut().enumerate() {
            c.set_read_timeout(Some(common::WATCHDOG)).unwrap();
            c.write_all(format!("m{i}").as_bytes()).unwrap();
        }
        for (i, c) in conns.iter_mut().enumerate() {
            let want = format!("M{i}");
            let mut got = vec![0u8; want.len()];
            c.read_exact(&mut got).unwrap();
            assert_eq!(got, want.as_bytes());
        }
        drop(conns);
        eventually(&format!("{model}: fds back to {fds}"), || {
            fd_count(pid) == fds
        });
        server.signal(libc::SIGTERM);
        common::assert_no_panic(&server.finish());
    }
}

// ---------------------------------------------------------------------------
// Edges of the thread and process models (issue 12): out of fds, dead
// workers, a killed parent, stop signals, the pool's readiness.
// ---------------------------------------------------------------------------

use std::os::unix::process::{CommandExt, ExitStatusExt};

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
    c.set_read_timeout(Some(common::WATCHDOG)).unwrap();
    c.write_all(msg.as_bytes()).unwrap();
    let want = msg.to_ascii_uppercase();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).expect("the echo");
    assert_eq!(got, want.as_bytes());
}

fn is_running(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
}

/// Under `ulimit -n 64`, 80 idle connections: accept4 fails with EMFILE.
/// The server reports it (once per shortage, not one per retry), keeps
/// serving the connections it has (the first still echoes), and once 30
/// are closed it accepts again: a new client is served.
fn keeps_serving_when_out_of_fds(side: cmp::Side, model: &str) {
    let args: Vec<String> = ["127.0.0.1:0", "-q", "--backlog", "128", "--model", model]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cmd = cmp::program(side, "tcp_server", &args);
    let server = Server::start_cmd(with_fd_limit(cmd, 64));
    let pid = server.pid();
    let mut conns: Vec<TcpStream> = (0..80)
        .map(|_| TcpStream::connect(&server.addr).expect("connect"))
        .collect();
    // The server has used up its fds (it holds what it could accept).
    eventually(&format!("{model}: 64 fds in use"), || {
        fd_count(pid) >= 63 || !is_running(pid)
    });
    assert!(is_running(pid), "{model}: the server died out of fds");
    echo(&mut conns[0], "first");
    conns.drain(..30);
    let mut fresh = TcpStream::connect(&server.addr).expect("connect");
    echo(&mut fresh, "fresh");
    echo(&mut conns[0], "still");
    assert!(is_running(pid), "{model}: the server died");
    drop(conns);
    drop(fresh);
    server.signal(libc::SIGTERM);
    let out = server.finish();
    common::assert_no_panic(&out);
    let reports = out
        .stderr
        .lines()
        .filter(|l| {
            (l.starts_with("socklab: accept4(") || l.starts_with("tcp_server: accept4: "))
                && l.contains("EMFILE")
        })
        .count();
    // One report per shortage: the first, and at most one more each time
    // a close let an accept through before the next EMFILE (the 30 closes
    // and the accepts of the queued connections interleave), never one
    // per retry.
    assert!(
        (1..=31).contains(&reports),
        "{model}: the EMFILE report, once per shortage\n{}",
        out.dump()
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGTERM),
        "{model}: ran until SIGTERM\n{}",
        out.dump()
    );
}

#[test]
fn tcp_server_model_thread_keeps_serving_when_out_of_fds() {
    keeps_serving_when_out_of_fds(cmp::Side::Rust, "thread");
    keeps_serving_when_out_of_fds(cmp::Side::C, "thread");
}

/// prethread:100 under 64 fds: each worker blocked in accept4 holds an fd
/// (Linux reserves it first), so 40 of them meet EMFILE before any
/// connection: reported, kept (paused), not lost.
#[test]
fn tcp_server_model_prethread_keeps_serving_when_out_of_fds() {
    keeps_serving_when_out_of_fds(cmp::Side::Rust, "prethread:100");
    keeps_serving_when_out_of_fds(cmp::Side::C, "prethread:100");
}

/// prefork:N's workers (children of pid) once all N exist.
fn prefork_workers(pid: i32, n: usize) -> Vec<i32> {
    eventually("the prefork workers", || children(pid).len() == n);
    children(pid)
}

fn gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid)
}

/// kill -9 of the prefork parent: its workers end too (PR_SET_PDEATHSIG
/// SIGTERM, in the trace as strace prints it, with the getppid check).
#[test]
fn tcp_server_model_prefork_workers_end_with_their_parent() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "prefork:3",
    ]);
    let pid = server.pid();
    let workers = prefork_workers(pid, 3);
    // Each has made its prctl and getppid calls: it waits in accept4.
    for w in &workers {
        common::blocked_in(*w, libc::SYS_accept4);
    }
    server.signal(libc::SIGKILL);
    for w in &workers {
        eventually(&format!("worker {w} ended after its parent"), || gone(*w));
    }
    let out = server.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines.contains(&format!("getpid() = {pid}").as_str()),
        "{}",
        out.dump()
    );
    for want in [
        "prctl(PR_SET_PDEATHSIG, SIGTERM) = 0".to_string(),
        format!("getppid() = {pid}"),
    ] {
        let n = lines.iter().filter(|l| **l == want).count();
        assert_eq!(n, 3, "`{want}` once per worker\n{}", out.dump());
    }
}

/// All prefork workers killed: the parent says so, each, and exits 1.
#[test]
fn tcp_server_model_prefork_fails_when_all_workers_died() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--model", "prefork:2"]);
    let pid = server.pid();
    for w in prefork_workers(pid, 2) {
        // SAFETY: a worker of our server.
        unsafe { libc::kill(w, libc::SIGKILL) };
    }
    let out = server.finish();
    out.assert_code(1)
        .stderr_has("was killed by SIGKILL (1 of 2 left)")
        .stderr_has("all 2 prefork workers have ended (2 of them badly): none is left to accept connections");
}

/// SIGTERM to the fork and prefork parents: each child gets SIGTERM and
/// ends by it; no SIGKILL follows (the parent waits for them, bounded).
#[test]
fn tcp_server_model_fork_and_prefork_stop_children_by_sigterm_only() {
    for model in ["fork", "prefork:2"] {
        let server = Server::start(&["--trace", "tcp", "server", "127.0.0.1:0", "--model", model]);
        let pid = server.pid();
        let mut held = Vec::new();
        let kids = if model == "fork" {
            // Two connections, each served by a child of its own.
            for i in 0..2 {
                let mut c = TcpStream::connect(&server.addr).unwrap();
                echo(&mut c, &format!("c{i}"));
                held.push(c);
            }
            eventually("two connection children", || children(pid).len() == 2);
            children(pid)
        } else {
            prefork_workers(pid, 2)
        };
        server.signal(libc::SIGTERM);
        let out = server.finish();
        assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{}", out.dump());
        for k in &kids {
            out.stderr_has(&format!("kill({k}, SIGTERM) = 0"));
        }
        assert!(
            !out.stderr.contains("SIGKILL"),
            "{model}: SIGKILL after SIGTERM\n{}",
            out.dump()
        );
        let by_sigterm = out
            .stderr
            .lines()
            .filter(|l| {
                l.starts_with("wait4(")
                    && l.contains("[{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}]")
            })
            .count();
        assert_eq!(
            by_sigterm,
            2,
            "{model}: children ended by SIGTERM\n{}",
            out.dump()
        );
        out.stderr_has("rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0");
        drop(held);
    }
}

/// prethread:N says `listening on` once its N-1 threads exist: in
/// strace's order of the process's calls, the write of the line comes after
/// the thread creations (clone3), and /proc shows N threads at once.
#[test]
fn tcp_server_model_prethread_listens_once_its_threads_exist() {
    if !common::have("strace") {
        return;
    }
    let dir = TempDir::new("prethread-ready");
    let log = dir.path("strace");
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=clone,clone3,write", "-o", &log])
        .arg(common::bin())
        .args(["tcp", "server", "127.0.0.1:0", "--model", "prethread:4"]);
    let server = Server::start_cmd(cmd);
    let socklab_pid = children(server.pid())[0];
    let tasks = std::fs::read_dir(format!("/proc/{socklab_pid}/task"))
        .unwrap()
        .count();
    assert_eq!(tasks, 4, "threads when `listening on` is out");
    // SAFETY: the traced socklab, strace's child; strace then exits.
    unsafe { libc::kill(socklab_pid, libc::SIGKILL) };
    let _ = server.finish();
    let trace = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let listening = lines
        .iter()
        .position(|l| l.contains("write(1, \"listening on "))
        .unwrap_or_else(|| panic!("no listening write\n{trace}"));
    let clones = lines
        .iter()
        .filter(|l| l.contains("clone3(") || l.contains("clone("))
        .count();
    let before = lines[..listening]
        .iter()
        .filter(|l| l.contains("clone3(") || l.contains("clone("))
        .count();
    assert_eq!(clones, 3, "{trace}");
    assert_eq!(
        before, 3,
        "the threads are made before `listening on`\n{trace}"
    );
}

/// With --trace, the event loops' RLIMIT_NOFILE note is in the trace
/// (stderr), and `listening on` is the first line on stdout.
#[test]
fn tcp_server_model_epoll_traced_listening_is_the_first_stdout_line() {
    for model in ["epoll", "poll"] {
        let server = Server::start(&[
            "--trace",
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            model,
            "--max-conns",
            "1",
        ]);
        let mut c = TcpStream::connect(&server.addr).unwrap();
        echo(&mut c, "hi");
        drop(c);
        let out = server.finish();
        out.assert_ok();
        assert!(
            out.stdout.starts_with("listening on "),
            "{model}: first stdout line\n{}",
            out.dump()
        );
        assert!(!out.stdout.contains("RLIMIT_NOFILE"), "{}", out.dump());
        out.stderr_has("RLIMIT_NOFILE: soft limit");
    }
}

/// A fork that fails with EAGAIN (strace injects it into clone) gets the
/// process-limit hint, not the socket one ("the call would block").
#[test]
fn tcp_server_model_prefork_failed_fork_gets_the_process_limit_hint() {
    if !common::have("strace") {
        return;
    }
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "inject=clone:error=EAGAIN",
        common::bin(),
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "prefork:1",
    ]);
    let out = common::run(cmd, b"");
    out.assert_code(1)
        .stderr_has("socklab: clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD")
        .stderr_has("= -1 EAGAIN (Resource temporarily unavailable)\n  hint: no process can be made")
        .stderr_has("RLIMIT_NPROC");
    assert!(!out.stderr.contains("would block"), "{}", out.dump());
}

/// pthread_create fails (strace injects EAGAIN into its clone3): that
/// connection alone fails (reported with the thread-limit hint, closed);
/// the next client is served and the server ends normally.
#[test]
fn tcp_server_model_thread_failed_pthread_create_fails_only_its_connection() {
    if !common::have("strace") {
        return;
    }
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "inject=clone3:error=EAGAIN:when=1",
        common::bin(),
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "thread",
        "--max-conns",
        "2",
    ]);
    let server = Server::start_cmd(cmd);
    let mut first = TcpStream::connect(&server.addr).unwrap();
    first.set_read_timeout(Some(common::WATCHDOG)).unwrap();
    let _ = first.write_all(b"lost");
    let mut buf = [0u8; 16];
    // Closed without an answer (EOF, or a reset for the unread bytes).
    assert!(
        matches!(first.read(&mut buf), Ok(0) | Err(_)),
        "the first connection is closed"
    );
    let mut second = TcpStream::connect(&server.addr).unwrap();
    echo(&mut second, "served");
    drop(second);
    server
        .finish()
        .assert_ok()
        .stderr_has("socklab: pthread_create: EAGAIN (Resource temporarily unavailable)\n  hint: no thread can be made");
}

/// A worker that cannot act on SIGTERM (stopped): the parent waits for it
/// until the grace time is up (rt_sigtimedwait = EAGAIN), then SIGKILLs
/// it, and only it; the other worker ended by SIGTERM.
#[test]
fn tcp_server_model_prefork_sigkills_only_a_worker_that_outlives_the_wait() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "prefork:2",
    ]);
    let pid = server.pid();
    let workers = prefork_workers(pid, 2);
    let (stopped, other) = (workers[0], workers[1]);
    // SAFETY: a worker of our server.
    unsafe { libc::kill(stopped, libc::SIGSTOP) };
    eventually("the worker is stopped", || {
        std::fs::read_to_string(format!("/proc/{stopped}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('T')
        })
    });
    server.signal(libc::SIGTERM);
    let out = server.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{}", out.dump());
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = |want: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(want))
            .unwrap_or_else(|| panic!("no `{want}`\n{}", out.dump()))
    };
    let term = at(&format!("kill({stopped}, SIGTERM) = 0"));
    let expired = lines
        .iter()
        .rposition(|l| {
            l.starts_with("rt_sigtimedwait(")
                && l.ends_with("= -1 EAGAIN (Resource temporarily unavailable)")
        })
        .unwrap_or_else(|| panic!("the wait never timed out\n{}", out.dump()));
    let kill = at(&format!("kill({stopped}, SIGKILL) = 0"));
    assert!(term < expired && expired < kill, "{}", out.dump());
    assert!(
        !out.stderr.contains(&format!("kill({other}, SIGKILL)")),
        "{}",
        out.dump()
    );
    out.stderr_has("[{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}]");
    out.stderr_has(&format!(
        "wait4({stopped}, [{{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}}], 0, NULL) = {stopped}"
    ));
}

/// The C twin's prefork does the same: its workers end with a killed
/// parent; all workers killed: the parent says so and exits 1.
#[test]
fn tcp_server_model_prefork_c_twin_workers_and_parent_end_together() {
    let args: Vec<String> = ["127.0.0.1:0", "--model", "prefork:2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let server = Server::start_cmd(cmp::program(cmp::Side::C, "tcp_server", &args));
    let workers = prefork_workers(server.pid(), 2);
    server.signal(libc::SIGKILL);
    for w in &workers {
        eventually(&format!("C worker {w} ended after its parent"), || gone(*w));
    }
    drop(server.finish());
    let server = Server::start_cmd(cmp::program(cmp::Side::C, "tcp_server", &args));
    for w in prefork_workers(server.pid(), 2) {
        // SAFETY: a worker of our server.
        unsafe { libc::kill(w, libc::SIGKILL) };
    }
    server
        .finish()
        .assert_code(1)
        .stderr_has("was killed by SIGKILL (1 of 2 left)")
        .stderr_has("all 2 prefork workers have ended (2 of them badly)");
}
