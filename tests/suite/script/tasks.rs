//! A timeline's `[pid N]` (issue 15 item 1): after the actor's tag, each
//! call line carries the id of the task that made it, as strace -f
//! prints it, once a second task has made a call: a thread actor's tid
//! (the one strace -f shows for the same call), a process actor's pid
//! (its fork's result); none with one actor.

use super::script_raw;
use crate::harness::{self, Outcome};

/// The `[pid N]` after the tag of `line` (None: no prefix), and the rest.
fn task_of(line: &str) -> (Option<i32>, &str) {
    let rest = line.split_once(" | ").map_or(line, |(_, r)| r);
    match rest.strip_prefix("[pid ").and_then(|r| r.split_once("] ")) {
        Some((n, call)) => (n.trim().parse().ok(), call),
        None => (None, rest),
    }
}

/// The line of `o` tagged `actor` whose call starts with `call`.
fn line_of<'a>(o: &'a Outcome, actor: &str, call: &str) -> &'a str {
    o.stdout
        .lines()
        .find(|l| {
            l.trim_start().starts_with(&format!("{actor} | ")) && task_of(l).1.starts_with(call)
        })
        .unwrap_or_else(|| panic!("no {actor} | {call}\n{}", o.dump()))
}

const TWO: &str = "a | s = socket(AF_INET, SOCK_DGRAM, 0)
b | t = socket(AF_INET6, SOCK_DGRAM, 0)
a | u = socket(AF_UNIX, SOCK_DGRAM, 0)
b | close(t) = 0
";

#[test]
fn two_actors_lines_carry_their_tids_once_the_second_has_made_a_call() {
    let o = script_raw(TWO, &[]);
    o.assert_ok();
    // The first call: one task has made calls, no prefix (strace -f's rule).
    let (first, _) = task_of(line_of(&o, "a", "socket(AF_INET,"));
    assert_eq!(first, None, "{}", o.dump());
    let (b1, _) = task_of(line_of(&o, "b", "socket(AF_INET6,"));
    let (a2, _) = task_of(line_of(&o, "a", "socket(AF_UNIX,"));
    let (b2, _) = task_of(line_of(&o, "b", "close("));
    let (a, b) = (a2.expect("a's [pid N]"), b1.expect("b's [pid N]"));
    assert_ne!(a, b, "{}", o.dump());
    assert_eq!(b2, Some(b), "{}", o.dump());
}

/// Under strace -f, each `[pid N]` is the id strace shows for the same call.
#[test]
fn two_actors_tids_are_the_ones_strace_f_shows_for_the_same_calls() {
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("script-tids-strace");
    let (file, trace) = (dir.path("two.txt"), dir.path("two.strace"));
    std::fs::write(&file, TWO).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=socket", "-o", &trace]);
    cmd.args([harness::bin(), "script", &file]);
    let o = harness::run(cmd, b"");
    o.assert_ok();
    let recorded = std::fs::read_to_string(&trace).unwrap();
    // strace -o: `PID call  = result`; the call's line by its text.
    let strace_pid = |call: &str| -> i32 {
        let hits: Vec<i32> = recorded
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter(|(_, c)| c.trim_start().starts_with(call))
            .filter_map(|(p, _)| p.parse().ok())
            .collect();
        assert_eq!(hits.len(), 1, "{call}: {hits:?}\n{recorded}");
        hits[0]
    };
    let socket6 = line_of(&o, "b", "socket(AF_INET6,");
    let (b, call) = task_of(socket6);
    assert_eq!(
        b,
        Some(strace_pid(call.split(" = ").next().unwrap())),
        "{socket6}\n{recorded}"
    );
    let unix = line_of(&o, "a", "socket(AF_UNIX,");
    let (a, call) = task_of(unix);
    assert_eq!(
        a,
        Some(strace_pid(call.split(" = ").next().unwrap())),
        "{unix}\n{recorded}"
    );
    assert_ne!(a, b);
}

const FORK: &str = "p = socketpair(AF_UNIX, SOCK_STREAM, 0)
child = fork()
child | close(p[0]) = 0
close(p[1]) = 0
child | exit_group(0) = ?
";

/// A process actor's lines carry its pid: the fork's result; its
/// parent's lines carry another id.
#[test]
fn a_process_actors_lines_carry_the_pid_its_fork_returned() {
    let o = script_raw(FORK, &[]);
    o.assert_ok();
    let fork = line_of(&o, "main", "child = clone(");
    let pid: i32 = fork.rsplit(" = ").next().unwrap().trim().parse().unwrap();
    let (child, _) = task_of(line_of(&o, "child", "close("));
    assert_eq!(child, Some(pid), "{}", o.dump());
    let (exited, _) = task_of(line_of(&o, "child", "+++ exited with 0 +++"));
    assert_eq!(exited, Some(pid), "{}", o.dump());
    let (main, _) = task_of(line_of(&o, "main", "close("));
    assert!(main.is_some_and(|m| m != pid), "{}", o.dump());
}

/// One actor: one task, no `[pid N]` anywhere (tagged or not).
#[test]
fn one_actor_has_no_pid_prefix() {
    for text in [
        "main | s = socket(AF_INET, SOCK_DGRAM, 0)\nmain | close(s) = 0\n",
        "s = socket(AF_INET, SOCK_DGRAM, 0)\nclose(s) = 0\n",
    ] {
        let o = script_raw(text, &[]);
        o.assert_ok();
        assert!(o.stdout.contains("close("), "{}", o.dump());
        assert!(!o.stdout.contains("[pid"), "{}", o.dump());
    }
}

/// A script whose server is still blocked at the end: its fd is closed
/// by another thread (the end's), the client's by the client itself.
const BLOCKED_AT_END: &str = "server | l = socket(AF_INET, SOCK_DGRAM, IPPROTO_IP)
server | bind(l, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0
server | recvfrom(l, ..., 10, 0, NULL, NULL <unfinished ...>
client | c = socket(AF_INET6, SOCK_DGRAM, IPPROTO_IP)
";

/// The end's closes carry the id of the thread that made them, the one
/// strace -f shows: a free actor closes its own fd (its own tid), a
/// blocked one's fd is closed by the end's thread (another tid, under
/// the owner's tag).
#[test]
fn the_ends_closes_carry_the_tid_strace_f_shows_for_them() {
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("script-end-strace");
    let (file, trace) = (dir.path("end.txt"), dir.path("end.strace"));
    std::fs::write(&file, BLOCKED_AT_END).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=socket,close", "-o", &trace]);
    cmd.args([harness::bin(), "script", "--timeout", "0.3", &file]);
    let o = harness::run(cmd, b"");
    o.assert_ok();
    let recorded = std::fs::read_to_string(&trace).unwrap();
    // strace -o: `PID call  = result`; the last line of `call` (socklab
    // closes its own fds 3 and 4 at its start, before the script's).
    let strace_pid = |call: &str| -> i32 {
        recorded
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter(|(_, c)| c.trim_start().starts_with(call))
            .filter_map(|(p, _)| p.parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no {call}\n{recorded}"))
    };
    let (server, _) = task_of(line_of(&o, "server", "recvfrom("));
    let (client, _) = task_of(line_of(&o, "client", "socket("));
    let (closed_l, call) = task_of(line_of(&o, "server", "close("));
    let l_close = call.split(" = ").next().unwrap();
    assert_eq!(
        closed_l,
        Some(strace_pid(l_close)),
        "{}\n{recorded}",
        o.dump()
    );
    assert_ne!(closed_l, server, "{}\n{recorded}", o.dump());
    let (closed_c, call) = task_of(line_of(&o, "client", "close("));
    let c_close = call.split(" = ").next().unwrap();
    assert_eq!(
        closed_c,
        Some(strace_pid(c_close)),
        "{}\n{recorded}",
        o.dump()
    );
    assert_eq!(closed_c, client, "{}\n{recorded}", o.dump());
}
