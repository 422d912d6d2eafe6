//! `wait4(-1, ..., OPTIONS, NULL)` in a script (src/script/forks.rs):
//! the calling actor waits for any child (a process actor), the result a
//! pid label bound to the child reaped; WNOHANG and strace's other wait4
//! options are constants (values::xlat `Group::Wait`). A fork model's
//! record reaps its children so.

use super::emit::{c_twin, python_twin};
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

/// ANY's waits with a named WNOHANG wait and some socket calls (which
/// the twins' comparison needs) once no child is left.
const TWINS: &str = "a = fork()
b = fork()
wait4(-1, ..., WNOHANG, NULL) = 0
wait4(a, ..., WNOHANG, NULL) = 0
a | exit_group(0) = ?
wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], WNOHANG, NULL) = 100
wait4(-1, ..., WNOHANG, NULL) = 0
b | exit_group(3) = ?
wait4(b, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], WNOHANG|__WALL, NULL) = 101
wait4(-1, ..., WNOHANG, NULL) = -1 ECHILD (No child processes)
s = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3
bind(s, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0
close(s) = 0
";

/// wait4(-1, ...) and wait4's options in both twins: the same wait4
/// calls as the script's (C: wait4 itself; Python: os.waitpid, which is
/// wait4(pid, &st, options, NULL)), each result checked, nothing reaped
/// twice at the end; the C twin's trace replays.
#[test]
fn emit_twins_of_wait4_any_child_and_options() {
    let dir = TempDir::new("emit-waits-any");
    let file = dir.path("any.script");
    std::fs::write(&file, TWINS).unwrap();
    c_twin(&file, "wait4-any");
    python_twin(&file, "wait4-any");
}

/// A wrong pid or a wrong `= 0` fails in each twin as in socklab: exit 1
/// at that line.
#[test]
fn emit_twins_of_wait4_any_child_check_the_pid() {
    let dir = TempDir::new("emit-waits-wrong");
    for (from, to) in [
        ("WNOHANG|__WALL, NULL) = 101", "WNOHANG|__WALL, NULL) = 100"),
        ("WNOHANG, NULL) = 0\nb |", "WNOHANG, NULL) = 100\nb |"),
    ] {
        let text = TWINS.replacen(from, to, 1);
        assert_ne!(text, TWINS, "{from}");
        let file = dir.path("wrong.script");
        std::fs::write(&file, &text).unwrap();
        let line = text[..text.find(to).unwrap()].matches('\n').count() + 1;
        let at = format!(":{line}: wait4(");
        script(&text, &[]).assert_code(1).stderr_has(&at);
        build_and_run_c(&dir, &file).assert_code(1).stderr_has(&at);
        let src = dir.path("wrong.py");
        std::fs::write(&src, super::emit::emitted(&file, "python")).unwrap();
        let mut py = std::process::Command::new(super::emit::python());
        py.arg(&src);
        run(py, b"").assert_code(1).stderr_has(&at);
    }
}

fn build_and_run_c(dir: &TempDir, file: &str) -> crate::harness::Outcome {
    run(super::emit::build_c(dir, file), b"")
}
