//! Each model's tasks make the same calls as its C twin's.

use super::*;
use crate::harness;
use crate::harness::cmp;

// ---------------------------------------------------------------------------
// fork and thread against their C twins, process by process (thread by
// thread): `strace -ff` writes one file per task, so the scheduler's
// interleaving of parent and children does not matter.
// ---------------------------------------------------------------------------

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
        .arg(format!("trace={}", cmp::trace_set()))
        .arg("-o")
        .arg(&prefix)
        .arg(inner.get_program())
        .args(inner.get_args());
    let server = Server::start_cmd(cmd);
    for c in clients {
        let mut all = vec!["tcp", "client", server.addr.as_str()];
        all.extend_from_slice(c);
        harness::run(socklab(&all), b"").assert_ok();
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
    if !harness::have("strace") {
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
            c.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
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
        harness::assert_no_panic(&server.finish());
    }
}
