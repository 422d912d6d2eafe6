//! A process actor's end and its parent's SIGCHLD, as strace -f shows
//! them (src/script/reaped.rs): a child its parent's blocking wait4
//! reaps before the runner's waitid looks still ends with its
//! `exit_group(N) = ?` and `+++ exited with N +++` before the parent's
//! `wait4(...) = PID` (then the parent's `--- SIGCHLD {...} ---`); the
//! end's own exits and kills show the SIGCHLD in the parent actor's task,
//! between the child's end and the parent's wait4; a handler's SIGCHLD
//! while its actor is between calls shows in its place.

use super::script_raw;
use crate::harness::{TempDir, bin, have, run};

/// The parent waits first; the child exits: the wait4 often reaps it
/// before the runner's waitid(WNOWAIT) looks (ECHILD).
const REAPED: &str = "\
x = fork()
wait4(x, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL)
x | exit_group(3) = ?
";

/// The end exits a process actor (its fd closed first).
const END_EXIT: &str = "\
p = fork()
p | s = socket(AF_INET, SOCK_STREAM, 0)
";

/// The end kills a process actor blocked in accept.
const END_KILL: &str = "\
p = fork()
p | s = socket(AF_INET, SOCK_STREAM, 0)
p | bind(s, 127.0.0.1:0) = 0
p | listen(s, 1) = 0
p | accept(s)
";

/// A handler's SIGCHLD while its actor is between calls: before the
/// actor's next call, not after it.
const HANDLED: &str = "\
rt_sigaction(SIGCHLD, {sa_handler=..., sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=...}, NULL, 8) = 0
x = fork()
x | exit_group(0) = ?
s = socket(AF_INET, SOCK_STREAM, 0)
";

/// Lines as (task, key).
type Keyed = Vec<(String, String)>;

/// The lines this file compares, as (task, key): a process's end
/// (`exit_group(N) = ?`, `+++ ... +++`), `--- SIGCHLD {...} ---` whole,
/// `rt_sigreturn(...) = R`, `socket(...)`, `kill(...)`, `wait4 = PID`
/// (whole or its resumed half).
fn key(text: &str) -> Option<String> {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let kept = [
        "exit_group(",
        "+++ exited",
        "+++ killed",
        "--- SIGCHLD",
        "kill(",
    ];
    if kept.iter().any(|k| t.starts_with(k)) {
        return Some(t);
    }
    if t.starts_with("socket(") {
        return Some("socket".into());
    }
    let back = t.rsplit_once(" = ").map(|(_, r)| r.to_string());
    for call in ["wait4", "rt_sigreturn"] {
        let whole = t.starts_with(&format!("{call}(")) && !t.contains("<unfinished");
        if whole || t.starts_with(&format!("<... {call} resumed>")) {
            return back.map(|r| format!("{call} = {r}"));
        }
    }
    None
}

/// socklab's timeline as (pid, key): each actor's pid from its `[pid N]`
/// lines (a resumed half after a bare unfinished one has none).
fn ours(stdout: &str) -> Vec<(String, String)> {
    let split = |l: &str| -> Option<(String, String)> {
        let (actor, rest) = l.split_once(" | ")?;
        Some((actor.trim().to_string(), rest.to_string()))
    };
    let mut pids = std::collections::BTreeMap::new();
    for (actor, rest) in stdout.lines().filter_map(split) {
        if let Some(r) = rest.strip_prefix("[pid ")
            && let Some((pid, _)) = r.split_once(']')
        {
            pids.insert(actor, pid.trim().to_string());
        }
    }
    stdout
        .lines()
        .filter_map(split)
        .filter_map(|(actor, rest)| {
            let text = match rest.strip_prefix("[pid ") {
                Some(r) => r.split_once("] ")?.1.to_string(),
                None => rest,
            };
            let pid = pids.get(&actor).cloned().unwrap_or(actor);
            key(&text).map(|k| (pid, k))
        })
        .collect()
}

/// strace -f's lines of the tasks in `ours` as (pid, key); socklab's own
/// writes left out, and the `+++` lines of socklab's own threads.
fn theirs(trace: &str, ours: &[(String, String)]) -> Vec<(String, String)> {
    let tasks: Vec<&String> = ours.iter().map(|(p, _)| p).collect();
    // Each call whole, at its entry's place: an `<unfinished ...>` half
    // joined with its task's `<... NAME resumed>` half; but a wait4, which
    // blocks, at its return's (as socklab prints it).
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut open: std::collections::BTreeMap<String, usize> = Default::default();
    for (pid, text) in trace.lines().filter_map(|l| l.split_once(' ')) {
        let (pid, text) = (pid.to_string(), text.trim_start());
        if text.starts_with("wait4(") || text.starts_with("<... wait4") {
            lines.push((pid, text.to_string()));
        } else if let Some(head) = text.strip_suffix("<unfinished ...>") {
            open.insert(pid.clone(), lines.len());
            lines.push((pid, head.trim_end().to_string()));
        } else if let (Some(rest), Some(&at)) = (text.strip_prefix("<... "), open.get(&pid)) {
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            if let Some(line) = lines.get_mut(at) {
                line.1.push_str(tail);
            }
            open.remove(&pid);
        } else {
            lines.push((pid, text.to_string()));
        }
    }
    lines
        .into_iter()
        .filter(|(pid, _)| tasks.contains(&pid))
        .filter_map(|(pid, text)| key(&text).map(|k| (pid, k)))
        .filter(|(pid, k)| !k.starts_with("+++") || ours.contains(&(pid.clone(), k.clone())))
        .collect()
}

/// `socklab script` on `text` under `strace -f`: its timeline's lines
/// and strace's, as (pid, key).
fn under_strace(dir: &TempDir, text: &str, n: usize) -> (Keyed, Keyed, String) {
    let (file, trace) = (
        dir.path(&format!("t{n}.script")),
        dir.path(&format!("t{n}.strace")),
    );
    std::fs::write(&file, text).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-o",
        &trace,
        bin(),
        "script",
        &file,
        "--timeout",
        "0.5",
    ]);
    let o = run(cmd, b"");
    o.assert_ok();
    let strace = std::fs::read_to_string(&trace).unwrap();
    let ours = ours(&o.stdout);
    let theirs = theirs(&strace, &ours);
    (ours, theirs, format!("{}\n{strace}", o.dump()))
}

/// Ten runs of `text` under strace -f: socklab's lines are strace's, in
/// its order; each has `want` (a key).
fn same_as_strace(name: &str, text: &str, want: &str) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new(name);
    for n in 0..10 {
        let (ours, theirs, dump) = under_strace(&dir, text, n);
        assert!(
            ours.iter().any(|(_, k)| k.starts_with(want)),
            "{want}\n{dump}"
        );
        assert_eq!(ours, theirs, "run {n}\n{dump}");
    }
}

#[test]
fn script_a_process_its_parents_wait4_reaped_ends_as_strace_f_shows() {
    same_as_strace(
        "reaped-strace",
        REAPED,
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED",
    );
}

/// Without strace: twenty runs, each with the child's end before the
/// parent's wait4 line, never the note of an end not known.
#[test]
fn script_a_process_its_parents_wait4_reaped_is_never_an_unknown_end() {
    for _ in 0..20 {
        let o = script_raw(REAPED, &[]);
        o.assert_ok();
        assert!(!o.stdout.contains("how is not known"), "{}", o.dump());
        let keys: Vec<String> = ours(&o.stdout).into_iter().map(|(_, k)| k).collect();
        let at = |k: &str| keys.iter().position(|x| x.starts_with(k));
        let (exit, end, wait, chld) = (
            at("exit_group(3) = ?"),
            at("+++ exited with 3 +++"),
            at("wait4 = "),
            at("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED"),
        );
        assert!(
            exit.is_some() && exit < end && end < wait && wait < chld,
            "{}",
            o.dump()
        );
    }
}

#[test]
fn script_the_ends_exit_of_a_process_shows_its_sigchld_as_strace_f() {
    same_as_strace(
        "end-exit-strace",
        END_EXIT,
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED",
    );
}

#[test]
fn script_the_ends_kill_of_a_process_shows_its_sigchld_as_strace_f() {
    same_as_strace(
        "end-kill-strace",
        END_KILL,
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED",
    );
}

#[test]
fn script_a_handlers_sigchld_between_calls_shows_in_its_place_as_strace_f() {
    same_as_strace("handled-strace", HANDLED, "rt_sigreturn = ");
}

/// The parent actor is blocked in a call at the end: which task takes
/// the SIGCHLD of the end's exit is the kernel's; a note says so, at the
/// place, after the child's end and before the parent's wait4.
#[test]
fn script_the_ends_exit_while_its_parent_is_in_a_call_is_a_note() {
    let text = "\
s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
listen(s, 1) = 0
p = fork()
p | x = socket(AF_INET, SOCK_STREAM, 0)
accept(s)
";
    let o = script_raw(text, &["--timeout", "0.3"]);
    o.assert_ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    let at = |k: &str| lines.iter().position(|l| l.contains(k));
    let (end, note, wait) = (
        at("+++ exited with 0 +++"),
        at("# not shown: the SIGCHLD of process "),
        at("wait4("),
    );
    assert!(end.is_some() && end < note && note < wait, "{}", o.dump());
    assert!(!o.stdout.contains("--- SIGCHLD"), "{}", o.dump());
}
