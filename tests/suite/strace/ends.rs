//! A program's own end, as strace -f prints it (issue 15; cli/end.rs):
//! after its last call, `exit_group(N) = ?` and `+++ exited with N +++`,
//! N the exit code the user sees. For a client, a failing client (exit
//! 1), and the iterative, fork and thread servers: socklab's trace ends
//! with strace -f's own last lines (the process's last call, its
//! exit_group, its `+++ exited`), and strace -f's file ends there too (no
//! task of the process is left to print after it).

use std::process::ExitStatus;

use super::under;
use super::*;

/// `strace -f` (the `+++` lines kept) of socklab `args`, with the calls
/// compared and exit_group.
fn traced(dir: &TempDir, args: &[&str]) -> (Command, String, String) {
    let filter: &'static str = Box::leak(format!("{},exit_group", model_filter()).into_boxed_str());
    under::command(dir, &["-e", "signal=none", "-e", filter], args)
}

/// The end of the run: socklab's trace's last three lines (its last call
/// and its end) are strace -f's last three, those of the first process,
/// and say `code`, the process's exit code.
fn assert_ends_as_strace_f(what: &str, out: &str, trace: &str, status: ExitStatus, code: i32) {
    assert_eq!(status.code(), Some(code), "{what}: exit code");
    let theirs = under::lines(out);
    let first = theirs.first().expect("strace -f's lines").0;
    let tail: Vec<(i32, String)> = theirs[theirs.len().saturating_sub(3)..]
        .iter()
        .map(|(pid, l)| (*pid, unpad(l)))
        .collect();
    let ours: Vec<String> = std::fs::read_to_string(trace)
        .expect("socklab's trace")
        .lines()
        .map(str::to_string)
        .collect();
    let ours_tail = &ours[ours.len().saturating_sub(3)..];
    let dump =
        || format!("{what}\n--- socklab ---\n{ours:#?}\n--- strace -f (tail) ---\n{tail:#?}");
    assert!(tail.iter().all(|(pid, _)| *pid == first), "{}", dump());
    let theirs_tail: Vec<&String> = tail.iter().map(|(_, l)| l).collect();
    assert_eq!(
        ours_tail.iter().collect::<Vec<_>>(),
        theirs_tail,
        "{}",
        dump()
    );
    let end = [
        format!("exit_group({code}) = ?"),
        format!("+++ exited with {code} +++"),
    ];
    assert_eq!(ours_tail[1..], end, "{}", dump());
}

#[test]
fn a_client_ends_as_strace_f() {
    if !have("strace") {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let dir = TempDir::new("ends-client");
    let args = ["tcp", "client", &server.addr, "-m", "hi", "-m", "there"];
    let (cmd, out, trace) = traced(&dir, &args);
    let o = run(cmd, b"");
    // stdout is a pipe here: the program's output is all there.
    assert_eq!(o.stdout, "HI\nTHERE\n", "{}", o.dump());
    assert_ends_as_strace_f("client", &out, &trace, o.status, 0);
    server.finish().assert_ok();
}

#[test]
fn a_failing_client_ends_as_strace_f_with_exit_1() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let dir = TempDir::new("ends-refused");
    let addr = format!("127.0.0.1:{port}");
    let (cmd, out, trace) = traced(&dir, &["tcp", "client", &addr, "-m", "hi"]);
    let o = run(cmd, b"");
    o.stderr_has("ECONNREFUSED");
    assert_ends_as_strace_f("refused client", &out, &trace, o.status, 1);
    let last_call = std::fs::read_to_string(&trace).unwrap();
    let last_call = last_call.lines().rev().nth(2).unwrap().to_string();
    assert!(last_call.starts_with("connect("), "{last_call}");
}

/// `tcp server --model MODEL --max-conns 1`, one echo client.
fn server_ends_as_strace_f(model: &str) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("ends-server");
    let (cmd, out, trace) = traced(&dir, &under::tcp_model(model, "1"));
    let server = Server::start_cmd(cmd);
    under::echo(&server.addr, "hi");
    let o = server.finish();
    assert_ends_as_strace_f(model, &out, &trace, o.status, 0);
}

#[test]
fn an_iterative_server_ends_as_strace_f() {
    server_ends_as_strace_f("iterative");
}

#[test]
fn a_fork_server_ends_as_strace_f() {
    server_ends_as_strace_f("fork");
}

#[test]
fn a_thread_server_ends_as_strace_f() {
    server_ends_as_strace_f("thread");
}
