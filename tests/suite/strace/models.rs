//! socklab's trace equals strace's for the server models (event loops, fork, prefork).

use super::under::tcp_model;
use super::*;
use crate::harness;

// ---------------------------------------------------------------------------
// Server models: epoll's calls and the fd limit; fork's clone and wait4.
// ---------------------------------------------------------------------------

#[test]
fn tcp_server_model_epoll() {
    model_event_loop("epoll", &["epoll_create1", "epoll_ctl", "epoll_wait"]);
}

#[test]
fn tcp_server_model_poll() {
    // poll on two fds: the array, and the revents of the ready one.
    model_event_loop("poll", &["poll"]);
}

/// `socklab tcp server --model MODEL --max-conns 1` under `srv`'s strace,
/// one client that gets its echo, the server's clean exit.
fn serve_one_client(srv: &Traced, model: &str) {
    let server = Server::start_cmd(srv.command(&tcp_model(model, "1")));
    run(
        harness::socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    server.finish().assert_ok();
}

fn model_event_loop(model: &str, calls: &[&str]) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-loop");
    let mut srv = Traced::new(&dir, "server");
    srv.filter = model_filter();
    serve_one_client(&srv, model);
    let s = srv.assert_equal(&format!("{model} server"));
    for call in ["prlimit64", "accept4", "recvfrom", "sendto"]
        .iter()
        .chain(calls)
    {
        assert!(has_call(&s, call), "server trace lacks {call}: {s:#?}");
    }
}

/// The fork model: parent and child write one trace file; strace writes
/// one per process. Each process's strace lines (after the rules) must
/// appear in the trace, in order, and nothing else.
#[test]
fn tcp_server_model_fork() {
    model_processes("fork", &["clone", "wait4"]);
}

/// prefork:1: the parent (getpid, clone, wait4) and its worker
/// (prctl(PR_SET_PDEATHSIG, SIGTERM), getppid, the connection's calls).
#[test]
fn tcp_server_model_prefork() {
    model_processes(
        "prefork:1",
        &["getpid", "clone", "prctl", "getppid", "wait4"],
    );
}

fn model_processes(model: &str, calls: &[&str]) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-fork");
    let mut srv = Traced::new(&dir, "server");
    srv.filter = model_filter();
    serve_one_client(&srv, model);
    let ours = srv.socklab_lines();
    let files = srv.strace_files();
    assert_eq!(files.len(), 2, "a parent and one child: {files:#?}");
    let mut total = 0;
    for (i, raw) in files.iter().enumerate() {
        let theirs: Vec<String> = raw
            .iter()
            .map(|l| unpad(l))
            .filter(|l| !is_runtime_call(l))
            // A child's exit is socklab's line (`Sys::exit_group`), and
            // so is the parent's (cli/end.rs); `+++` is a note.
            .filter(|l| !l.starts_with("+++"))
            .collect();
        // The parent's prefix before its first traced call (rule 3).
        let theirs: Vec<String> = if i == 0 {
            let start = theirs
                .iter()
                .position(|l| *l == ours[0])
                .unwrap_or_else(|| panic!("{}", side_by_side(&ours, raw)));
            assert!(
                theirs[..start]
                    .iter()
                    .all(|l| l.starts_with("close(") || l.starts_with("newfstatat(")),
                "{}",
                side_by_side(&ours, raw)
            );
            theirs[start..].to_vec()
        } else {
            theirs
        };
        let mut at = 0;
        for line in &theirs {
            match ours[at..].iter().position(|l| l == line) {
                Some(k) => at += k + 1,
                None => panic!(
                    "process {i}: {line:?} not in the trace, in order\n{}",
                    side_by_side(&ours, raw)
                ),
            }
        }
        total += theirs.len();
    }
    assert_eq!(
        total,
        ours.len(),
        "the trace has lines strace did not see\n{ours:#?}"
    );
    for call in ["accept4", "recvfrom", "sendto"].iter().chain(calls) {
        assert!(has_call(&ours, call), "trace lacks {call}: {ours:#?}");
    }
}
