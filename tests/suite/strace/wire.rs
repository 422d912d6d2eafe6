//! `--wire` with several tasks (issue 15): a program's own lines carry
//! strace -f's `[pid N] ` as without `--wire`, and a fork's `clone` line
//! comes before the child's first line (the child's lines go straight
//! out, the parent's through the timeline), against one `strace -f -o
//! FILE` of the same run.
//!
//! Compared: the new task's lines (all of them) and the first task's
//! from its first `socket(AF_INET` on, the capture socket's calls left
//! out on both sides (the capture thread's and its refilters are
//! socklab's machinery, not shown: src/wire/).

use super::tasks::{echo, strace_f, strace_tasks};
use super::unfinished::{socklab_lines, socklab_tasks};
use super::*;

/// A line of socklab's trace and its `[pid N]`, if any.
type Line = (Option<i32>, String);

/// The lines of one task from its first `socket(AF_INET` on, without
/// the calls on the capture's fd.
fn program_lines<'a>(lines: impl Iterator<Item = &'a String>, capture_fd: &str) -> Vec<String> {
    let on_capture = |l: &str| {
        l.split_once('(').is_some_and(|(_, rest)| {
            rest.starts_with(&format!("{capture_fd},")) || rest == format!("{capture_fd}) = 0")
        })
    };
    lines
        .skip_while(|l| !l.starts_with("socket(AF_INET,"))
        .filter(|l| !on_capture(l))
        .cloned()
        .collect()
}

/// Run `--wire tcp server --model MODEL --max-conns 1` with one client
/// under strace -f; check socklab's tasks against strace's. `spawn` is
/// the new task's call (`clone(`, `clone3(`).
fn wire_model_equals_strace_f(model: &str, spawn: &str) {
    if !have("strace") || !crate::wire::can_capture() {
        return;
    }
    let dir = TempDir::new("wire-tasks");
    let args = [
        "--wire",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--max-conns",
        "1",
    ];
    let (cmd, out, trace) = strace_f(&dir, &args);
    let server = Server::start_cmd(cmd);
    echo(&server.addr, "one");
    server.finish().assert_ok();
    let ours = socklab_tasks(&trace);
    let (theirs, first) = strace_tasks(&out);
    let dump = || format!("--- socklab ---\n{ours:#?}\n--- strace -f ---\n{theirs:#?}");
    // The task the program started: the return of its last spawn (the
    // capture thread's is not shown).
    let spawned = ours
        .iter()
        .rfind(|(_, l)| l.starts_with(spawn))
        .and_then(|(_, l)| l.rsplit(" = ").next())
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("no {spawn}\n{}", dump()));
    let capture_fd = ours
        .iter()
        .find(|(_, l)| l.starts_with("socket(AF_PACKET,"))
        .and_then(|(_, l)| l.rsplit(" = ").next())
        .unwrap_or_else(|| panic!("no capture socket\n{}", dump()));
    // The new task's lines: all its own, each with its `[pid N]`.
    let mine: Vec<String> = ours
        .iter()
        .filter(|(p, _)| *p == Some(spawned))
        .map(|(_, l)| l.clone())
        .collect();
    assert!(!mine.is_empty(), "no [pid {spawned}] line\n{}", dump());
    assert_eq!(
        Some(&mine),
        theirs.get(&spawned),
        "task {spawned}\n{}",
        dump()
    );
    // The first task's (bare or `[pid FIRST]`), from the program's first socket.
    let main = ours
        .iter()
        .filter(|(p, _)| p.unwrap_or(first) == first)
        .map(|(_, l)| l);
    let strace_main = theirs
        .get(&first)
        .map(|v| program_lines(v.iter(), capture_fd));
    assert_eq!(
        Some(program_lines(main, capture_fd)),
        strace_main,
        "{}",
        dump()
    );
    // No line of another task.
    assert!(
        ours.iter()
            .all(|(p, _)| p.is_none_or(|p| p == first || p == spawned)),
        "{}",
        dump()
    );
    // The spawn's line (or its first half) before the new task's first.
    let raw = socklab_lines(&trace);
    let at = |want: &dyn Fn(&Line) -> bool| raw.iter().position(want);
    let spawn_at = at(&|(_, l)| l.starts_with(spawn) && l.contains(&format!("= {spawned}")));
    let spawn_at =
        spawn_at.or_else(|| at(&|(_, l)| l.starts_with(spawn) && l.ends_with("<unfinished ...>")));
    let child_at = at(&|(p, _)| *p == Some(spawned));
    assert!(spawn_at.is_some() && spawn_at < child_at, "{raw:#?}");
}

/// `--wire --model fork`: the child's calls carry its `[pid N]`, the
/// parent's its own while the child lives, the SIGCHLD line is the
/// parent's; the clone's line comes before the child's first.
#[test]
fn wire_fork_model_pid_prefixes_and_clone_order_equal_strace_f() {
    wire_model_equals_strace_f("fork", "clone(");
}

/// `--wire --model thread`: the worker's calls carry its `[pid N]`,
/// after its clone3's line.
#[test]
fn wire_thread_model_pid_prefixes_and_clone3_order_equal_strace_f() {
    wire_model_equals_strace_f("thread", "clone3(");
}
