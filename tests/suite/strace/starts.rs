//! The server models' set-up calls around a new task (issue 15: every
//! call made is shown, or named in a note line), against `strace -f`:
//! `--model fork`'s SIGCHLD handler is a traced `rt_sigaction` line equal
//! to strace's; around each `--model thread` clone3, every call strace
//! shows in the main task is socklab's line or named in that task's notes
//! (glibc's pthread_create, `Sys::pthread_create`'s note; the worker's
//! mask, the thread model's).

use super::under::{every_call, run_every_call, tcp_model};
use super::unfinished::socklab_tasks;
use super::wire::{RUNTIME, name};
use super::*;

/// `--model fork --max-conns 1`: the SIGCHLD handler's rt_sigaction is a
/// line, equal to strace -f's (handler, flags, restorer, NULL oldact).
#[test]
fn fork_models_sigchld_handler_is_a_line_equal_to_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("starts-fork");
    let (out, trace) = run_every_call(&dir, &tcp_model("fork", "1"), 1);
    let (theirs, main) = every_call(&out);
    let ours = std::fs::read_to_string(&trace).expect("read --trace-file");
    let mine: Vec<&str> = ours
        .lines()
        .filter(|l| l.starts_with("rt_sigaction(SIGCHLD, "))
        .collect();
    let strace: Vec<&str> = theirs[&main]
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("rt_sigaction(SIGCHLD, "))
        .collect();
    assert_eq!(mine.len(), 1, "{ours}");
    assert_eq!(mine, strace, "{ours}");
}

/// `--model thread --max-conns 2`, two clients: in the main task, from
/// the first accept4 to the listener's close, each call strace -f shows
/// is socklab's line, in order, or named in that task's notes (its name
/// and first argument: `rt_sigprocmask(SIG_BLOCK`; memory, futex and the
/// trace's writes excepted, rule 2); one glibc note per clone3.
#[test]
fn thread_models_calls_around_each_clone3_are_shown_or_named_as_strace_f_sees_them() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("starts-thread");
    let (out, trace) = run_every_call(&dir, &tcp_model("thread", "2"), 2);
    let (theirs, main) = every_call(&out);
    let raw = std::fs::read_to_string(&trace).expect("read --trace-file");
    let dump = || format!("--- socklab ---\n{raw}\n--- strace -f ---\n{theirs:#?}");
    let prefix = format!("[pid {main:>5}] ");
    let notes: Vec<&str> = raw
        .lines()
        .map(|l| l.strip_prefix(&prefix).unwrap_or(l))
        .filter(|l| l.starts_with("# "))
        .collect();
    let glibc = notes
        .iter()
        .filter(|n| n.contains("glibc's pthread_create"))
        .count();
    assert_eq!(glibc, 2, "one note per clone3\n{}", dump());
    let ours = socklab_tasks(&trace);
    let span = |lines: Vec<&String>| -> Vec<String> {
        lines
            .into_iter()
            .skip_while(|l| !l.starts_with("accept4("))
            .take_while(|l| !l.starts_with("close(4)"))
            .cloned()
            .collect()
    };
    let mine = span(
        ours.iter()
            .filter(|(p, _)| p.unwrap_or(main) == main)
            .map(|(_, l)| l)
            .collect(),
    );
    let strace = span(theirs[&main].iter().collect());
    assert_eq!(
        mine.iter().filter(|l| l.starts_with("clone3(")).count(),
        2,
        "{}",
        dump()
    );
    let mut next = mine.iter().peekable();
    for line in strace.iter().filter(|l| !RUNTIME.contains(&name(l))) {
        if next.peek().is_some_and(|m| *m == line) {
            next.next();
            continue;
        }
        let key = match line.split_once(", ") {
            Some((head, _)) => head,
            None => line.split_once(')').map_or(line.as_str(), |(head, _)| head),
        };
        assert!(
            notes.iter().any(|n| n.contains(key)),
            "{line:?} not shown, not named ({key:?})\n{}",
            dump()
        );
    }
    assert_eq!(next.next(), None, "a line strace does not show\n{}", dump());
}
