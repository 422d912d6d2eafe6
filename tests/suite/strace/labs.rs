//! A lab's own calls (issue 15: a line is printed only for a call that
//! was made, and a call strace -f sees that the timeline does not show
//! is named in a note line saying why): `socklab lab NAME` under `strace
//! -f`, from the lab's first call to its last, every call of every task
//! is a timeline line (same text, same `[pid N]` where the line has one)
//! or named in one of the lab's notes (its name as a word; for a
//! socket option, the option too). Memory, locks and the output's
//! writes are the runtime's (wire.rs `RUNTIME`). The notes are the
//! framework's (src/lab/framework/own.rs: the lab's threads, its look
//! at where a side waits, its untraced TCP_INFO; the script runner's
//! actors and /proc files) and the process actors' plumbing
//! (src/script/process.rs `PLUMBING`).

use std::collections::BTreeMap;

use super::under;
use super::wire::{RUNTIME, name};
use super::*;

/// strace -f's calls in file order, each as (task, line): a split call
/// joined at its entry's place, padding gone; no `---`/`+++` lines.
pub(super) fn strace_calls(path: &str) -> Vec<(i32, String)> {
    let (mut calls, mut open) = (Vec::<(i32, String)>::new(), BTreeMap::new());
    for (pid, line) in under::lines(path) {
        let line = line.as_str();
        if line.starts_with("+++") || line.starts_with("---") {
            continue;
        }
        if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            open.insert(pid, calls.len());
            calls.push((pid, head.to_string()));
        } else if let Some(rest) = line.strip_prefix("<... ") {
            let tail = rest.split_once(" resumed>").expect("resumed").1;
            let at = open.remove(&pid).expect("unfinished first");
            calls[at].1 = unpad(&format!("{}{tail}", calls[at].1));
        } else {
            calls.push((pid, unpad(line)));
        }
    }
    calls
}

/// A lab's timeline: its calls as (the line's `[pid N]`, if any; the
/// call, a split one joined at its entry, a fork's `NAME = ` dropped),
/// and its notes' texts.
pub(super) fn timeline(stdout: &str) -> (Vec<(Option<i32>, String)>, Vec<String>) {
    let (mut calls, mut notes) = (Vec::<(Option<i32>, String)>::new(), Vec::new());
    let mut open = BTreeMap::new();
    for line in stdout.lines() {
        let (tag, body) = match line.split_once(" | ") {
            Some((tag, body)) => (tag.trim(), body),
            None => ("", line),
        };
        let (pid, body) = match body.strip_prefix("[pid ") {
            Some(rest) => {
                let (pid, body) = rest.split_once("] ").expect("[pid N] ");
                (Some(pid.trim().parse::<i32>().expect("pid")), body)
            }
            None => (None, body),
        };
        if let Some(note) = body.strip_prefix("# ") {
            notes.push(note.to_string());
            continue;
        }
        let key = (tag.to_string(), pid);
        if let Some(rest) = body.strip_prefix("<... ") {
            let tail = rest.split_once(" resumed>").expect("resumed").1;
            let at = open.remove(&key).expect("unfinished first");
            let (_, head): &mut (Option<i32>, String) = &mut calls[at];
            *head = format!("{head}{tail}");
            continue;
        }
        // `ign = clone(...) = N`: strace's `clone(...) = N`.
        let body = match body.split_once(" = ") {
            Some((label, call)) if is_word(label) && is_call(call) => call,
            _ => body,
        };
        if !is_call(body) {
            continue;
        }
        match body.strip_suffix(" <unfinished ...>") {
            Some(head) => {
                open.insert(key, calls.len());
                calls.push((pid, head.to_string()));
            }
            None => calls.push((pid, body.to_string())),
        }
    }
    (calls, notes)
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `name(...) = RET`, or its entry `name(... <unfinished ...>`.
fn is_call(s: &str) -> bool {
    s.split_once('(').is_some_and(|(n, _)| is_word(n))
        && (s.contains(" = ") || s.ends_with(" <unfinished ...>"))
}

/// Whether `note` names `word` (not inside a longer identifier).
pub(super) fn names(note: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    note.match_indices(word).any(|(at, _)| {
        !ident(note[..at].chars().next_back()) && !ident(note[at + word.len()..].chars().next())
    })
}

/// Run `lab NAME` under strace -f; check every call of its tasks
/// between its first and last timeline call against its timeline.
fn lab_calls_are_shown_or_named(lab: &str) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("lab-own");
    let out = dir.path("lab.strace");
    let mut cmd = under::socklab(&["-qq"], &out);
    cmd.args(["lab", lab]);
    let o = run(cmd, b"");
    o.assert_ok();
    let theirs = strace_calls(&out);
    let (ours, notes) = timeline(&o.stdout);
    let dump = || format!("{}\n--- strace -f ---\n{theirs:#?}", o.dump());
    let same = |(p, l): &(i32, String), (q, m): &(Option<i32>, String)| {
        l == m && q.is_none_or(|q| q == *p)
    };
    let first = ours
        .first()
        .unwrap_or_else(|| panic!("no call\n{}", dump()));
    let last = ours.last().expect("a call");
    let start = theirs.iter().position(|c| same(c, first));
    let end = theirs.iter().rposition(|c| same(c, last));
    let (Some(start), Some(end)) = (start, end) else {
        panic!("{first:?} .. {last:?} not in strace -f\n{}", dump());
    };
    let mut used = vec![false; ours.len()];
    for call in theirs[start..=end]
        .iter()
        .filter(|(_, l)| !RUNTIME.contains(&name(l)))
    {
        let mine = (0..ours.len()).find(|&i| !used[i] && same(call, &ours[i]));
        if let Some(i) = mine {
            used[i] = true;
            continue;
        }
        let n = name(&call.1);
        // A socket option: its name too (an untraced TCP_INFO is not
        // a shown SO_ERROR).
        let opt = match n {
            "getsockopt" | "setsockopt" => call.1.split(", ").nth(2),
            _ => None,
        };
        assert!(
            notes
                .iter()
                .any(|t| names(t, n) && opt.is_none_or(|o| names(t, o))),
            "{call:?}: not a timeline line, not named in a note\n{}",
            dump()
        );
    }
    let unseen: Vec<_> = (0..ours.len()).filter(|&i| !used[i]).collect();
    assert!(
        unseen.is_empty(),
        "timeline lines strace -f does not show: {:?}\n{}",
        unseen.iter().map(|&i| &ours[i]).collect::<Vec<_>>(),
        dump()
    );
}

/// Two sides on threads: the threads' start and end, the trace's gettid.
#[test]
fn lab_phone_call_calls_are_shown_or_named_as_strace_f_sees_them() {
    lab_calls_are_shown_or_named("phone-call");
}

/// /proc/self/task/TID/syscall (where a side waits) and TCP_INFO.
#[test]
fn lab_empty_send_calls_are_shown_or_named_as_strace_f_sees_them() {
    lab_calls_are_shown_or_named("empty-send");
}

/// Loops summed up in notes (backlog 1, 2, 5), /proc/net/netstat.
#[test]
fn lab_backlog_calls_are_shown_or_named_as_strace_f_sees_them() {
    lab_calls_are_shown_or_named("backlog");
}

/// A script lab with process actors: the runner's actor threads and
/// /proc files, the pipes and relay threads of each fork.
#[test]
fn lab_sigpipe_calls_are_shown_or_named_as_strace_f_sees_them() {
    lab_calls_are_shown_or_named("sigpipe");
}
