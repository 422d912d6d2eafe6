//! `wait4(-1, ..., OPTIONS, NULL)` in a script (src/script/forks.rs):
//! the calling actor waits for any child (a process actor), the result a
//! pid label bound to the child reaped; WNOHANG and strace's other wait4
//! options are constants (values::xlat `Group::Wait`). A fork model's
//! record reaps its children so.

use super::{script, script_raw};
use crate::harness::{self, TempDir, run};

/// Two process actors; none ended (`= 0`), one ended (its pid), none
/// left ended (`= 0`), the other ended with 3 (options as written), no
/// child left (ECHILD).
const ANY: &str = "a = fork()
b = fork()
wait4(-1, ..., WNOHANG, NULL) = 0
a | exit_group(0) = ?
wait4(-1, ..., WNOHANG, NULL) = 100
wait4(-1, ..., WNOHANG, NULL) = 0
b | exit_group(3) = ?
wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], WNOHANG|__WALL, NULL) = 101
wait4(-1, ..., WNOHANG, NULL) = -1 ECHILD (No child processes)
";

/// The pid each `NAME = clone(...) = PID` line of `out` returned.
fn pid_of(out: &str, name: &str) -> String {
    let at = format!("{name} = clone(");
    let line = out.lines().find(|l| l.contains(&at)).unwrap_or("");
    line.rsplit(" = ").next().unwrap_or("").trim().to_string()
}

#[test]
fn script_wait4_any_child_reaps_the_process_actor_that_ended() {
    let o = script(ANY, &[]);
    o.assert_ok();
    let (a, b) = (pid_of(&o.stdout, "a"), pid_of(&o.stdout, "b"));
    assert!(!a.is_empty() && a != b, "{}", o.dump());
    let shown: Vec<&str> = o
        .stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("main | wait4("))
        .map(|l| l.split_once(", ").map_or(l, |(_, rest)| rest))
        .collect();
    let expected = [
        "WNOHANG, NULL) = 0".to_string(),
        format!("[{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], WNOHANG, NULL) = {a}"),
        "WNOHANG, NULL) = 0".to_string(),
        format!("[{{WIFEXITED(s) && WEXITSTATUS(s) == 3}}], WNOHANG|__WALL, NULL) = {b}"),
        "WNOHANG, NULL) = -1 ECHILD (No child processes)".to_string(),
    ];
    assert_eq!(shown.len(), expected.len(), "{}", o.dump());
    for (got, want) in shown.iter().zip(&expected) {
        assert!(got.ends_with(want.as_str()), "{got} / {want}\n{}", o.dump());
    }
    // Nothing reaped twice: no wait4 at the end.
    assert!(!o.stdout.contains(", 0, NULL)"), "{}", o.dump());
    // The timeline replays (its pids are labels of its clones).
    let raw = script_raw(ANY, &[]);
    raw.assert_ok();
    script(&raw.stdout, &[]).assert_ok();
}

/// A record's form: `clone(...) = PID` binds the pid; a wait4(-1) that
/// reaps the other child, or `= 0` where a child has ended, exits 1.
#[test]
fn script_wait4_any_child_wrong_expectation_exits_1() {
    let clone = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0000000990)";
    let record = |reaped: &str| {
        format!(
            "{clone} = 200\n{clone} = 300\nwait4(-1, 0x7ffc57496210, WNOHANG, NULL) = 0\n\
             [pid 300] exit_group(0) = ?\n[pid 300] +++ exited with 0 +++\n\
             wait4(-1, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], WNOHANG, NULL) = {reaped}\n"
        )
    };
    script(&record("300"), &[]).assert_ok();
    for wrong in ["200", "0"] {
        let o = script(&record(wrong), &[]);
        o.assert_code(1)
            .stderr_has(&format!("expected result: = {wrong}"))
            .stderr_has(":6: wait4(-1, ");
    }
}

/// Each wait4 line socklab prints is the line strace -f prints.
#[test]
fn script_wait4_any_child_lines_are_what_strace_prints() {
    if !harness::have("strace") {
        return;
    }
    let dir = TempDir::new("waits-any");
    let (file, trace) = (dir.path("t.script"), dir.path("t.strace"));
    std::fs::write(&file, ANY).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=wait4", "-o", &trace]);
    cmd.args([harness::bin(), "script", &file]);
    let out = run(cmd, b"");
    out.assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    let theirs: Vec<&str> = raw
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, call)| call.trim_start()))
        .filter(|l| l.starts_with("wait4("))
        .collect();
    let mine: Vec<String> = harness::untasked(&out.stdout)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("main | "))
        .filter(|l| l.starts_with("wait4("))
        .map(str::to_string)
        .collect();
    assert_eq!(mine.len(), 5, "{}", out.dump());
    assert_eq!(mine, theirs, "{}", out.dump());
}

#[test]
fn emit_refuses_wait4_any_child_and_options_with_their_reason() {
    for (text, why) in [
        (
            "a = fork()\nwait4(-1, ..., 0, NULL)\n",
            "wait4(-1, ...) (any child) is not emitted yet",
        ),
        (
            "a = fork()\nwait4(a, ..., WNOHANG, NULL) = 0\n",
            "wait4 with options (WNOHANG) is not emitted yet",
        ),
    ] {
        for lang in ["c", "python"] {
            let o = script_raw(text, &["--emit", lang]);
            o.assert_code(2)
                .stderr_has(&format!("-:2: cannot emit: {why}"));
        }
    }
}
