//! `--wire` with several tasks (issue 15): a program's own lines carry
//! strace -f's `[pid N] ` as without `--wire`, and a fork's `clone` line
//! comes before the child's first line (the child's lines go straight
//! out, the parent's through the timeline), against one `strace -f -o
//! FILE` of the same run.
//!
//! Compared: the new task's lines (all of them) and the first task's
//! from its first `socket(AF_INET` on, the capture socket's calls left
//! out on both sides. The capture's own calls (its set-up, its thread's
//! clone3 and `[pid N]`, the refilters; the note lines naming the calls
//! it does not show) are the last test's.

use super::tasks::{strace_f, strace_tasks};
use super::under::{echo, every_call, run_every_call, tcp_model};
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
    let args = [&["--wire"][..], &tcp_model(model, "1")].concat();
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

/// The call's name: `setsockopt` of `setsockopt(4, ...) = 0`.
pub(super) fn name(line: &str) -> &str {
    line.split_once('(').map_or(line, |(n, _)| n)
}

/// Memory, locks (a contended lock's futex, or sched_yield in a spin of
/// a lock or channel) and the trace's own writes: the runtime's, in every
/// trace (rule 2 of mod.rs), not the capture's.
pub(super) const RUNTIME: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "brk",
    "futex",
    "sched_yield",
    "write",
];

/// `--wire`'s own calls (issue 15 item 1), against one `strace -f -o FILE`
/// of `--wire tcp server` and one client: in the task that sets up the
/// capture, every call strace shows from the capture's socket to the
/// program's first one is socklab's line (the traced rt_sigprocmask pair
/// and the capture thread's clone3, equal to strace's) or named in the
/// note after that clone3 (glibc's); each of the capture thread's calls
/// is named in that thread's own note (`[pid N] # wire: ...`; the
/// set-up task's: `Sys::pthread_create`'s, `[pid N] # not shown ...`); the
/// refilters (`setsockopt(FD, ..., SO_ATTACH_FILTER, ...)` made when the
/// server names its port) are lines equal to strace's; and from the
/// clone3 on the program's lines carry `[pid N]`, as strace -f prints
/// them while two tasks live.
#[test]
fn wire_capture_calls_are_shown_or_named_as_strace_f_sees_them() {
    if !have("strace") || !crate::wire::can_capture() {
        return;
    }
    let dir = TempDir::new("wire-own");
    let (out, trace) = run_every_call(
        &dir,
        &["--wire", "tcp", "server", "127.0.0.1:0", "--max-conns", "1"],
        1,
    );
    let (theirs, main) = every_call(&out);
    let raw = std::fs::read_to_string(&trace).expect("read --trace-file");
    let ours = socklab_tasks(&trace);
    let dump = || format!("--- socklab ---\n{raw}\n--- strace -f ---\n{theirs:#?}");
    let clone3 = ours.iter().find(|(_, l)| l.starts_with("clone3("));
    let cap: i32 = clone3
        .and_then(|(_, l)| l.rsplit(" = ").next()?.parse().ok())
        .unwrap_or_else(|| panic!("no clone3 line for the capture thread\n{}", dump()));
    let note_of = |pid: i32| {
        raw.lines()
            .find(|l| l.starts_with(&format!("[pid {pid:>5}] # ")))
            .unwrap_or_else(|| panic!("no note of task {pid}\n{}", dump()))
    };
    // The set-up task: strace's lines from the capture socket to the
    // program's socket are ours, in order, or named in its note.
    let mine: Vec<&String> = ours
        .iter()
        .filter(|(p, _)| p.unwrap_or(main) == main)
        .map(|(_, l)| l)
        .skip_while(|l| !l.starts_with("socket(AF_PACKET,"))
        .take_while(|l| !l.starts_with("socket(AF_INET,"))
        .collect();
    let span = theirs[&main]
        .iter()
        .skip_while(|l| !l.starts_with("socket(AF_PACKET,"))
        .take_while(|l| !l.starts_with("socket(AF_INET,"));
    let (mut next, glibc) = (mine.iter().peekable(), note_of(main));
    for line in span.filter(|l| !RUNTIME.contains(&name(l))) {
        if next.peek().is_some_and(|m| **m == line) {
            next.next();
        } else {
            assert!(
                glibc.contains(name(line)),
                "{line:?} not shown, not named\n{}",
                dump()
            );
        }
    }
    assert_eq!(next.next(), None, "a line strace does not show\n{}", dump());
    // The capture thread: each of its calls named in its note.
    let note = note_of(cap);
    for line in theirs.get(&cap).into_iter().flatten() {
        let n = name(line);
        assert!(
            RUNTIME.contains(&n) || note.contains(n),
            "{line:?} not named\n{}",
            dump()
        );
    }
    // The refilters: lines equal to strace's.
    let fd = mine[0].rsplit(" = ").next().expect("capture fd");
    let attach = format!("setsockopt({fd}, SOL_SOCKET, SO_ATTACH_FILTER, ");
    let refilters = |lines: Vec<&String>| -> Vec<String> {
        let at = lines.iter().position(|l| l.starts_with("socket(AF_INET,"));
        let after = lines.into_iter().skip(at.unwrap_or(usize::MAX));
        after.filter(|l| l.starts_with(&attach)).cloned().collect()
    };
    let main_lines = |p: &Option<i32>| p.unwrap_or(main) == main;
    let ours_main: Vec<&String> = ours
        .iter()
        .filter(|(p, _)| main_lines(p))
        .map(|(_, l)| l)
        .collect();
    let mine = refilters(ours_main);
    assert!(!mine.is_empty(), "no refilter line\n{}", dump());
    assert_eq!(
        mine,
        refilters(theirs[&main].iter().collect()),
        "{}",
        dump()
    );
    // Two tasks live: the program's first socket carries `[pid MAIN]`.
    let first = ours.iter().find(|(_, l)| l.starts_with("socket(AF_INET,"));
    assert_eq!(first.map(|(p, _)| *p), Some(Some(main)), "{}", dump());
}
