//! When models start listening, and how they fail: fork, pthread_create, a worker that outlives the wait.

use super::*;
use crate::harness;
use crate::harness::cmp;

/// prethread:N says `listening on` once its N-1 threads exist: in
/// strace's order of the process's calls, the write of the line comes after
/// the thread creations (clone3), and /proc shows N threads at once.
#[test]
fn tcp_server_model_prethread_listens_once_its_threads_exist() {
    if !harness::have("strace") {
        return;
    }
    let dir = TempDir::new("prethread-ready");
    let log = dir.path("strace");
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=clone,clone3,write", "-o", &log])
        .arg(harness::bin())
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
    if !harness::have("strace") {
        return;
    }
    let cmd = harness::injected(
        "clone:error=EAGAIN",
        &["tcp", "server", "127.0.0.1:0", "--model", "prefork:1"],
    );
    let out = harness::run(cmd, b"");
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
    if !harness::have("strace") {
        return;
    }
    let cmd = harness::injected(
        "clone3:error=EAGAIN:when=1",
        &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            "thread",
            "--max-conns",
            "2",
        ],
    );
    let server = Server::start_cmd(cmd);
    let mut first = TcpStream::connect(&server.addr).unwrap();
    first.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
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
    // Stopped only once blocked in accept4: stopped while printing a
    // line, it would hold the trace's shared lock and the parent's next
    // line would wait for it forever (a 20 s watchdog kill in CI).
    harness::blocked_in(stopped, libc::SYS_accept4);
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
    // A call another task's line split is read whole (strace -f's halves).
    let lines = harness::joined_calls(&out.stderr);
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

/// Issue 15 item 6: prefork's parent passes wait4 a status, socklab and
/// its C twin alike (the C twin passed NULL), so strace -f shows how each
/// worker ended in both: after SIGTERM to the parent, the lines that carry
/// a status are the same on both sides, and none passes NULL. The program
/// under strace leads its own process group and the harness's wait is
/// bounded (`Server::start_group`): when this test was first written the
/// C server outlived strace and the harness waited on its pipes forever.
#[test]
fn tcp_server_model_prefork_wait4_status_is_the_same_in_rust_and_c() {
    if !harness::have("strace") {
        return;
    }
    let dir = TempDir::new("prefork-wait4");
    let args: Vec<String> = ["127.0.0.1:0", "--model", "prefork:2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut shapes = Vec::new();
    for side in [cmp::Side::Rust, cmp::Side::C] {
        let file = dir.path(&format!("{side:?}.trace"));
        let inner = cmp::program(side, "tcp_server", &args);
        let mut cmd = std::process::Command::new("strace");
        cmd.env_remove("LD_LIBRARY_PATH")
            .args([
                "-f",
                "-qq",
                "-e",
                "signal=none",
                "-e",
                "trace=wait4",
                "-o",
                &file,
            ])
            .arg(inner.get_program())
            .args(inner.get_args());
        let server = Server::start_group(cmd);
        let parent = prefork_workers(server.pid(), 1)[0];
        prefork_workers(parent, 2);
        // SAFETY: the server under our strace (strace's child).
        unsafe { libc::kill(parent, libc::SIGTERM) };
        let out = server.finish();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGTERM),
            "{side:?}: {}",
            out.dump()
        );
        let trace = std::fs::read_to_string(&file).unwrap();
        let waits: Vec<&str> = trace.lines().filter(|l| l.contains("wait4(")).collect();
        assert!(
            !waits.iter().any(|l| l.contains("wait4(-1, NULL, ")),
            "{side:?}: a wait4 without a status\n{trace}"
        );
        // The lines with a status, the pid and the returned pid left out.
        let mut with_status: Vec<String> = waits
            .iter()
            .filter(|l| l.contains(", [{"))
            .filter_map(|l| l.split_once(' ').map(|(_, call)| call.trim_start()))
            .filter_map(|call| call.rsplit_once(" = ").map(|(c, _)| c.to_string()))
            .collect();
        with_status.sort();
        with_status.dedup();
        assert_eq!(
            with_status,
            ["wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], WNOHANG, NULL)"],
            "{side:?}\n{trace}"
        );
        shapes.push(with_status);
    }
    assert_eq!(
        shapes[0], shapes[1],
        "Rust and C pass wait4 the same status"
    );
}
