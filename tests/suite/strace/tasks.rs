//! Several tasks (issue 15 items 1, 2): the fork and thread models'
//! `[pid N] ` prefixes, pthread_create's `clone3`, and an accept4
//! interrupted by SIGCHLD (`= ? ERESTARTSYS (...)`), against one
//! `strace -f -o FILE` of the same run.
//!
//! strace -f writes `PID  line` to a file (`[pid %5u] line` to stderr,
//! once it traces more than one task); a line of a task that another
//! task's line cut is split into `NAME(args <unfinished ...>` and
//! `<... NAME resumed>rest`: joined here (socklab writes each call's
//! line whole). Each task's lines, in order, must equal socklab's lines
//! of that task (its `[pid N]`, or none: the first process), after the
//! rules of mod.rs; and the prefix must be there exactly while more than
//! one task lives.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use super::under::{self, echo, tcp_model, traced_pid};
use super::unfinished::{socklab_lines, socklab_tasks};
use super::*;

/// `strace -f -q -e signal=SIGCHLD,SIGTERM -e trace=...,rt_sigreturn -o
/// FILE socklab --trace-file T ARGS` (-q: the `+++ ... +++` lines stay).
pub(super) fn strace_f(dir: &TempDir, args: &[&str]) -> (Command, String, String) {
    let filter = format!("{},rt_sigreturn", model_filter());
    let options = ["-q", "-e", "signal=SIGCHLD,SIGTERM", "-e", &filter];
    under::command(dir, &options, args)
}

/// strace -f's file: each task's lines (unfinished and resumed joined,
/// padding gone, the runtime's calls left out), by pid; and the first pid.
pub(super) fn strace_tasks(path: &str) -> (BTreeMap<i32, Vec<String>>, i32) {
    let (lines, first) = under::joined(path);
    let socklabs = lines.into_iter().filter(|(_, whole)| {
        // Thread masks (glibc's around its clone3 and at a thread's end,
        // the workers' own: sys/untraced.rs) are not socklab's traced
        // rt_sigprocmask, which blocks [CHLD].
        // The re-raise's unblock is socklab's (not glibc's of its
        // cancellation signals, `[RTMIN RT_1]`).
        let unblock = whole.starts_with("rt_sigprocmask(SIG_UNBLOCK, ") && !whole.contains("RTMIN");
        let mask = whole.starts_with("rt_sigprocmask(") && !whole.contains("[CHLD]") && !unblock;
        // Every process's exit_group is socklab's line (a forked child's
        // `Sys::exit_group`, the first's through cli/end.rs); `+++` is
        // compared by ends.rs.
        let exit = whole.starts_with("+++ exited");
        !(exit || mask || is_runtime_call(whole))
    });
    (under::by_task(socklabs), first)
}

/// Each task's lines equal strace's (the first process's after rule 3).
pub(super) fn assert_tasks_equal(
    ours: &[(Option<i32>, String)],
    theirs: &BTreeMap<i32, Vec<String>>,
    first: i32,
) {
    let dump = || {
        let o: Vec<String> = ours.iter().map(|(p, l)| format!("{p:?} {l}")).collect();
        format!(
            "--- socklab ---\n{}\n--- strace -f ---\n{theirs:#?}",
            o.join("\n")
        )
    };
    for (pid, lines) in theirs {
        let mine: Vec<&String> = ours
            .iter()
            .filter(|(p, _)| p.unwrap_or(first) == *pid)
            .map(|(_, l)| l)
            .collect();
        let start = if *pid == first {
            lines
                .iter()
                .position(|l| Some(l) == mine.first().copied())
                .unwrap_or_else(|| panic!("first line not in strace's\n{}", dump()))
        } else {
            0
        };
        let rest: Vec<&String> = lines[start..].iter().collect();
        assert_eq!(mine, rest, "task {pid}\n{}", dump());
    }
}

/// Wait (bounded) until the trace file holds a line with `what`.
pub(super) fn wait_for_line(trace: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(trace)
        .unwrap_or_default()
        .contains(what)
    {
        assert!(Instant::now() < deadline, "no {what:?} in the trace");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The scenario: `--model fork --max-conns 2`, the second client
/// after the first child has ended and been reaped. SIGCHLD interrupts
/// the parent's accept4: `= ? ERESTARTSYS (To be restarted if SA_RESTART
/// is set)`, `--- SIGCHLD {...} ---`, `rt_sigreturn({mask=[]}) = -1
/// EINTR`; the prefix is on every line while the child lives, and on
/// none before the first clone or after the child's end.
#[test]
fn fork_model_pid_prefixes_and_the_interrupted_accept_equal_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("tasks-fork");
    let args = tcp_model("fork", "2");
    let (cmd, out, trace) = strace_f(&dir, &args);
    let server = Server::start_cmd(cmd);
    echo(&server.addr, "one");
    wait_for_line(&trace, "WNOHANG, NULL) = ");
    wait_for_line(&trace, "wait4(-1, [{WIFEXITED(s)");
    echo(&server.addr, "two");
    server.finish().assert_ok();
    let ours = socklab_tasks(&trace);
    let (theirs, first) = strace_tasks(&out);
    assert_eq!(theirs.len(), 3, "a parent and two children: {theirs:#?}");
    assert_tasks_equal(&ours, &theirs, first);
    let restarted = "SOCK_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)";
    let at = |p: &dyn Fn(&str) -> bool| ours.iter().position(|(_, l)| p(l)).expect("line");
    let clone = at(&|l| l.starts_with("clone("));
    let intr = at(&|l| l.starts_with("accept4(") && l.ends_with(restarted));
    let reaped = at(&|l| l.starts_with("wait4(-1, [{WIFEXITED"));
    // One task until the first clone's entry (its line, or its first
    // half, included: decided at entry).
    let raw = socklab_lines(&trace);
    let entry = raw.iter().position(|(_, l)| l.starts_with("clone("));
    let entry = entry.expect("clone");
    assert!(raw[..=entry].iter().all(|(p, _)| p.is_none()), "{raw:#?}");
    // The child's lines and the parent's while it lives carry the prefix.
    let child = *theirs.keys().find(|&&p| p != first).expect("child");
    for (p, l) in &ours[clone + 1..intr] {
        assert!(p.is_some(), "no [pid N] while two tasks live: {l}");
        assert!(*p == Some(child) || *p == Some(first), "{l}");
    }
    // The child has ended: the parent's lines are bare again.
    assert!(ours[reaped].0.is_none(), "{ours:#?}");
    // SIGCHLD's siginfo and the handler's return, after the accept4.
    let sigchld =
        format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}, si_uid=");
    assert!(ours[intr + 1].1.starts_with(&sigchld), "{ours:#?}");
    assert_eq!(
        ours[intr + 2].1,
        "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"
    );
}

/// `--model thread --max-conns 1`: the clone3 line equals strace's
/// (flags, child_tid, stack, stack_size, tls, the new tid), the thread's
/// lines carry `[pid TID]`, the main thread's after it ends do not.
#[test]
fn thread_model_clone3_and_pid_prefixes_equal_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("tasks-thread");
    let args = tcp_model("thread", "1");
    let (cmd, out, trace) = strace_f(&dir, &args);
    let server = Server::start_cmd(cmd);
    echo(&server.addr, "one");
    server.finish().assert_ok();
    let ours = socklab_tasks(&trace);
    let (theirs, first) = strace_tasks(&out);
    assert_eq!(theirs.len(), 2, "a main thread and one more: {theirs:#?}");
    assert_tasks_equal(&ours, &theirs, first);
    let clone3 = ours
        .iter()
        .position(|(_, l)| l.starts_with("clone3({flags=CLONE_VM|"))
        .expect("clone3 traced");
    assert!(ours[clone3].0.is_none(), "{ours:#?}");
    let tid = *theirs.keys().find(|&&p| p != first).expect("thread");
    assert!(
        ours[clone3]
            .1
            .ends_with(&format!("=> {{parent_tid=[{tid}]}}, 88) = {tid}"))
    );
    let threads: Vec<_> = ours.iter().filter(|(p, _)| *p == Some(tid)).collect();
    assert!(
        threads.iter().any(|(_, l)| l.starts_with("recvfrom(")),
        "{ours:#?}"
    );
    assert_eq!(ours.last().map(|(p, _)| *p), Some(None), "{ours:#?}");
}

/// A fork server stopped by SIGTERM while blocked in accept4 (it catches
/// the stop signals, cleans up, and re-raises the signal as glibc's raise
/// does): `= ? ERESTARTSYS`, `--- SIGTERM {si_code=SI_USER, ...} ---`,
/// `rt_sigreturn`, its cleanup, `rt_sigprocmask(SIG_UNBLOCK, [TERM],
/// NULL, 8)`, `getpid()`, `tgkill(P, P, SIGTERM)`,
/// `--- SIGTERM {si_code=SI_TKILL, ...} ---`, `+++ killed by SIGTERM +++`.
#[test]
fn a_fork_server_stopped_by_sigterm_equals_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("tasks-killed");
    let args = ["tcp", "server", "127.0.0.1:0", "--model", "fork"];
    let (cmd, out, trace) = strace_f(&dir, &args);
    let server = Server::start_cmd(cmd);
    let pid = traced_pid(server.pid());
    harness::blocked_in(pid, libc::SYS_accept4);
    // SAFETY: socklab, strace's child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    // strace ends as its tracee did: killed by the re-raised SIGTERM.
    let end = server.finish();
    assert!(
        end.status.signal() == Some(libc::SIGTERM)
            || end.status.code() == Some(128 + libc::SIGTERM),
        "{}",
        end.dump()
    );
    let ours = socklab_tasks(&trace);
    let (theirs, first) = strace_tasks(&out);
    assert_eq!(theirs.len(), 1, "one process: {theirs:#?}");
    assert_tasks_equal(&ours, &theirs, first);
    let lines: Vec<&str> = ours.iter().map(|(_, l)| l.as_str()).collect();
    let restarted = "SOCK_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)";
    let at = lines
        .iter()
        .position(|l| l.ends_with(restarted))
        .expect("accept4");
    assert!(lines[at + 1].starts_with("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid="));
    assert_eq!(
        lines[at + 2],
        "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"
    );
    let n = lines.len();
    // Unblocked first: a blocked signal would not kill (review, 17).
    assert_eq!(
        lines[n - 5],
        "rt_sigprocmask(SIG_UNBLOCK, [TERM], NULL, 8) = 0"
    );
    assert_eq!(lines[n - 4], format!("getpid() = {pid}"));
    assert_eq!(lines[n - 3], format!("tgkill({pid}, {pid}, SIGTERM) = 0"));
    let tkill = format!("--- SIGTERM {{si_signo=SIGTERM, si_code=SI_TKILL, si_pid={pid}, si_uid=");
    assert!(lines[n - 2].starts_with(&tkill), "{lines:#?}");
    assert_eq!(lines[n - 1], "+++ killed by SIGTERM +++");
}

/// Signals that land between traced calls (issue 15 item 3): a UNIX
/// server paused after listen (a timed pause: an untraced nanosleep) gets
/// SIGUSR1 and SIGTERM at once (nested handlers, mostly). strace prints each with its siginfo
/// (`si_code=SI_USER, si_pid=THE TEST, si_uid=U`) and the handler's
/// `rt_sigreturn({mask=[]}) = -1 EINTR` (the nanosleep's), after listen;
/// socklab's trace, from listen to the end, equals it (unlinkat, the
/// re-raise, `+++ killed by SIGTERM +++`). Before: no SIGUSR1 line
/// (SIGUSR1's handler had no SA_SIGINFO) and no SIGTERM line (it landed
/// outside a traced call).
#[test]
fn signals_between_calls_carry_their_siginfo_as_strace_f_prints_them() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("tasks-between");
    let path = dir.path("s.sock");
    let calls =
        "listen,getsockname,newfstatat,unlinkat,close,getpid,tgkill,rt_sigreturn,rt_sigprocmask";
    let filter = format!("trace={calls}");
    let options = ["-q", "-e", "signal=SIGUSR1,SIGTERM", "-e", &filter];
    let args = ["unix", "server", &path, "--pause-after", "listen:30"];
    let (mut cmd, out, trace) = under::command(&dir, &options, &args);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let strace = cmd.spawn().expect("strace");
    wait_for_line(&trace, "listen(");
    let pid = traced_pid(strace.id() as i32);
    harness::blocked_in(pid, libc::SYS_clock_nanosleep);
    // SAFETY: socklab, strace's child. Sent together, the two usually
    // nest (SIGUSR1's frame, then SIGTERM's on top, whose handler runs
    // first), which strace prints in its own order: so must socklab.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
        libc::kill(pid, libc::SIGTERM);
    }
    let end = harness::finish(strace);
    assert!(
        end.status.signal() == Some(libc::SIGTERM) || end.status.code() == Some(143),
        "{}",
        end.dump()
    );
    let from_listen = |lines: Vec<String>| -> Vec<String> {
        let at = lines
            .iter()
            .position(|l| l.starts_with("listen("))
            .expect("listen");
        lines[at..]
            .iter()
            .filter(|l| !l.starts_with("rt_sigprocmask(") || l.contains("SIG_UNBLOCK, [TERM]"))
            .cloned()
            .collect()
    };
    let ours: Vec<String> = std::fs::read_to_string(&trace)
        .expect("trace")
        .lines()
        .filter(|l| {
            let name = l.split('(').next().unwrap_or("");
            l.starts_with("---") || l.starts_with("+++") || calls.split(',').any(|c| c == name)
        })
        .map(str::to_string)
        .collect();
    let theirs: Vec<String> = under::lines(&out)
        .into_iter()
        .map(|(_, l)| unpad(&l))
        .filter(|l| !l.starts_with("+++ exited"))
        .collect();
    let (ours, theirs) = (from_listen(ours), from_listen(theirs));
    assert_eq!(ours, theirs, "socklab vs strace -f");
    let me = std::process::id();
    let usr1 = format!("--- SIGUSR1 {{si_signo=SIGUSR1, si_code=SI_USER, si_pid={me}, si_uid=");
    assert!(ours[1].starts_with("getpid() = "), "the pause's {ours:#?}");
    let term = format!("--- SIGTERM {{si_signo=SIGTERM, si_code=SI_USER, si_pid={me}, si_uid=");
    assert!(ours[2].starts_with(&usr1), "{ours:#?}");
    assert!(ours[3..5].iter().any(|l| l.starts_with(&term)), "{ours:#?}");
    let eintr = "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)";
    assert!(ours.iter().any(|l| l == eintr), "{ours:#?}");
}
