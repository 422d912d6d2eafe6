//! Process actors (rule 5): `NAME = fork()` makes a child process that
//! inherits every fd and runs NAME's lines; its end shows as strace -f
//! shows it (`--- SIGPIPE {...} ---`, `+++ killed by SIGPIPE +++`,
//! `exit_group(0) = ?`, `+++ exited with 0 +++`), its parent's wait4 at
//! the end; no child is left, even when the script fails.

use super::script;
use crate::harness::{self, Outcome};

/// The stdout lines, actor tags unpadded, the child's pid as `PID`,
/// this process's as `PPID`, pointers as `0xP`.
fn lines(o: &Outcome) -> (Vec<String>, i32) {
    let pid = child_pid(o);
    let mut out = Vec::new();
    for l in o.stdout.lines() {
        // The runner's plumbing, named after the first fork (issue 15;
        // the SIGTERM test checks where).
        if l.contains("# not shown: the runner's plumbing") {
            continue;
        }
        let mut l = super::norm(l.trim_start());
        if pid > 0 {
            l = l.replace(&pid.to_string(), "PID");
        }
        if let Some(i) = l.find("child_tidptr=0x") {
            let end = l[i..].find(')').map_or(l.len(), |e| i + e);
            l.replace_range(i..end, "child_tidptr=0xP");
        }
        if let Some(i) = l.find("si_pid=") {
            let n = l[i + 7..].chars().take_while(char::is_ascii_digit).count();
            if n > 0 {
                l.replace_range(i + 7..i + 7 + n, "PPID");
            }
        }
        out.push(l);
    }
    (out, pid)
}

/// The pid the first fork returned.
fn child_pid(o: &Outcome) -> i32 {
    o.stdout
        .lines()
        .find(|l| l.contains("clone("))
        .and_then(|l| l.rsplit(" = ").next())
        .and_then(|p| p.trim().parse().ok())
        .filter(|&p: &i32| p > 0)
        .unwrap_or_else(|| panic!("no fork's pid in the timeline\n{}", o.dump()))
}

fn uid() -> u32 {
    // SAFETY: geteuid only reads the process's effective uid.
    unsafe { libc::geteuid() }
}

/// Is `pid` gone (or not socklab: the number was reused)?
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => !stat.contains("(socklab)"),
    }
}

const SIGPIPE: &str = "p = socketpair(AF_UNIX, SOCK_STREAM, 0)
child = fork()
child | close(p[0]) = 0
close(p[1]) = 0
child | rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8) = 0
close(p[0]) = 0
child | send(p[1], \"a\") = -1 EPIPE
";

#[test]
fn script_sigpipe_kills_a_process_actor_as_strace_f_shows_it() {
    let out = script(SIGPIPE, &[]);
    out.assert_ok();
    let (l, pid) = lines(&out);
    assert!(pid > 0, "{}", out.dump());
    let want = [
        "main | socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0".to_string(),
        "main | child = clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xP) = PID".into(),
        "child | close(3) = 0".into(),
        "main | close(4) = 0".into(),
        "child | rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8) = 0".into(),
        "main | close(3) = 0".into(),
        "child | sendto(4, \"a\", 1, 0, NULL, 0) = -1 EPIPE (Broken pipe)".into(),
        // The kernel sends SIGPIPE as the writer itself: si_pid is the child's.
        format!("child | --- SIGPIPE {{si_signo=SIGPIPE, si_code=SI_USER, si_pid=PID, si_uid={}}} ---", uid()),
        "child | +++ killed by SIGPIPE +++".into(),
        chld("CLD_KILLED", "SIGPIPE"),
        "main | wait4(PID, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE}], 0, NULL) = PID".into(),
    ];
    assert_eq!(l, want, "{}", out.dump());
    assert!(gone(pid));
}

/// A line that expects the call to return something else fails.
#[test]
fn script_a_killed_call_fails_a_line_that_expected_a_return() {
    let text = SIGPIPE.replace("= -1 EPIPE", "= 1");
    script(&text, &[])
        .assert_code(1)
        .stderr_has("expected result: = 1");
}

const SIGTERM: &str = "s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
listen(s, 1) = 0
srv = fork()
srv | accept(s, NULL, NULL <unfinished ...>
kill(srv, SIGTERM) = 0
";

#[test]
fn script_sigterm_kills_a_process_actor_blocked_in_accept() {
    let out = script(SIGTERM, &[]);
    out.assert_ok();
    let (l, pid) = lines(&out);
    let want = [
        "main | srv = clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xP) = PID".to_string(),
        // NULL addresses: all at the entry, as strace prints them.
        "srv | accept(3, NULL, NULL <unfinished ...>".into(),
        "main | kill(PID, SIGTERM) = 0".into(),
        "srv | <... accept resumed>) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)".into(),
        format!("srv | --- SIGTERM {{si_signo=SIGTERM, si_code=SI_USER, si_pid=PPID, si_uid={}}} ---", uid()),
        "srv | +++ killed by SIGTERM +++".into(),
        chld("CLD_KILLED", "SIGTERM"),
        "main | wait4(PID, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], 0, NULL) = PID".into(),
        "main | close(3) = 0".into(),
    ];
    assert_eq!(l[3..], want, "{}", out.dump());
    // The runner's own calls for a process actor (pipes, relay threads,
    // /proc) are named once, right after the first fork's line.
    let all: Vec<&str> = out.stdout.lines().map(str::trim_start).collect();
    let at = all
        .iter()
        .position(|l| l.contains(" = clone("))
        .expect("a fork");
    assert!(
        all[at + 1].starts_with("main | # not shown: the runner's plumbing to a process actor: "),
        "{}",
        out.dump()
    );
    // The signal came from socklab (the runner's process), not the child.
    assert!(
        !out.stdout.contains(&format!(
            "--- SIGTERM {{si_signo=SIGTERM, si_code=SI_USER, si_pid={pid},"
        )),
        "{}",
        out.dump()
    );
    assert!(gone(pid));
}

#[test]
fn script_fork_then_scm_rights_hands_a_connection_to_another_process() {
    let text = "p = socketpair(AF_UNIX, SOCK_STREAM, 0)
s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
getsockname(s, 127.0.0.1:40000, ...) = 0
listen(s, 1) = 0
worker = fork()
close(p[1]) = 0
worker | close(p[0]) = 0
worker | close(s) = 0
worker | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=..., iov_len=10}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=24, msg_flags=0}, 0 <unfinished ...>
c = socket(AF_INET, SOCK_STREAM, 0)
connect(c, 127.0.0.1:40000) = 0
a = accept(s, NULL, NULL)
sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"fd\", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[a]}], msg_controllen=24, msg_flags=0}, 0) = 2
worker | <... recvmsg resumed>) = 2
close(a) = 0
send(c, \"hello\") = 5
worker | recv(7, 100) = 5
worker | send(7, \"HELLO\") = 5
recv(c, \"HELLO\", 100, 0, NULL, NULL) = 5
";
    let out = script(text, &[]);
    out.assert_ok();
    let (l, pid) = lines(&out);
    // The worker's fd table is its own: the passed socket is its 3 (the
    // number its close of p[0] freed), while the parent has a 6.
    assert!(
        l.contains(&"worker | recvfrom(3, \"hello\", 100, 0, NULL, NULL) = 5".to_string()),
        "{}",
        out.dump()
    );
    assert!(
        l.contains(&"main | accept(5, NULL, NULL) = 6".to_string()),
        "{}",
        out.dump()
    );
    // At the end the worker closes what it still has, then exits; its
    // parent reaps it; then the parent's own fds.
    let end = [
        "worker | close(3) = 0".to_string(),
        "worker | close(4) = 0".into(),
        "worker | exit_group(0) = ?".into(),
        "worker | +++ exited with 0 +++".to_string(),
        chld("CLD_EXITED", "0"),
        "main | wait4(PID, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = PID".into(),
    ];
    let at = l.iter().rposition(|x| *x == end[0]).unwrap_or(0);
    assert_eq!(l[at..at + end.len()], end, "{}", out.dump());
    assert!(gone(pid));
}

/// A failing script and a call still blocked at the end (--timeout):
/// no child process is left, not even a zombie.
#[test]
fn script_no_process_is_left_after_a_failure_or_a_timeout() {
    let failing = "s = socket(AF_INET, SOCK_STREAM, 0)
srv = fork()
srv | close(s) = 0
srv | listen(s, 1) = 0
";
    let out = script(failing, &[]);
    out.assert_code(1).stderr_has("expected result: = 0");
    let (l, pid) = lines(&out);
    assert!(
        l.contains(&"srv | +++ exited with 0 +++".to_string()),
        "{}",
        out.dump()
    );
    assert!(gone(pid), "{}", out.dump());

    let blocked = "s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
listen(s, 1) = 0
srv = fork()
srv | accept(s, NULL, NULL) = 4
";
    let out = script(blocked, &["--timeout", "0.3"]);
    out.assert_code(1).stderr_has("still blocked after 0.3s");
    let (l, pid) = lines(&out);
    let want = [
        "main | kill(PID, SIGKILL) = 0".to_string(),
        "srv | <... accept resumed>) = ?".into(),
        "srv | +++ killed by SIGKILL +++".into(),
        chld("CLD_KILLED", "SIGKILL"),
        "main | wait4(PID, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = PID".into(),
    ];
    assert_eq!(l[5..10], want, "{}", out.dump());
    assert!(gone(pid), "{}", out.dump());
}

/// What strace -f sees of a script with a process actor: the fork, the
/// child's calls under its pid, its death by SIGPIPE, the wait4: the
/// timeline's lines (the fork's child_tidptr included).
#[test]
fn script_strace_f_shows_the_fork_and_the_childs_calls_as_the_timeline() {
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("script-fork-strace");
    let (file, trace) = (dir.path("fork.txt"), dir.path("fork.strace"));
    std::fs::write(&file, SIGPIPE).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=socketpair,clone,sendto,wait4",
        "-o",
        &trace,
        harness::bin(),
        "script",
        &file,
    ]);
    let out = harness::run(cmd, b"");
    out.assert_ok();
    let recorded = std::fs::read_to_string(&trace).unwrap();
    let strace_calls: Vec<String> = recorded
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, call)| call.trim_start()))
        // socklab's own end (the SIGCHLD its parent actor gets is a
        // line of the timeline: src/script/reaped.rs).
        // (`???( <detached ...>`: a thread that exited under strace).
        .filter(|c| !c.starts_with("+++ exited") && !c.starts_with("???("))
        .map(|c| match c.split_once(")  ") {
            // strace pads the result to a column.
            Some((head, tail)) => format!("{head}) {}", tail.trim_start()),
            None => c.to_string(),
        })
        .collect();
    let timeline: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, c)| harness::untask(c)))
        .map(|c| {
            c.split_once(" = clone(")
                .map_or(c.to_string(), |(_, r)| format!("clone({r}"))
        })
        .filter(|c| {
            [
                "socketpair(",
                "clone(",
                "sendto(",
                "wait4(",
                "--- ",
                "+++ killed",
            ]
            .iter()
            .any(|p| c.starts_with(p))
        })
        .collect();
    assert_eq!(timeline, strace_calls, "{}\n{recorded}", out.dump());
}

/// A child whose status cannot be read (socklab started with SIGCHLD
/// ignored: the kernel reaps it at once, waitid says ECHILD): the exit
/// socklab asked for is shown as strace -f shows it (no SIGCHLD: none is
/// sent); a death by SIGPIPE, which nothing then tells, gets a `#` note,
/// not lines nobody saw.
#[test]
fn script_a_child_whose_status_cannot_be_read_gets_a_note() {
    use std::os::unix::process::CommandExt;
    let ignoring = || {
        let mut cmd = harness::socklab(&["script", "-"]);
        // SAFETY: signal(2) only, between fork and exec (async-signal-safe).
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                Ok(())
            });
        }
        cmd
    };
    let text = "c = fork()\nc | s = socket(AF_INET, SOCK_STREAM, 0)\nc | exit_group(0)\n";
    let mut out = harness::run(ignoring(), text.as_bytes());
    out.assert_ok();
    out.stdout = harness::untasked(&out.stdout);
    let (l, _) = lines(&out);
    let end = ["c | exit_group(0) = ?", "c | +++ exited with 0 +++"];
    assert!(l.windows(2).any(|w| w == end), "{}", out.dump());
    assert!(!out.stdout.contains("--- SIGCHLD"), "{}", out.dump());
    assert!(!out.stdout.contains("how is not known"), "{}", out.dump());
    // (No expectation on the send: how it ended is not known.)
    let unchecked = SIGPIPE.replace(" = -1 EPIPE", "");
    let mut out = harness::run(ignoring(), unchecked.as_bytes());
    out.assert_ok();
    out.stdout = harness::untasked(&out.stdout);
    let (l, _) = lines(&out);
    assert!(
        l.iter().any(|l| l
            == "child | # process PID ended; how is not known (waitid: ECHILD: SIGCHLD ignored?)"),
        "{}",
        out.dump()
    );
    assert!(!out.stdout.contains("+++ killed"), "{}", out.dump());
    assert!(!out.stdout.contains("--- SIGCHLD"), "{}", out.dump());
}

/// fork's and wait4's results are pid labels (rule 3): a written pid
/// binds to this run's on first sight, and is compared after.
const PID_LABELS: &str = "a = fork() = 100
a | exit_group(3) = ?
b = fork() = 200
b | exit_group(4) = ?
wait4(100, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 100
wait4(200, [{WIFEXITED(s) && WEXITSTATUS(s) == 4}], 0, NULL) = 200
";

#[test]
fn script_fork_and_wait4_results_are_pid_labels() {
    script(PID_LABELS, &[]).assert_ok();
    // 200 is b's pid: a's wait4 cannot return it.
    let swapped = PID_LABELS.replacen("NULL) = 100", "NULL) = 200", 1);
    script(&swapped, &[])
        .assert_code(1)
        .stderr_has("expected result: = 200");
}

/// The parent actor's `--- SIGCHLD {...} ---` line for its child PID's
/// end (a short process: no clock ticks).
fn chld(code: &str, status: &str) -> String {
    format!(
        "main | --- SIGCHLD {{si_signo=SIGCHLD, si_code={code}, si_pid=PID, si_uid={}, \
         si_status={status}, si_utime=0, si_stime=0}} ---",
        uid()
    )
}
