//! Issue 17's twins of the process and signal-mask lines (issue 14 rule
//! 1): gettid (a pid label), geteuid, rt_sigprocmask, rt_sigtimedwait,
//! sched_setaffinity, prctl(PR_SET_PDEATHSIG) and alarm. The C twin makes
//! each line's very call (strace -f); Python makes gettid, geteuid,
//! alarm, an rt_sigprocmask with both a set and an old mask and prctl
//! (libc's, through ctypes), and refuses the rest with its reason.

use std::collections::BTreeMap;
use std::process::Command;

use super::emit::{build_c, emitted, python};
use super::script_raw;
use crate::harness::{Outcome, TempDir, run, socklab};

const CALLS: &str = "gettid,geteuid,rt_sigprocmask,rt_sigtimedwait,sched_setaffinity,prctl,alarm";

/// Every line: the main actor's (gettid between two others: socklab's and
/// the runners' own gettids come before and after), a process actor's.
const ALL: &str = "\
geteuid() = 0
gettid() = 100
rt_sigprocmask(SIG_BLOCK, [USR1 CHLD], [], 8) = 0
rt_sigprocmask(SIG_SETMASK, NULL, [USR1 CHLD], 8) = 0
rt_sigtimedwait([USR1], NULL, {tv_sec=0, tv_nsec=1000000}, 8) = -1 EAGAIN (Resource temporarily unavailable)
sched_setaffinity(0, 128, [0]) = 0
rt_sigprocmask(SIG_UNBLOCK, [USR1 CHLD], NULL, 8) = 0
p = fork()
p | prctl(PR_SET_PDEATHSIG, SIGTERM) = 0
p | alarm(5) = 0
p | gettid() = 200
p | alarm(0) = 5
";

/// The lines Python emits.
const PYTHON: &str = "\
geteuid() = 0
gettid() = 100
rt_sigprocmask(SIG_BLOCK, [USR1 CHLD], [], 8) = 0
rt_sigprocmask(SIG_UNBLOCK, [USR1 CHLD], [USR1 CHLD], 8) = 0
p = fork()
p | prctl(PR_SET_PDEATHSIG, SIGTERM) = 0
p | alarm(5) = 0
p | gettid() = 200
p | alarm(0) = 5
";

/// A call with its whitespace runs as one and gettid's result `TID`
/// when it is its own task's (`pid`: None, the script's label).
fn norm(call: &str, pid: Option<&str>) -> String {
    let call = call.split_whitespace().collect::<Vec<_>>().join(" ");
    match call.strip_prefix("gettid() = ") {
        Some(n) if pid.is_none_or(|p| p == n) => "gettid() = TID".into(),
        _ => call,
    }
}

/// The script's lines of this set, as calls (actor prefix dropped).
fn script_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.contains("fork()"))
        .map(|l| norm(l.split_once(" | ").map_or(l, |(_, c)| c), None))
        .collect()
}

/// `strace -f -o` output: each task's calls (split calls joined), from
/// its first line of `lines` (gettid aside) to its last, in the order of
/// `lines`. `python`: the main thread's geteuid taken back (the
/// allow-list: site's, before any line; that thread runs none).
fn windows(raw: &str, lines: &[String], python: bool) -> Vec<String> {
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let main = raw.split_whitespace().next().unwrap_or("");
    for l in raw.lines() {
        let Some((pid, call)) = l.split_once(' ') else {
            continue;
        };
        if python && pid == main && call.trim_start().starts_with("geteuid()") {
            continue;
        }
        let calls = tasks.entry(pid.to_string()).or_default();
        let call = call.trim_start();
        if let Some(rest) = call.strip_prefix("<... ")
            && let Some((_, rest)) = rest.split_once(" resumed>")
            && let Some(last) = calls.last_mut()
        {
            *last = format!("{}{rest}", last.trim_end_matches(" <unfinished ...>"));
            continue;
        }
        calls.push(call.to_string());
    }
    let pos = |c: &String| {
        lines
            .iter()
            .position(|l| l == c && !l.starts_with("gettid"))
    };
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    for (pid, calls) in tasks {
        let calls: Vec<String> = calls.iter().map(|c| norm(c, Some(&pid))).collect();
        let first = calls.iter().position(|c| pos(c).is_some());
        let last = calls.iter().rposition(|c| pos(c).is_some());
        if let (Some(a), Some(b)) = (first, last)
            && let Some(at) = calls.get(a).and_then(pos)
        {
            out.push((at, calls.get(a..=b).unwrap_or_default().to_vec()));
        }
    }
    out.sort();
    out.into_iter().flat_map(|(_, c)| c).collect()
}

/// `cmd` under `strace -f` of this module's calls: its outcome and trace.
fn traced(cmd: &Command, dir: &TempDir, name: &str) -> (Outcome, String) {
    let trace = dir.path(&format!("{name}.trace"));
    let mut t = Command::new("strace");
    t.args(["-f", "-qq", "-e", "signal=none", "-e"])
        .arg(format!("trace={CALLS}"))
        .arg("-o")
        .arg(&trace)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .current_dir(dir.dir());
    let out = run(t, b"");
    (out, std::fs::read_to_string(&trace).unwrap_or_default())
}

/// The script's own run and its twin's (`twin`): both exit 0 and make
/// each line's call, in order, as the script writes it.
fn same_calls(dir: &TempDir, file: &str, text: &str, twin: &Command, lang: &str) {
    let lines = script_lines(text);
    let (s_out, s_raw) = traced(&socklab(&["script", file]), dir, "script");
    s_out.assert_ok();
    assert_eq!(windows(&s_raw, &lines, false), lines, "socklab\n{s_raw}");
    let (t_out, t_raw) = traced(twin, dir, lang);
    assert_eq!(t_out.code(), Some(0), "{lang}\n{}", t_out.dump());
    assert_eq!(
        windows(&t_raw, &lines, lang == "python"),
        lines,
        "{lang}\n{t_raw}"
    );
}

/// Every line in C: its twin makes the script's calls (strace -f).
#[test]
fn emit_c_twin_of_process_and_signal_mask_lines() {
    let dir = TempDir::new("emit-procs-c");
    let file = dir.path("all.script");
    std::fs::write(&file, ALL).unwrap();
    let c = emitted(&file, "c");
    for call in [
        "sigprocmask(",
        "sigtimedwait(",
        "sched_setaffinity(",
        "prctl(",
        "alarm(",
    ] {
        assert!(c.contains(&format!("r = {call}")), "{call}\n{c}");
    }
    same_calls(&dir, &file, ALL, &build_c(&dir, &file), "c");
}

/// The lines Python has a call for: its twin makes the script's calls.
#[test]
fn emit_python_twin_of_process_and_signal_mask_lines() {
    let dir = TempDir::new("emit-procs-py");
    let file = dir.path("py.script");
    std::fs::write(&file, PYTHON).unwrap();
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src);
    same_calls(&dir, &file, PYTHON, &py, "python");
}

/// Each written result and old mask is checked by the twins: exit 1,
/// the line and the field.
#[test]
fn emit_twins_check_the_old_mask_and_results() {
    let dir = TempDir::new("emit-procs-wrong");
    // A mask reads as the script writes it (strace's names), in both.
    for (lang, from, to, what) in [
        (
            "c",
            "[USR1 CHLD], 8) = 0\nrt_sigtimedwait",
            "[USR1], 8) = 0\nrt_sigtimedwait",
            "oldset: expected [USR1], got [USR1 CHLD]",
        ),
        ("c", "alarm(0) = 5", "alarm(0) = 4", "result"),
        (
            "python",
            "[USR1 CHLD], [USR1 CHLD], 8)",
            "[USR1 CHLD], [CHLD], 8)",
            "oldset: expected [CHLD], got [USR1 CHLD]",
        ),
        ("python", "geteuid() = 0", "geteuid() = 7", "result"),
    ] {
        let base = if lang == "c" { ALL } else { PYTHON };
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base, "{from}");
        let name = what.split(':').next().unwrap_or(what);
        let file = dir.path(&format!("wrong-{lang}-{name}.script"));
        std::fs::write(&file, &text).unwrap();
        let twin = if lang == "c" {
            build_c(&dir, &file)
        } else {
            let src = dir.path("wrong.py");
            std::fs::write(&src, emitted(&file, "python")).unwrap();
            let mut py = Command::new(python());
            py.arg(&src);
            py
        };
        let out = run(twin, b"");
        assert_eq!(out.code(), Some(1), "{lang} {to}\n{}", out.dump());
        assert!(
            out.stderr.contains(&format!("  {what}"))
                && out.stderr.contains(&format!("  {name}: expected")),
            "{lang} {to}\n{}",
            out.dump()
        );
    }
}

/// Python refuses the lines it has no such call for, each in one line
/// with its reason; C emits every one.
#[test]
fn emit_python_refuses_the_calls_it_cannot_make_with_their_reason() {
    for (line, why) in [
        (
            "rt_sigtimedwait([USR1], NULL, NULL, 8)",
            "rt_sigtimedwait is not emitted in Python: Python's signal.sigtimedwait passes a siginfo where the line has NULL",
        ),
        (
            "sched_setaffinity(0, 128, [0]) = 0",
            "os.sched_setaffinity passes its own cpusetsize",
        ),
        (
            "rt_sigprocmask(SIG_BLOCK, [USR1], NULL, 8) = 0",
            "signal.pthread_sigmask always passes both",
        ),
    ] {
        let o = script_raw(&format!("{line}\n"), &["--emit", "python"]);
        assert_eq!(o.code(), Some(2), "{}", o.dump());
        let errs: Vec<&str> = o
            .stderr
            .lines()
            .filter(|l| l.contains("cannot emit: "))
            .collect();
        assert_eq!(errs.len(), 1, "{}", o.dump());
        assert!(errs.concat().contains(why), "{why}\n{}", o.dump());
        script_raw(&format!("{line}\n"), &["--emit", "c"]).assert_ok();
    }
}

/// The C twin prints a wrong old mask as strace prints it (`[USR1
/// CHLD]`, the trace's own text of that argument), not as a number.
#[test]
fn emit_c_prints_a_wrong_old_mask_as_strace_does() {
    let dir = TempDir::new("emit-procs-masktext");
    let file = dir.path("mask.script");
    let text = "rt_sigprocmask(SIG_BLOCK, [USR1 CHLD], [], 8) = 0\n\
                rt_sigprocmask(SIG_SETMASK, NULL, [USR1], 8) = 0\n";
    std::fs::write(&file, text).unwrap();
    let (out, raw) = traced(&build_c(&dir, &file), &dir, "mask");
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    let got = "[USR1 CHLD]";
    assert!(
        raw.contains(&format!("rt_sigprocmask(SIG_SETMASK, NULL, {got}, 8) = 0")),
        "{raw}"
    );
    assert!(
        out.stderr
            .contains(&format!("  oldset: expected [USR1], got {got}\n")),
        "{}",
        out.dump()
    );
}
