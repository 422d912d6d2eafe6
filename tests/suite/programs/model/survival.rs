//! Models that run out of fds, and prefork workers that end with their parent.

use super::*;
use crate::harness;
use crate::harness::cmp;

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
    let server = Server::start_cmd(with_fd_limit(cmd, 64)).watch_stderr();
    let pid = server.pid();
    let mut conns: Vec<TcpStream> = (0..80)
        .map(|_| TcpStream::connect(&server.addr).expect("connect"))
        .collect();
    // The handshake: the server has met EMFILE (its report is out) before
    // the closes below. Waiting for its 64 fds was not enough: the thread
    // model's main thread could hold the 64th and not have tried its
    // next accept4 yet when the 30 closes freed fds, and then never ran
    // short (no report: a flaky failure under load).
    server.wait_stderr("EMFILE");
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
    harness::assert_no_panic(&out);
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
        harness::blocked_in(*w, libc::SYS_accept4);
    }
    server.signal(libc::SIGKILL);
    for w in &workers {
        eventually(&format!("worker {w} ended after its parent"), || gone(*w));
    }
    let out = server.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    // A worker's call may be split by another task's line, as strace -f
    // splits it: joined here.
    let lines = harness::joined_calls(&out.stderr);
    assert!(
        lines.contains(&format!("getpid() = {pid}")),
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
        // Whole, or split by a child's line, as strace -f prints it.
        let calls = harness::joined_calls(&out.stderr);
        for k in &kids {
            let want = format!("kill({k}, SIGTERM) = 0");
            assert!(calls.contains(&want), "{want}\n{}", out.dump());
        }
        assert!(
            !out.stderr.contains("SIGKILL"),
            "{model}: SIGKILL after SIGTERM\n{}",
            out.dump()
        );
        // Joined too: a wait4 cut by a child's line counts once, whole.
        let by_sigterm = calls
            .iter()
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
