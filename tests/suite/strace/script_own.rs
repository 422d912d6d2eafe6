//! A script's own calls (issue 15 point 5): `socklab script FILE` under
//! `strace -f`, from the first call after the script's file is read to
//! the process's `exit_group`, every call of every task is a timeline
//! line (same text, same `[pid N]` where the line has one) or named in
//! one of its notes: the runner's threads and /proc files before the
//! first line, a process actor's plumbing at its fork, strace -f's end
//! after the last line (src/script/own.rs, src/script/process.rs).
//! Memory, locks and the output's writes are the runtime's (wire.rs
//! `RUNTIME`). labs.rs checks the same for a lab, from its first call.

use super::labs::{names, strace_calls, timeline};
use super::wire::{RUNTIME, name};
use super::*;

/// Run `script FILE` under strace -f; check every call after the
/// file's read against the timeline and its notes.
fn script_calls_are_shown_or_named(file: &str) {
    if !have("strace") {
        return;
    }
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let dir = TempDir::new("script-own");
    let out = dir.path("script.strace");
    let mut cmd = super::under::socklab(&["-qq"], &out);
    cmd.args(["--trace", "script", &path]);
    let o = run(cmd, b"");
    o.assert_ok();
    let theirs = strace_calls(&out);
    let (ours, notes) = timeline(&o.stdout);
    let dump = || format!("{}\n--- strace -f ---\n{theirs:#?}", o.dump());
    // The script's file: openat(..., "PATH", ...) = FD, read, close(FD).
    let opened = theirs
        .iter()
        .position(|(_, l)| l.starts_with("openat(") && l.contains(&format!("\"{path}\"")))
        .unwrap_or_else(|| panic!("the script's openat\n{}", dump()));
    let fd = theirs[opened].1.rsplit(" = ").next().expect("= FD");
    let start = opened
        + theirs[opened..]
            .iter()
            .position(|(_, l)| *l == format!("close({fd}) = 0"))
            .unwrap_or_else(|| panic!("the script's close\n{}", dump()))
        + 1;
    let same = |(p, l): &(i32, String), (q, m): &(Option<i32>, String)| {
        l == m && q.is_none_or(|q| q == *p)
    };
    let mut used = vec![false; ours.len()];
    let mut named = 0;
    for call in theirs[start..]
        .iter()
        .filter(|(_, l)| !RUNTIME.contains(&name(l)))
    {
        if let Some(i) = (0..ours.len()).find(|&i| !used[i] && same(call, &ours[i])) {
            used[i] = true;
            continue;
        }
        let n = name(&call.1);
        assert!(
            notes.iter().any(|t| names(t, n)),
            "{call:?}: not a timeline line, not named in a note\n{}",
            dump()
        );
        named += 1;
    }
    let unseen: Vec<_> = (0..ours.len()).filter(|&i| !used[i]).collect();
    assert!(
        unseen.is_empty(),
        "timeline lines strace -f does not show: {:?}\n{}",
        unseen.iter().map(|&i| &ours[i]).collect::<Vec<_>>(),
        dump()
    );
    // strace -f's end: the runner's exit_group, in the end note.
    assert!(named > 0 && theirs.last().is_some_and(|(_, l)| l == "exit_group(0) = ?"));
    let end = notes.last().expect("the end's note");
    assert!(names(end, "exit_group") && end.contains("`+++ exited with 0 +++`"));
}

/// Two thread actors: the runner's start, each actor's thread, the end.
#[test]
fn script_phone_call_calls_are_shown_or_named_as_strace_f_sees_them() {
    script_calls_are_shown_or_named("examples/phone-call.script");
}

/// Process actors: each fork's pipes and relay threads, their reaping.
#[test]
fn script_sigpipe_calls_are_shown_or_named_as_strace_f_sees_them() {
    script_calls_are_shown_or_named("src/lab/scripts/sigpipe.script");
}

/// A process actor that changes its credentials (setgroups, setgid,
/// setuid lines) and a unix socket file the end removes.
#[test]
fn script_unix_family_calls_are_shown_or_named_as_strace_f_sees_them() {
    script_calls_are_shown_or_named("src/lab/scripts/unix-family.script");
}

/// Signals between process actors (kill, a handler, SIGCHLD, wait4).
#[test]
fn script_signals_calls_are_shown_or_named_as_strace_f_sees_them() {
    script_calls_are_shown_or_named("examples/signals.script");
}
