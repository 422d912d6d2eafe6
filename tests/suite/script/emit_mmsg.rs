//! Issue 17's twins of the lines issue 14 rule 7 added: sendmmsg and
//! recvmmsg (a `struct mmsghdr` array in C; refused in Python, with its
//! reason in `--explain`), getpid, getppid (pid labels) and prlimit64
//! (RLIMIT_NOFILE, read back or set) in both twins. The batch UDP
//! server's record, emitted in C, makes the script's calls and its trace
//! replays; each written expectation fails the twin (exit 1, the line).

use std::process::Command;

use super::emit::{build_c, c_twin, c_twin_with, emitted, python, python_twin};
use super::mmsg::{TWO, joined};
use crate::harness::{Outcome, TempDir, run, socklab};

/// The batch UDP server's record (`udp server --batch 4` with its
/// client): the C twin's socket calls equal the script's (recvmmsg's
/// msg_namelen=128 => 16, MSG_WAITFORONE, each entry's msg_len), and its
/// strace -f, as a script, replays.
#[test]
fn emit_c_twin_of_the_batch_udp_server_record() {
    let dir = TempDir::new("emit-mmsg-rec");
    let file = dir.path("joined.script");
    std::fs::write(&file, joined(&dir)).unwrap();
    let c = emitted(&file, "c");
    assert!(c.contains("r = recvmmsg("), "{c}");
    assert!(c.contains("r = sendmmsg("), "{c}");
    c_twin_with(&file, "batch-udp-record", true);
}

/// A written script (two datagrams in one connected sendmmsg, one
/// recvmmsg of both with each name, bytes and msg_len, a named sendmmsg
/// back): the same calls in C, and its trace replays.
#[test]
fn emit_c_twin_of_sendmmsg_and_recvmmsg_lines() {
    let dir = TempDir::new("emit-mmsg-two");
    let file = dir.path("two.script");
    std::fs::write(&file, TWO).unwrap();
    c_twin(&file, "mmsg-two");
}

/// The twin built from `text`, run: its outcome.
fn c_run(dir: &TempDir, name: &str, text: &str) -> Outcome {
    let file = dir.path(&format!("{name}.script"));
    std::fs::write(&file, text).unwrap();
    run(build_c(dir, &file), b"")
}

/// The Python twin of `text`, run: its outcome.
fn py_run(dir: &TempDir, name: &str, text: &str) -> Outcome {
    let file = dir.path(&format!("{name}.script"));
    std::fs::write(&file, text).unwrap();
    let src = dir.path(&format!("{name}.py"));
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src).current_dir(dir.dir());
    run(py, b"")
}

/// Each output field a line writes is checked by both twins: a changed
/// byte, msg_len, msg_name port, entry count or result exits 1 naming the
/// line and the field.
#[test]
fn emit_twins_check_each_field_of_recvmmsg_and_sendmmsg() {
    let dir = TempDir::new("emit-mmsg-wrong");
    for (lang, twin) in [
        ("c", c_run as fn(&TempDir, &str, &str) -> Outcome),
        ("python", py_run),
    ] {
        fields_checked(&dir, lang, twin);
    }
}

fn fields_checked(dir: &TempDir, lang: &str, twin: fn(&TempDir, &str, &str) -> Outcome) {
    twin(dir, &format!("right-{lang}"), TWO).assert_ok();
    let recv = "recvmmsg(a, ";
    let send = "sendmmsg(b, ";
    for (k, (from, to, line, what)) in [
        ("iov_base=\"there\"", "iov_base=\"thEre\"", recv, "data"),
        (
            "iov_len=64}]}, msg_len=5}",
            "iov_len=64}]}, msg_len=4}",
            recv,
            "msg_len",
        ),
        // The first entry's sender (b: port label 40002) against a's port.
        (
            "msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40002)",
            "msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40001)",
            recv,
            "port",
        ),
        (
            "MSG_DONTWAIT, NULL) = 2",
            "MSG_DONTWAIT, NULL) = 1",
            recv,
            "result",
        ),
        (
            "iov_len=2}]}}, {msg_hdr",
            "iov_len=2}]}, msg_len=3}, {msg_hdr",
            send,
            "msg_len",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let wrong = TWO.replacen(from, to, 1);
        assert_ne!(wrong, TWO, "{from}");
        let out = twin(dir, &format!("wrong{k}-{lang}"), &wrong);
        assert_eq!(out.code(), Some(1), "{lang} {from}\n{}", out.dump());
        assert!(
            out.stderr.contains(line) && out.stderr.contains(&format!("  {what}: expected")),
            "{from}\n{}",
            out.dump()
        );
    }
    // A line with fewer entries than came: the count is checked.
    let one = TWO.replacen(", {msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40002), sin_addr=inet_addr(\"127.0.0.1\")}, msg_iov=[{iov_base=\"there\", iov_len=64}]}, msg_len=5}], 4, MSG_DONTWAIT, NULL) = 2", "], 4, MSG_DONTWAIT, NULL)", 1);
    assert_ne!(one, TWO);
    let out = twin(dir, &format!("one-entry-{lang}"), &one);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr.contains("  entries: expected 1, got 2"),
        "{}",
        out.dump()
    );
}

/// The Python twin makes sendmmsg and recvmmsg through ctypes: the
/// script's very calls (no allow-list row), for the written script and
/// the batch UDP server's record (MSG_WAITFORONE, msg_namelen=128 => 16);
/// `--explain` no longer lists them as refused.
#[test]
fn emit_python_twin_of_sendmmsg_and_recvmmsg_lines() {
    let dir = TempDir::new("emit-mmsg-py");
    let file = dir.path("two.script");
    std::fs::write(&file, TWO).unwrap();
    let py = emitted(&file, "python");
    assert!(
        py.contains("r, got = recvmmsg(a, 4, 64, True, socket.MSG_DONTWAIT)"),
        "{py}"
    );
    python_twin(&file, "mmsg-two");
    let rec = dir.path("joined.script");
    std::fs::write(&rec, joined(&dir)).unwrap();
    python_twin(&rec, "batch-udp-record");
    let explain = run(
        socklab(&["script", "-", "--emit", "python", "--explain"]),
        b"",
    );
    explain.assert_ok();
    assert!(!explain.stdout.contains("sendmmsg"), "{}", explain.dump());
}

/// A script of getpid, getppid and prlimit64 lines in a thread actor and
/// a process actor (`kid | getppid() = 100`: the parent's pid label), on
/// a socket's calls.
fn own_script() -> String {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: rl is a live rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    let (cur, max) = (rl.rlim_cur, rl.rlim_max);
    format!(
        "a = socket(AF_INET, SOCK_DGRAM, IPPROTO_IP)
bind(a, 127.0.0.1:0) = 0
getsockname(a, {{sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr(\"127.0.0.1\")}}, [128 => 16]) = 0
getpid() = 100
getppid() = 1
prlimit64(0, RLIMIT_NOFILE, NULL, {{rlim_cur={cur}, rlim_max={max}}}) = 0
prlimit64(0, RLIMIT_NOFILE, {{rlim_cur={cur}, rlim_max={max}}}, NULL) = 0
kid = fork() = 200
kid | getpid() = 200
kid | getppid() = 100
kid | exit_group(0) = ?
wait4(kid, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL) = 200
getpid() = 100
close(a) = 0
"
    )
}

/// `cmd`'s getppid and prlimit64(RLIMIT_NOFILE) lines under strace -f,
/// results and pids as written by the kernel left out (another each run).
fn own_calls(cmd: &Command, dir: &TempDir, name: &str) -> (Outcome, Vec<String>) {
    let trace = dir.path(&format!("{name}.trace"));
    let mut t = Command::new("timeout");
    t.args(["60", "strace", "-f", "-qq", "-e", "signal=none", "-e"])
        .arg("trace=getppid,prlimit64")
        .arg("-o")
        .arg(&trace)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    let out = run(t, b"");
    let raw = std::fs::read_to_string(&trace).unwrap();
    let calls = raw
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, c)| c.trim_start()))
        .filter(|c| c.starts_with("getppid(") || c.contains("RLIMIT_NOFILE"))
        .map(|c| match c.split_once(") ") {
            Some((head, _)) if c.starts_with("getppid(") => format!("{head})"),
            _ => c.split_whitespace().collect::<Vec<_>>().join(" "),
        })
        .collect();
    (out, calls)
}

/// getpid, getppid and prlimit64 in both twins: the socket calls equal
/// the script's (C: and its process calls; the trace replays), the
/// getppid and prlimit64 lines are the script's own, and a pid label
/// that does not hold (the parent's pid written as a process's own)
/// exits 1 in socklab and in both twins.
#[test]
fn emit_twins_of_getpid_getppid_and_prlimit64_lines() {
    let dir = TempDir::new("emit-own");
    let text = own_script();
    let file = dir.path("own.script");
    std::fs::write(&file, &text).unwrap();
    c_twin(&file, "own");
    python_twin(&file, "own");
    let (s_out, s_calls) = own_calls(&socklab(&["script", &file]), &dir, "script");
    s_out.assert_ok();
    assert_eq!(s_calls.len(), 4, "{s_calls:?}");
    let (c_out, c_calls) = own_calls(&build_c(&dir, &file), &dir, "c");
    c_out.assert_ok();
    assert_eq!(s_calls, c_calls, "script (left) vs C (right)");
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src).current_dir(dir.dir());
    let (p_out, p_calls) = own_calls(&py, &dir, "python");
    p_out.assert_ok();
    assert_eq!(s_calls, p_calls, "script (left) vs Python (right)");
    // The child's pid label 200 is not its parent's (100).
    let wrong = text.replacen("kid | getpid() = 200", "kid | getpid() = 100", 1);
    let wrong_file = dir.path("wrong.script");
    std::fs::write(&wrong_file, &wrong).unwrap();
    let s = run(socklab(&["script", &wrong_file]), b"");
    assert_eq!(s.code(), Some(1), "{}", s.dump());
    let c = c_run(&dir, "wrong-c", &wrong);
    assert_eq!(c.code(), Some(1), "{}", c.dump());
    assert!(c.stderr.contains("kid | getpid() = 100"), "{}", c.dump());
    std::fs::write(&src, emitted(&wrong_file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src).current_dir(dir.dir());
    let p = run(py, b"");
    assert_eq!(p.code(), Some(1), "{}", p.dump());
    assert!(p.stderr.contains("kid | getpid() = 100"), "{}", p.dump());
}
