//! Signals to thread actors: a timeline's `tgkill(P, T, SIG) = 0` (what
//! `kill(ACTOR, SIG)` of a thread actor prints) replays: T is a label
//! bound to the actor whose lines carry `[pid T]` (strace -f's prefix;
//! after a tag, a timeline's task id), P stands for this run's process.

use super::{script, script_raw};
use crate::harness::{self, Outcome};

const SIGNALS_A_THREAD: &str = "\
a | s = socket(AF_INET, SOCK_DGRAM, IPPROTO_IP)
a | bind(s, 127.0.0.1:0) = 0
b | kill(a, SIGURG) = 0
a | close(s) = 0
";

/// The calls of a timeline (tags and padding dropped).
fn calls(o: &Outcome) -> Vec<String> {
    o.stdout
        .lines()
        .filter_map(|l| {
            l.split_once(" | ")
                .map(|(_, c)| harness::untask(c.trim()).to_string())
        })
        .collect()
}

/// tgkill's pid and tid, as the timeline prints them.
fn tgkill(calls: &[String]) -> (i64, i64) {
    let line = calls.iter().find(|c| c.starts_with("tgkill(")).unwrap();
    let args: Vec<i64> = line["tgkill(".len()..]
        .split(", ")
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    (args[0], args[1])
}

/// Record a script that signals a thread actor, replay the record: the
/// same calls, the tgkill now to this run's process and thread `a`
/// (strace -f shows the replay's `a` making its socket call as that tid).
#[test]
fn script_a_recorded_tgkill_replays_to_the_same_thread_actor() {
    let first = script_raw(SIGNALS_A_THREAD, &[]);
    first.assert_ok();
    let recorded = calls(&first);
    let (pid, tid) = tgkill(&recorded);
    assert_ne!(
        pid,
        tid,
        "a thread actor, not the main thread\n{}",
        first.dump()
    );
    // The timeline itself carries `a | [pid T]` (T: a's tid) once a
    // second task has made a call.
    let record = first.stdout.clone();
    assert!(
        record
            .lines()
            .any(|l| l.trim_start().starts_with("a |") && l.contains(&format!(" {tid}] close("))),
        "{record}"
    );
    let replay = script(&record, &[]);
    replay.assert_ok();
    let again = calls(&replay);
    let (pid2, tid2) = tgkill(&again);
    let norm = |c: &[String], p: i64, t: i64| -> Vec<String> {
        c.iter()
            .map(|l| l.replace(&format!("tgkill({p}, {t}, "), "tgkill(P, T, "))
            .collect()
    };
    assert_eq!(
        norm(&recorded, pid, tid),
        norm(&again, pid2, tid2),
        "{record}\n{}",
        replay.dump()
    );
    assert_ne!((pid, tid), (pid2, tid2), "this run's own pid and tid");
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("script-tgkill");
    let (file, trace) = (dir.path("record.script"), dir.path("replay.strace"));
    std::fs::write(&file, &record).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=socket,tgkill", "-o", &trace]);
    cmd.args([harness::bin(), "script", &file]);
    let out = harness::run(cmd, b"");
    out.assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    let (p, t) = tgkill(&calls(&out));
    let socket_by = raw
        .lines()
        .find(|l| l.contains(" socket(AF_INET, SOCK_DGRAM"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    assert_eq!(
        socket_by,
        t.to_string(),
        "the tgkill is to a's thread\n{raw}"
    );
    assert!(raw.contains(&format!("tgkill({p}, {t}, SIGURG)")), "{raw}");
}

/// A tgkill whose tid no earlier `[pid T]` line binds names no actor:
/// a syntax error (exit 2), no call made.
#[test]
fn script_a_tgkill_to_an_unknown_tid_is_refused_before_any_call() {
    let text =
        "a | s = socket(AF_INET, SOCK_DGRAM, IPPROTO_IP)\nb | tgkill(4242, 4243, SIGURG) = 0\n";
    let out = script(text, &[]);
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    assert!(out.stderr.contains("-:2:"), "{}", out.dump());
    assert!(
        out.stderr.contains("tgkill's tid names no actor"),
        "{}",
        out.dump()
    );
    assert_eq!(out.stdout, "", "no call made");
}
