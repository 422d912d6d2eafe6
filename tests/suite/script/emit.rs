//! Issue 17: `socklab script FILE --emit c|python`. For every script lab
//! (src/lab/scripts) and every example script (examples/): the script,
//! its emitted C program and its emitted Python program, each run under
//! `strace -f`, make the same socket calls, normalised as `make compare`
//! normalises traces (`harness::cmp::strace_calls`): C identically,
//! Python identically once the calls the `socket` module adds (the
//! allow-list, `--emit python --explain`) are taken back. The C
//! program's trace, fed to `socklab script`, replays (the round trip).
//! This file is that comparison (`c_twin`, `python_twin`); the tests that
//! use it are in emit_scripts.rs (every lab and example), emit_unix.rs,
//! emit_epoll.rs, emit_records.rs...; what `--emit` refuses and reports,
//! in emit_messages.rs.

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
    // A fork: `NAME = fork()`, or a record's clone (a thread's is clone3).
    let text = std::fs::read_to_string(file).unwrap();
    let forks = text.contains("fork()") || text.contains("clone(child_stack=NULL");
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
