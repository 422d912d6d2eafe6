//! A signal with a handler (src/script/handled.rs, src/sys/handler.rs):
//! `rt_sigaction(SIGUSR1, {sa_handler=..., ...}, NULL, 8)` installs
//! socklab's own handler in a thread or a process actor; a kill to the
//! actor asleep in recvfrom/accept4 shows strace -f's lines (checked
//! against strace -f of the same run, task by task): `= ? ERESTARTSYS`,
//! `--- SIGUSR1 {...} ---`, `rt_sigreturn({mask=[]}) = 45` and the
//! restarted call (SA_RESTART), or `= -1 EINTR` (without). The timeline
//! replays.

use std::collections::BTreeMap;

use super::{script, script_raw};
use crate::harness::{self, Outcome};

/// A thread actor `a` blocked in recvfrom, signalled by `b`, then fed.
fn thread_script(flags: &str, result: &str) -> String {
    format!(
        "a | rt_sigaction(SIGUSR1, {{sa_handler=..., sa_mask=[], sa_flags={flags}, sa_restorer=...}}, NULL, 8) = 0
a | p = socketpair(AF_UNIX, SOCK_STREAM, 0, ...) = 0
a | recvfrom(p[0], ..., 16, 0, NULL, NULL) = {result}
b | kill(a, SIGUSR1) = 0
b | sendto(p[1], \"hi\", 2, 0, NULL, 0) = 2
"
    )
}

/// The same in a process actor `w` (forked from `main`), signalled by
/// kill(2) from thread actor `b`.
fn process_script(flags: &str, result: &str) -> String {
    format!(
        "main | p = socketpair(AF_UNIX, SOCK_STREAM, 0, ...) = 0
main | w = fork()
w | rt_sigaction(SIGUSR1, {{sa_handler=..., sa_mask=[], sa_flags={flags}, sa_restorer=...}}, NULL, 8) = 0
w | recvfrom(p[0], ..., 16, 0, NULL, NULL) = {result}
b | kill(w, SIGUSR1) = 0
b | sendto(p[1], \"hi\", 2, 0, NULL, 0) = 2
"
    )
}

/// Addresses as `0xH`, runs of spaces as one (strace pads before `=`).
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        out.push_str("0xH");
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Is this one of the lines the comparison is about?
fn about(call: &str) -> bool {
    [
        "recvfrom(",
        "<... recvfrom",
        "tgkill(",
        "kill(",
        "sendto(",
        "rt_sigreturn(",
        "--- SIGUSR1",
    ]
    .iter()
    .any(|p| call.starts_with(p))
        || call.starts_with("rt_sigaction(SIGUSR1")
}

/// A timeline's lines per actor (tag and `[pid N]` dropped), those [`about`].
fn by_actor(o: &Outcome) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in o.stdout.lines() {
        if let Some((tag, call)) = l.split_once(" | ") {
            let call = harness::untask(call.trim());
            if about(call) {
                out.entry(tag.trim().to_string())
                    .or_default()
                    .push(plain(call));
            }
        }
    }
    out
}

/// strace -f's lines (`-o` file) per pid, those [`about`].
fn by_pid(raw: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in raw.lines() {
        let Some((pid, call)) = l.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if about(call) {
            out.entry(pid.to_string()).or_default().push(plain(call));
        }
    }
    out
}

/// Run `text` under strace -f: the timeline's lines per actor and
/// strace's per task must be the same sequences (None: no strace).
fn against_strace(text: &str, name: &str) -> Option<BTreeMap<String, Vec<String>>> {
    if !harness::have("strace") {
        return None;
    }
    let dir = harness::TempDir::new(name);
    let (file, trace) = (dir.path("t.script"), dir.path("t.strace"));
    std::fs::write(&file, text).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-o", &trace]);
    cmd.args([
        "-e",
        "trace=rt_sigaction,recvfrom,sendto,kill,tgkill,rt_sigreturn",
    ]);
    cmd.args([harness::bin(), "script", &file]);
    let out = harness::run(cmd, b"");
    out.assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    let mine: Vec<Vec<String>> = by_actor(&out).into_values().collect();
    let theirs: Vec<Vec<String>> = by_pid(&raw).into_values().collect();
    for seq in &mine {
        assert!(
            theirs.contains(seq),
            "socklab's lines of one actor are not one task's under strace -f\n{seq:#?}\n{theirs:#?}\n{}",
            out.dump()
        );
    }
    assert_eq!(mine.len(), theirs.len(), "{theirs:#?}\n{}", out.dump());
    Some(by_actor(&out))
}

/// [`by_actor`], with the pids and tids of tgkill and `---` as `N`
/// (this run's own).
fn numbered(o: &Outcome) -> BTreeMap<String, Vec<String>> {
    let mut all = by_actor(o);
    for lines in all.values_mut() {
        for l in lines.iter_mut() {
            if l.starts_with("tgkill(") || l.starts_with("---") {
                let mut out = String::new();
                let mut digits = false;
                for c in l.chars() {
                    if c.is_ascii_digit() {
                        if !digits {
                            out.push('N');
                        }
                        digits = true;
                    } else {
                        digits = false;
                        out.push(c);
                    }
                }
                *l = out;
            }
        }
    }
    all
}

const HANDLER: &str = "rt_sigaction(SIGUSR1, {sa_handler=0xH, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0xH}, NULL, 8) = 0";
const ERESTARTSYS: &str = "<... recvfrom resumed>0xH, 16, 0, NULL, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)";

fn signal_line(code: &str) -> &'static str {
    match code {
        "SI_TKILL" => "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_TKILL",
        _ => "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER",
    }
}

/// The handled actor's lines: the handler, the call cut by the signal,
/// the signal, rt_sigreturn, then the call again or nothing.
fn assert_handled(lines: &[String], restart: bool, code: &str, o: &Outcome) {
    let want_handler = if restart {
        HANDLER.to_string()
    } else {
        HANDLER.replace("|SA_RESTART", "")
    };
    assert_eq!(lines.first(), Some(&want_handler), "{}", o.dump());
    assert_eq!(
        lines.get(1).map(String::as_str),
        Some("recvfrom(3, <unfinished ...>"),
        "{}",
        o.dump()
    );
    assert_eq!(
        lines.get(2).map(String::as_str),
        Some(ERESTARTSYS),
        "{}",
        o.dump()
    );
    assert!(
        lines
            .get(3)
            .is_some_and(|l| l.starts_with(signal_line(code))),
        "{}",
        o.dump()
    );
    if restart {
        let rest = [
            "rt_sigreturn({mask=[]}) = 45",
            "recvfrom(3, <unfinished ...>",
            "<... recvfrom resumed>\"hi\", 16, 0, NULL, NULL) = 2",
        ];
        assert_eq!(
            lines.get(4..),
            Some(&rest.map(String::from)[..]),
            "{}",
            o.dump()
        );
    } else {
        let rest = ["rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"];
        assert_eq!(
            lines.get(4..),
            Some(&rest.map(String::from)[..]),
            "{}",
            o.dump()
        );
    }
}

#[test]
fn script_a_handler_with_sa_restart_restarts_a_thread_actors_recvfrom_as_strace_shows() {
    let text = thread_script("SA_RESTORER|SA_RESTART", "2");
    let out = script_raw(&text, &[]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("a | # sa_handler: socklab's own handler"),
        "{}",
        out.dump()
    );
    assert_handled(by_actor(&out).get("a").unwrap(), true, "SI_TKILL", &out);
    if let Some(traced) = against_strace(&text, "handler-restart") {
        assert_handled(traced.get("a").unwrap(), true, "SI_TKILL", &out);
    }
}

#[test]
fn script_a_handler_without_sa_restart_makes_a_thread_actors_recvfrom_return_eintr() {
    let text = thread_script("SA_RESTORER", "-1 EINTR");
    let out = script_raw(&text, &[]);
    out.assert_ok();
    assert_handled(by_actor(&out).get("a").unwrap(), false, "SI_TKILL", &out);
    against_strace(&text, "handler-eintr");
    // The expectation is checked: with SA_RESTART the call does not
    // return -1 EINTR.
    let wrong = script(&thread_script("SA_RESTORER|SA_RESTART", "-1 EINTR"), &[]);
    assert_eq!(wrong.code(), Some(1), "{}", wrong.dump());
}

#[test]
fn script_a_handler_in_a_process_actor_restarts_or_interrupts_its_recvfrom() {
    for (flags, result, restart) in [
        ("SA_RESTORER|SA_RESTART", "2", true),
        ("SA_RESTORER", "-1 EINTR", false),
    ] {
        let text = process_script(flags, result);
        let out = script_raw(&text, &[]);
        out.assert_ok();
        assert_handled(by_actor(&out).get("w").unwrap(), restart, "SI_USER", &out);
        against_strace(&text, "handler-process");
    }
}

/// The timeline, fed back: the interrupted call and its restarted line
/// are one call; the record replays with the same lines. Recorded with
/// SA_RESTART, replayed without it, it fails (the call returned EINTR).
#[test]
fn script_a_recorded_erestartsys_and_restarted_call_replay() {
    for (flags, result) in [("SA_RESTORER|SA_RESTART", "2"), ("SA_RESTORER", "-1 EINTR")] {
        let first = script_raw(&thread_script(flags, result), &[]);
        first.assert_ok();
        let replay = script_raw(&first.stdout, &[]);
        replay.assert_ok();
        assert_eq!(numbered(&first), numbered(&replay), "{}", replay.dump());
    }
    let first = script_raw(&thread_script("SA_RESTORER|SA_RESTART", "2"), &[]);
    let changed = first
        .stdout
        .replace("SA_RESTORER|SA_RESTART", "SA_RESTORER");
    let replay = script(&changed, &[]);
    assert_eq!(replay.code(), Some(1), "{}", replay.dump());
}

#[test]
fn script_a_thread_actors_handler_is_refused_for_socklabs_own_signals_and_without_a_restorer() {
    let term = "a | rt_sigaction(SIGTERM, {sa_handler=..., sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=...}, NULL, 8) = 0\n";
    let out = script(term, &[]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr.contains("would be socklab's own"),
        "{}",
        out.dump()
    );
    let bare = "a | rt_sigaction(SIGUSR1, {sa_handler=..., sa_mask=[], sa_flags=SA_RESTART}, NULL, 8) = 0\n";
    let out = script(bare, &[]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(out.stderr.contains("SA_RESTORER"), "{}", out.dump());
}
