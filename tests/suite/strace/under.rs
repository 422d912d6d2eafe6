//! One socklab run under `strace -f`, the set-up every test here that
//! compares a run with strace -f's file shares: the command (`strace -f
//! OPTIONS -o FILE socklab --trace-file TRACE ARGS`), the traced
//! socklab's pid, and strace's file read back (its pid column gone, a
//! split call joined, padding gone: rule 1), so that each test says only
//! what it checks.

use std::collections::BTreeMap;

use super::*;

/// `strace -f OPTIONS -o OUT socklab`: the arguments are the caller's.
pub(super) fn socklab(options: &[&str], out: &str) -> Command {
    let mut cmd = Command::new("strace");
    cmd.arg("-f")
        .args(options)
        .arg("-o")
        .arg(out)
        .arg(harness::bin());
    cmd
}

/// `strace -f OPTIONS -o OUT socklab --trace-file TRACE ARGS`, and the
/// paths OUT (strace's file) and TRACE (socklab's), both in `dir`.
pub(super) fn command(dir: &TempDir, options: &[&str], args: &[&str]) -> (Command, String, String) {
    let (out, trace) = (dir.path("all.strace"), dir.path("all.trace"));
    let mut cmd = socklab(options, &out);
    cmd.arg("--trace-file").arg(&trace).args(args);
    (cmd, out, trace)
}

/// `tcp server 127.0.0.1:0 --model MODEL --max-conns N`: the server
/// whose tasks the tests compare.
pub(super) fn tcp_model<'a>(model: &'a str, max_conns: &'a str) -> [&'a str; 7] {
    [
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--max-conns",
        max_conns,
    ]
}

/// `strace -f -qq` (every call) of the server `args`, one echo client
/// per `clients`, the server's end; the paths of strace's file and of
/// socklab's trace.
pub(super) fn run_every_call(dir: &TempDir, args: &[&str], clients: usize) -> (String, String) {
    let (cmd, out, trace) = command(dir, &["-qq"], args);
    let server = Server::start_cmd(cmd);
    for i in 0..clients {
        echo(&server.addr, &format!("c{i}"));
    }
    server.finish().assert_ok();
    (out, trace)
}

/// One `tcp client` exchange of `msg` with the echo server at `addr`.
pub(super) fn echo(addr: &str, msg: &str) {
    run(harness::socklab(&["tcp", "client", addr, "-m", msg]), b"")
        .assert_ok()
        .stdout_has(&msg.to_uppercase());
}

/// socklab, the child of strace `strace`.
pub(super) fn traced_pid(strace: i32) -> i32 {
    let kids = std::fs::read_to_string(format!("/proc/{strace}/task/{strace}/children"))
        .expect("strace's children");
    kids.split_whitespace()
        .next()
        .expect("socklab")
        .parse()
        .expect("pid")
}

/// strace -f's file as written: each line's task and text (`PID  line`:
/// the column's spaces gone; the call's padding kept).
pub(super) fn lines(path: &str) -> Vec<(i32, String)> {
    let text = std::fs::read_to_string(path).expect("read strace -f output");
    text.lines()
        .map(|raw| {
            let (pid, line) = raw.split_once(' ').expect("PID line");
            (pid.parse().expect("pid"), line.trim_start().to_string())
        })
        .collect()
}

/// strace -f's lines, each split call (`NAME(args <unfinished ...>`,
/// then `<... NAME resumed>rest` of the same task) joined where it
/// resumed, padding gone; and the first task's pid.
pub(super) fn joined(path: &str) -> (Vec<(i32, String)>, i32) {
    let lines = lines(path);
    let first = lines.first().map_or(0, |(pid, _)| *pid);
    let (mut calls, mut open) = (Vec::new(), BTreeMap::new());
    for (pid, line) in lines {
        let whole = if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            open.insert(pid, head.to_string());
            continue;
        } else if let Some(rest) = line.strip_prefix("<... ") {
            let tail = rest.split_once(" resumed>").expect("resumed").1;
            format!("{}{tail}", open.remove(&pid).expect("unfinished first"))
        } else {
            line
        };
        calls.push((pid, unpad(&whole)));
    }
    (calls, first)
}

/// Lines (task, line) by task, each task's in order.
pub(super) fn by_task(
    lines: impl IntoIterator<Item = (i32, String)>,
) -> BTreeMap<i32, Vec<String>> {
    let mut tasks: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (pid, line) in lines {
        tasks.entry(pid).or_default().push(line);
    }
    tasks
}

/// strace -f's file (every call): each task's calls, split ones joined,
/// padding gone (no `---`/`+++` lines), by pid; and the first pid.
pub(super) fn every_call(path: &str) -> (BTreeMap<i32, Vec<String>>, i32) {
    let (lines, first) = joined(path);
    let calls = lines
        .into_iter()
        .filter(|(_, l)| !l.starts_with("+++") && !l.starts_with("---"));
    (by_task(calls), first)
}
