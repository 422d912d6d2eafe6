//! A program killed by a stop signal while blocked (issue 15 item 2):
//! every tcp, udp and unix program catches the stop signals from the
//! start (sys/signals.rs), so its trace shows what strace -f shows: the
//! cut call (`= ? ERESTARTSYS`, `= -1 EINTR` for epoll_wait, `= ?
//! ERESTART_RESTARTBLOCK` for a poll with a timeout), `--- SIGTERM
//! {si_code=SI_USER, ...} ---`, `rt_sigreturn`, the re-raise
//! (`rt_sigprocmask(SIG_UNBLOCK, [TERM], ...)`, `getpid`, `tgkill`), `---
//! SIGTERM {si_code=SI_TKILL, ...} ---` and `+++ killed by SIGTERM +++`.
//! Before, the default action killed the program in its call and its
//! trace just stopped there.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use super::tasks::{assert_tasks_equal, strace_f, strace_tasks, wait_for_line};
use super::under::{echo, traced_pid};
use super::unfinished::socklab_tasks;
use super::*;

/// Wait (bounded) until `pid` is one thread again (a served connection's
/// thread has ended: a thread that is ending when the signal kills would
/// be `+++ killed` in strace's lines, not `+++ exited`).
fn one_thread(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count()) != 1 {
        assert!(Instant::now() < deadline, "{pid}: its threads never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// SIGTERM to `pid`, then: it died by it, each task's lines equal strace
/// -f's, and the main task's lines end as strace's do after `cut` (the
/// blocked call's line, its end): the signal, the handler's return, the
/// re-raise, `+++ killed by SIGTERM +++`.
fn killed_in(end: impl FnOnce() -> Outcome, pid: i32, out: &str, trace: &str, cut: &str) {
    // SAFETY: socklab, strace's child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let end = end();
    assert!(
        end.status.signal() == Some(libc::SIGTERM)
            || end.status.code() == Some(128 + libc::SIGTERM),
        "{}",
        end.dump()
    );
    let ours = socklab_tasks(trace);
    let (theirs, first) = strace_tasks(out);
    assert_tasks_equal(&ours, &theirs, first);
    let lines: Vec<&str> = ours
        .iter()
        .filter(|(p, _)| p.unwrap_or(first) == first)
        .map(|(_, l)| l.as_str())
        .collect();
    let at = lines
        .iter()
        .rposition(|l| l.ends_with(cut))
        .unwrap_or_else(|| panic!("no line ending {cut:?}: {lines:#?}"));
    let tail = &lines[at + 1..];
    let me = std::process::id();
    let user = format!("--- SIGTERM {{si_signo=SIGTERM, si_code=SI_USER, si_pid={me}, si_uid=");
    let tkill =
        format!("--- SIGTERM {{si_signo=SIGTERM, si_code=SI_TKILL, si_pid={first}, si_uid=");
    assert_eq!(tail.len(), 7, "{lines:#?}");
    assert!(tail[0].starts_with(&user), "{lines:#?}");
    assert_eq!(
        tail[1],
        "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)"
    );
    assert_eq!(tail[2], "rt_sigprocmask(SIG_UNBLOCK, [TERM], NULL, 8) = 0");
    assert_eq!(tail[3], format!("getpid() = {first}"));
    assert_eq!(tail[4], format!("tgkill({first}, {first}, SIGTERM) = 0"));
    assert!(tail[5].starts_with(&tkill), "{lines:#?}");
    assert_eq!(tail[6], "+++ killed by SIGTERM +++");
    // As strace -f's: bare, each other task dropped as it died (a thread
    // model's worker killed with it printed its own `+++` line first).
    let text = std::fs::read_to_string(trace).expect("trace");
    let last = text.lines().rfind(|l| !l.contains("# "));
    assert_eq!(last, Some("+++ killed by SIGTERM +++"), "{text}");
}

const RESTART: &str = "SOCK_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)";

/// A server of `model` (after `before`, run once it listens) killed in
/// the call `nr`, whose line ends with `cut`.
fn server_killed(model: &[&str], before: impl FnOnce(&str, i32), nr: libc::c_long, cut: &str) {
    let mut args = vec!["tcp", "server", "127.0.0.1:0"];
    args.extend_from_slice(model);
    killed_server(&args, before, nr, cut);
}

/// The server `args` (after `before`) killed in the call `nr`.
fn killed_server(args: &[&str], before: impl FnOnce(&str, i32), nr: libc::c_long, cut: &str) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("killed");
    let (cmd, out, trace) = strace_f(&dir, args);
    let server = Server::start_cmd(cmd);
    let pid = traced_pid(server.pid());
    before(&server.addr, pid);
    harness::blocked_in(pid, nr);
    killed_in(|| server.finish(), pid, &out, &trace, cut);
}

#[test]
fn an_iterative_server_killed_in_accept4_equals_strace_f() {
    server_killed(&[], |_, _| {}, libc::SYS_accept4, RESTART);
}

/// A UNIX server on an abstract name (no file, so it did not catch the
/// stop signals before).
#[test]
fn an_abstract_unix_server_killed_in_accept4_equals_strace_f() {
    let name = format!("@socklab-killed-server-{}", std::process::id());
    let args = ["unix", "server", &name];
    killed_server(&args, |_, _| {}, libc::SYS_accept4, RESTART);
}

/// The stop signals are blocked in the connection threads (workers.rs
/// `spawn_quiet`): the main thread takes it, in accept4, after a
/// connection's thread has ended.
#[test]
fn a_thread_server_killed_in_accept4_equals_strace_f() {
    let served = |addr: &str, pid: i32| {
        echo(addr, "one");
        one_thread(pid);
    };
    server_killed(&["--model", "thread"], served, libc::SYS_accept4, RESTART);
}

/// Wait (bounded) until a thread of `pid` other than its first is
/// blocked in the syscall `nr`.
fn worker_blocked_in(pid: i32, nr: libc::c_long) {
    let want = format!("{nr} ");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
        let names = tasks.filter_map(|t| t.ok()).map(|t| t.file_name());
        let others = names.filter(|t| t.to_str() != Some(&pid.to_string()));
        let blocked = others.map(|t| format!("/proc/{pid}/task/{}/syscall", t.to_string_lossy()));
        if blocked
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .any(|s| s.starts_with(&want))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pid}: no thread blocked in {nr}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A client connected and idle: its thread blocks in recvfrom while the
/// main thread takes the signal in accept4. The re-raise kills both, and
/// strace -f ends the worker's call (`<... recvfrom resumed> <unfinished
/// ...>) = ?`) and prints its own `+++ killed by SIGTERM +++` before the
/// main thread's: socklab too (before, its trace left the worker's call
/// open and its end out).
#[test]
fn a_thread_server_killed_with_a_worker_in_recvfrom_equals_strace_f() {
    let mut idle = None;
    let connected = |addr: &str, pid: i32| {
        idle = Some(std::net::TcpStream::connect(addr).expect("connect"));
        worker_blocked_in(pid, libc::SYS_recvfrom);
    };
    server_killed(
        &["--model", "thread"],
        connected,
        libc::SYS_accept4,
        RESTART,
    );
    drop(idle);
}

/// epoll_wait returns EINTR itself (strace: `= -1 EINTR`, not `= ?`).
#[test]
fn an_epoll_server_killed_in_epoll_wait_equals_strace_f() {
    let cut = ", -1) = -1 EINTR (Interrupted system call)";
    server_killed(&["--model", "epoll"], |_, _| {}, libc::SYS_epoll_wait, cut);
}

/// `unix client --timeout` waits for its echo in poll (the server paused
/// before its recvfrom): `= ? ERESTART_RESTARTBLOCK (Interrupted by
/// signal)`.
#[test]
fn a_unix_client_with_a_timeout_killed_in_poll_equals_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("killed-client");
    let name = format!("@socklab-killed-{}", std::process::id());
    let srv = Server::start(&["unix", "server", &name, "--pause-before", "recvfrom"]);
    let args = ["unix", "client", &name, "--timeout", "30", "-m", "hi"];
    let (mut cmd, out, trace) = strace_f(&dir, &args);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let strace = cmd.spawn().expect("strace");
    wait_for_line(&trace, "sendto(");
    let pid = traced_pid(strace.id() as i32);
    harness::blocked_in(pid, libc::SYS_poll);
    let cut = "}], 1, 30000) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)";
    killed_in(|| harness::finish(strace), pid, &out, &trace, cut);
    srv.signal(libc::SIGTERM);
    let _ = srv.finish();
}

/// A prefork server killed in wait4 (its worker in accept4): it SIGTERMs
/// the worker, waits for it in `rt_sigtimedwait([CHLD], NULL, {time
/// left}, 8)` (the time it passed, as strace prints it at the entry:
/// socklab's `<unfinished ...>` line showed `{tv_sec=0, tv_nsec=0}`, read
/// before the time was), reaps it and dies by the signal. Each task's
/// lines equal strace -f's, and the parent's lines after the worker's
/// `+++ killed by SIGTERM +++` are bare, as strace -f prints them once it
/// has seen the worker die (socklab's kept `[pid N]` until the wait4).
#[test]
fn a_prefork_server_killed_in_wait4_equals_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("killed-prefork");
    let args = ["tcp", "server", "127.0.0.1:0", "--model", "prefork:1"];
    let (cmd, out, trace) = strace_f(&dir, &args);
    let server = Server::start_cmd(cmd);
    let pid = traced_pid(server.pid());
    let worker = traced_pid(pid);
    harness::blocked_in(worker, libc::SYS_accept4);
    harness::blocked_in(pid, libc::SYS_wait4);
    // SAFETY: socklab, strace's child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let end = server.finish();
    assert_eq!(end.status.code(), None, "{}", end.dump());
    assert_eq!(end.status.signal(), Some(libc::SIGTERM), "{}", end.dump());
    let ours = socklab_tasks(&trace);
    let (theirs, first) = strace_tasks(&out);
    assert_tasks_equal(&ours, &theirs, first);
    let text = std::fs::read_to_string(&trace).expect("trace");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("# ") && !l.contains("] # "))
        .collect();
    let died = format!("[pid {worker:>5}] +++ killed by SIGTERM +++");
    let at = lines
        .iter()
        .position(|l| *l == died)
        .unwrap_or_else(|| panic!("no {died:?}: {lines:#?}"));
    let after = &lines[at + 1..];
    assert!(after.len() >= 6, "{lines:#?}");
    assert!(after.iter().all(|l| !l.starts_with("[pid ")), "{lines:#?}");
    // The worker may be dead before the kill returns (then wait4(WNOHANG)
    // reaps it and no rt_sigtimedwait is made; or the wait comes after
    // its `+++`, bare). One that is made shows the grace time left it
    // passed, not the zero the old entry line showed (its value is
    // strace's: compared above).
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("rt_sigtimedwait("))
            .all(|l| l.contains("rt_sigtimedwait([CHLD], NULL, {tv_sec=")
                && !l.contains("{tv_sec=0, tv_nsec=0}")),
        "{lines:#?}"
    );
}
