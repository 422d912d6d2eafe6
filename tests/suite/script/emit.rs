//! Issue 17: `socklab script FILE --emit c|python`. For every script lab
//! (src/lab/scripts) and every example script (examples/): the script,
//! its emitted C program and its emitted Python program, each run under
//! `strace -f`, make the same socket calls, normalised as `make compare`
//! normalises traces (`harness::cmp::strace_calls`): C identically,
//! Python identically once the calls the `socket` module adds (the
//! allow-list, `--emit python --explain`) are taken back. The C
//! program's trace, fed to `socklab script`, replays (the round trip).
//! A line that cannot be emitted is refused (exit 2, one line naming it).

use std::path::Path;
use std::process::Command;

use super::emit_allowed::allowed;
use super::emit_epoll::epoll_calls;
use super::emit_trace::{
    PROCESS_CALLS, PYTHON_FILE_CALLS, as_script, names_as_asked, process_calls,
};
use crate::harness::cmp::{side_by_side, strace_calls, strace_calls_with, trace_set};
use crate::harness::{Outcome, TempDir, run, socklab};

/// Every script lab and example: (its path from the crate root, a name).
pub(super) fn scripts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (dir, tag) in [("src/lab/scripts", "lab"), ("examples", "example")] {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".script"))
            .collect();
        names.sort();
        for n in names {
            let name = format!("{tag}-{}", n.trim_end_matches(".script"));
            out.push((root.join(dir).join(&n).display().to_string(), name));
        }
    }
    out
}

/// `cmd` under `strace -f -qq -e signal=none -y -e trace=... -o trace`
/// (the socket calls and the process calls),
/// with a time limit (`timeout 60`).
pub(super) fn traced(cmd: &Command, trace: &str) -> Command {
    let mut t = Command::new("timeout");
    t.env_remove("LD_LIBRARY_PATH");
    t.args(["60", "strace", "-f", "-qq", "-e", "signal=none", "-y", "-e"])
        .arg(format!(
            "trace={},{PROCESS_CALLS},{PYTHON_FILE_CALLS}{}",
            trace_set(),
            super::emit_netset::ctl_calls()
        ))
        .arg("-o")
        .arg(trace)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    t
}

/// Each run on a lab network starts from the same state: the hosts'
/// route caches (a path MTU an earlier run learnt stays 10 minutes: pmtu),
/// TCP metrics (a cached ssthresh) and neighbour entries flushed.
pub(super) fn fresh_net() {
    let Some(net) = NET.with(|n| n.borrow().clone()) else {
        return;
    };
    for host in ["a", "b"] {
        let ns = format!("{net}-{host}");
        for args in [
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv4.route.flush=1",
            ][..],
            &["-n", &ns, "tcp_metrics", "flush", "all"],
            &["-n", &ns, "neigh", "flush", "all"],
        ] {
            let out = Command::new("ip").args(args).output().unwrap();
            assert!(out.status.success(), "ip {args:?}: {out:?}");
        }
    }
    super::emit_netset::reset_link(&net);
}

/// Run `cmd` under strace; its outcome and its normalised calls.
pub(super) fn calls_of(cmd: &Command, dir: &TempDir, name: &str) -> (Outcome, Vec<String>, String) {
    fresh_net();
    let trace = dir.path(&format!("{name}.trace"));
    let out = run(traced(cmd, &trace), b"");
    let raw = std::fs::read_to_string(&trace).unwrap_or_default();
    (out, strace_calls(&raw), raw)
}

/// The program `socklab script FILE --emit LANG` writes (on a lab
/// network with the script's `--timeout`).
pub(super) fn emitted(file: &str, lang: &str) -> String {
    let mut cmd = socklab(&["script", file, "--emit", lang]);
    if NET.with(|n| n.borrow().is_some()) {
        cmd.args(["--timeout", "20"]);
    }
    let out = run(cmd, b"");
    out.assert_ok();
    out.stdout
}

/// The C program built in `dir` (cc -Wall -Wextra -Werror -pthread).
pub(super) fn build_c(dir: &TempDir, file: &str) -> Command {
    let src = dir.path("twin.c");
    std::fs::write(&src, emitted(file, "c")).unwrap();
    let bin = dir.path("twin");
    let cc = run(
        {
            let mut c = Command::new("cc");
            c.args(["-Wall", "-Wextra", "-Werror", "-pthread", &src, "-o", &bin]);
            c
        },
        b"",
    );
    assert_eq!(cc.code(), Some(0), "{file}: cc failed\n{}", cc.dump());
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir.dir());
    net_arg(&mut cmd, false);
    cmd
}

thread_local! {
    /// The lab network a test's twins run on (`--net NAME`, argv[1]).
    pub(super) static NET: std::cell::RefCell<Option<String>> =
        const { std::cell::RefCell::new(None) };
}

/// The lab network's name as the last argument, if the test set one.
fn net_arg(cmd: &mut Command, flag: bool) {
    if let Some(net) = NET.with(|n| n.borrow().clone()) {
        if flag {
            // A lab's own timeouts may bound its calls (ARP's retries).
            cmd.args(["--timeout", "20", "--net"]);
        }
        cmd.arg(net);
    }
}

pub(super) fn script_cmd(file: &str, dir: &TempDir) -> Command {
    let mut cmd = socklab(&["script", file]);
    net_arg(&mut cmd, true);
    cmd.current_dir(dir.dir());
    cmd
}

fn same(what: &str, a: &[String], b: &[String], dump: &str) {
    assert!(a.len() >= 3, "{what}: too few calls: {a:?}\n{dump}");
    assert_eq!(a, b, "{what}\n{}\n{dump}", side_by_side(a, b));
}

/// The script and its C twin make the same calls; the C twin's trace replays.
pub(super) fn c_twin(file: &str, name: &str) {
    c_twin_with(file, name, true);
}

pub(super) fn c_twin_with(file: &str, name: &str, roundtrip: bool) {
    let dir = TempDir::new("emit-c");
    let (s_out, s_calls, s_raw) = calls_of(&script_cmd(file, &dir), &dir, "script");
    s_out.assert_ok();
    let (c_out, c_calls, raw) = calls_of(&build_c(&dir, file), &dir, "c");
    assert_eq!(
        c_out.code(),
        Some(0),
        "{name}: the C twin failed\n{}",
        c_out.dump()
    );
    same(
        &format!("{name}: script (left) vs C (right)"),
        &s_calls,
        &c_calls,
        &c_out.dump(),
    );
    // Forks, the script's rt_sigaction, kills, wait4s, exits: the same.
    let forks = std::fs::read_to_string(file).unwrap().contains("fork()");
    let p_calls = process_calls(&s_raw, true);
    assert_eq!(
        forks,
        p_calls.iter().any(|c| c.starts_with("clone(")),
        "{name}: {p_calls:?}"
    );
    assert_eq!(forks, as_script(&raw).contains("] clone("), "{name}");
    assert_eq!(
        epoll_calls(&s_raw, false),
        epoll_calls(&raw, false),
        "{name}: epoll and setns calls, script (left) vs C (right)"
    );
    if !roundtrip {
        return;
    }
    assert_eq!(
        process_calls(&s_raw, true),
        process_calls(&raw, true),
        "{name}: process calls, script (left) vs C (right)"
    );
    // The round trip: the C twin's trace, as a script, passes.
    let replay = dir.path("replay.script");
    std::fs::write(&replay, as_script(&raw)).unwrap();
    fresh_net();
    let back = run(script_cmd(&replay, &dir), b"");
    assert_eq!(
        back.code(),
        Some(0),
        "{name}: the C twin's trace does not replay\n{}\n{}",
        as_script(&raw),
        back.dump()
    );
}

/// The script and its Python twin make the same calls once the
/// allow-list (`--emit python --explain`) is taken back.
pub(super) fn python_twin(file: &str, name: &str) {
    let dir = TempDir::new("emit-py");
    let (s_out, _, s_raw) = calls_of(&script_cmd(file, &dir), &dir, "script");
    s_out.assert_ok();
    let s_calls = strace_calls_with(&s_raw, allowed(false));
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src).current_dir(dir.dir());
    net_arg(&mut py, false);
    let trace = dir.path("py.trace");
    fresh_net();
    let p_out = run(traced(&py, &trace), b"");
    let raw = std::fs::read_to_string(&trace).unwrap_or_default();
    let p_calls = names_as_asked(&s_calls, strace_calls_with(&raw, allowed(true)));
    assert_eq!(
        p_out.code(),
        Some(0),
        "{name}: the Python twin failed\n{}",
        p_out.dump()
    );
    assert_eq!(
        epoll_calls(&s_raw, true),
        epoll_calls(&raw, true),
        "{name}: epoll and setns calls, script (left) vs Python (right)"
    );
    // Python's signal.signal is not the raw rt_sigaction (the allow-list).
    assert_eq!(
        process_calls(&s_raw, false),
        process_calls(&raw, false),
        "{name}: process calls, script (left) vs Python (right)"
    );
    same(
        &format!("{name}: script (left) vs Python (right), the allow-list taken back"),
        &s_calls,
        &p_calls,
        &format!(
            "{}\nPython's trace as it came:\n{}",
            p_out.dump(),
            p_calls.join("\n")
        ),
    );
}

/// The interpreter itself (not a shim such as pyenv's, whose own calls
/// strace would show).
pub(super) fn python() -> String {
    let out = run(
        {
            let mut c = Command::new("python3");
            c.args(["-c", "import sys; print(sys.executable)"]);
            c
        },
        b"",
    );
    out.assert_ok();
    out.stdout.trim().to_string()
}

macro_rules! twins {
    ($($test:ident: $name:literal,)*) => {
        const NAMES: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                let (file, name) = scripts().into_iter().find(|(_, n)| n == $name).unwrap();
                let dir = TempDir::new("emit-placed");
                let file = super::emit_unix::placed(&name, file, &dir);
                if !super::emit_unix::may_run(&name, &file) {
                    return;
                }
                c_twin(&file, &name);
                python_twin(&file, &name);
            }
        )*
    };
}

twins! {
    emit_twins_lab_accept_without_listen: "lab-accept-without-listen",
    emit_twins_lab_close_vs_blocked_accept: "lab-close-vs-blocked-accept",
    emit_twins_lab_connect_twice: "lab-connect-twice",
    emit_twins_lab_listen_without_bind: "lab-listen-without-bind",
    emit_twins_lab_nagle_stall: "lab-nagle-stall",
    emit_twins_lab_peek_waitall: "lab-peek-waitall",
    emit_twins_lab_recv_after_shut_rd: "lab-recv-after-shut-rd",
    emit_twins_lab_self_connect: "lab-self-connect",
    emit_twins_lab_send_after_shut_wr: "lab-send-after-shut-wr",
    emit_twins_lab_sigpipe: "lab-sigpipe",
    emit_twins_lab_socketpair_rights: "lab-socketpair-rights",
    emit_twins_lab_unix_family: "lab-unix-family",
    emit_twins_example_blocked_accept: "example-blocked-accept",
    emit_twins_example_connect_twice: "example-connect-twice",
    emit_twins_example_dup_iovec: "example-dup-iovec",
    emit_twins_example_epoll_echo: "example-epoll-echo",
    emit_twins_example_nonblocking_connect: "example-nonblocking-connect",
    emit_twins_example_phone_call: "example-phone-call",
    emit_twins_example_signals: "example-signals",
    emit_twins_example_udp_echo: "example-udp-echo",
    emit_twins_example_unix_permissions: "example-unix-permissions",
}

/// A handler, with and without SA_RESTART (examples/handler-restart.script):
/// the C twin's sigaction, its tgkill (it waits for the handler to have
/// run) and its recvfrom (restarted, then -1 EINTR) are the script's.
/// Python is refused with one line (and --explain
/// says why): signal.signal has no SA_RESTART and PEP 475 retries.
#[test]
fn emit_twins_example_handler_restart() {
    let (file, name) = scripts()
        .into_iter()
        .find(|(_, n)| n == "example-handler-restart")
        .unwrap();
    // No round trip yet: the traced twin shows no rt_sigreturn (not in
    // the traced set), so its restarted recvfrom replays as a new call.
    c_twin_with(&file, &name, false);
    let out = run(socklab(&["script", &file, "--emit", "python"]), b"");
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("cannot emit"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.dump());
    for l in lines {
        assert!(
            l.contains("cannot emit: a handler (sa_handler=...) is not emitted in Python")
                && l.contains("PEP 475"),
            "{l}"
        );
    }
    let explain = run(
        socklab(&["script", &file, "--emit", "python", "--explain"]),
        b"",
    );
    assert!(explain.stdout.contains("PEP 475"), "{}", explain.dump());
}

/// The examples whose Python twin is refused (each has its own test).
pub(super) const C_ONLY: &[&str] = &["example-handler-restart"];

#[test]
fn emit_covers_every_script_lab_and_example() {
    let all: Vec<String> = scripts()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| !C_ONLY.contains(&n.as_str()))
        .collect();
    assert_eq!(all, NAMES, "a script lab or example without its twin test");
}

#[test]
fn emit_python_explain_lists_each_extra_call_with_why() {
    let out = run(
        socklab(&["script", "-", "--emit", "python", "--explain"]),
        b"",
    );
    out.assert_ok();
    for needle in [
        "SOCK_CLOEXEC",
        "accept4",
        "[16]",
        "SO_PROTOCOL",
        "msg_name",
        "SA_ONSTACK",
        "EPOLL_CLOEXEC",
        "F_DUPFD_CLOEXEC",
        "setns",
        "why: ",
    ] {
        assert!(out.stdout.contains(needle), "{needle}\n{}", out.dump());
    }
}

#[test]
fn emit_refuses_what_it_cannot_write_faithfully() {
    let dir = TempDir::new("emit-refuse");
    let file = dir.path("unix.script");
    std::fs::write(
        &file,
        "s = socket(AF_UNIX, SOCK_STREAM, 0)\nunlink(\"/tmp/x\"...) = 0\n",
    )
    .unwrap();
    let out = run(socklab(&["script", &file, "--emit", "c"]), b"");
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.dump());
    assert!(
        out.stderr
            .contains(&format!("{file}:2: cannot emit: a path is a whole string")),
        "{}",
        out.dump()
    );
    // What the emitters once refused (epoll, the file calls, a process
    // actor's credentials) is written now, in both languages.
    std::fs::write(
        &file,
        "e = epoll_create1(0)\ngetrandom(\"\\x01\\x02\", 2, 0) = 2\nc = fork()\nc | setuid(65534) = 0\n",
    )
    .unwrap();
    for lang in ["c", "python"] {
        let out = run(socklab(&["script", &file, "--emit", lang]), b"");
        out.assert_ok();
        assert!(!out.stderr.contains("cannot emit"), "{}", out.dump());
        for call in ["epoll_create1", "getrandom", "setuid"] {
            assert!(out.stdout.contains(call), "{lang}: {call}\n{}", out.dump());
        }
    }
}

#[test]
fn emit_twins_report_a_failed_expectation_and_exit_1() {
    let dir = TempDir::new("emit-fail");
    let file = dir.path("wrong.script");
    let text =
        "s = socket(AF_INET, SOCK_STREAM, 0)\nbind(s, 127.0.0.1:0) = 0\nlisten(s, 1) = -1 EINVAL\n";
    std::fs::write(&file, text).unwrap();
    let c = run(build_c(&dir, &file), b"");
    c.assert_code(1);
    assert!(
        c.stderr.contains(&format!(
            "{file}:3: listen(s, 1) = -1 EINVAL\n  result: expected = -1 EINVAL, got = 0"
        )),
        "{}",
        c.dump()
    );
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src);
    let p = run(py, b"");
    p.assert_code(1);
    assert!(
        p.stderr.contains(&format!(
            "{file}:3: listen(s, 1) = -1 EINVAL\n  result: expected = -1 EINVAL, got = 0"
        )),
        "{}",
        p.dump()
    );
}
