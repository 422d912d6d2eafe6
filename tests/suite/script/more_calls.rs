//! The process and signal-mask calls socklab's own trace prints (the
//! fork and prefork servers, `bench --pin`) as script lines (issue 14
//! rule 1): gettid (a pid label), geteuid, prctl(PR_SET_PDEATHSIG, SIG)
//! and alarm (a process actor's), rt_sigprocmask, rt_sigtimedwait,
//! sched_setaffinity(0, ...). Each prints strace's own line, its
//! expectations hold or exit 1, and the timeline replays. The ring calls
//! (io_uring_*, mmap) are refused with their reason, as is `--record`
//! of a `--model uring` server.

use super::{script, script_raw};
use crate::harness::{self, Outcome, TempDir, run, socklab};

/// The first CPU this process may run on (sched_getaffinity).
fn a_cpu() -> usize {
    // SAFETY: a zeroed cpu_set_t is an empty set; the call fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: set is a live cpu_set_t of `size` bytes.
    assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut set) }, 0);
    // SAFETY: CPU_ISSET reads one bit of the live set.
    (0..1024)
        .find(|c| unsafe { libc::CPU_ISSET(*c, &set) })
        .unwrap()
}

/// Every new line in a thread actor (`main`) and a process actor (`p`).
fn every_line() -> String {
    // SAFETY: geteuid only reads the process's effective uid.
    let uid = unsafe { libc::geteuid() };
    let cpu = a_cpu();
    format!(
        "gettid() = 100
geteuid() = {uid}
rt_sigprocmask(SIG_BLOCK, [USR1 CHLD], [], 8) = 0
rt_sigprocmask(SIG_SETMASK, NULL, [USR1 CHLD], 8) = 0
rt_sigtimedwait([USR1], NULL, {{tv_sec=0, tv_nsec=1000000}}, 8) = -1 EAGAIN (Resource temporarily unavailable)
sched_setaffinity(0, 128, [{cpu}]) = 0
rt_sigprocmask(SIG_UNBLOCK, [USR1 CHLD], NULL, 8) = 0
p = fork()
p | prctl(PR_SET_PDEATHSIG, SIGTERM) = 0
p | alarm(5) = 0
p | alarm(0) = 5
p | gettid() = 200
"
    )
}

/// The calls of these rows, whitespace runs as one (strace pads before `=`).
fn about(text: &str) -> Vec<String> {
    const NAMES: [&str; 7] = [
        "gettid(",
        "geteuid(",
        "rt_sigprocmask(",
        "rt_sigtimedwait(",
        "sched_setaffinity(",
        "prctl(PR_SET_PDEATHSIG",
        "alarm(",
    ];
    text.lines()
        .map(|l| l.split_once(" | ").map_or(l, |(_, call)| call))
        .map(|l| harness::untask(l.trim()))
        .filter(|l| NAMES.iter().any(|n| l.starts_with(n)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn script_process_and_signal_mask_lines_run_and_replay() {
    let text = every_line();
    let o = script_raw(&text, &[]);
    o.assert_ok();
    let mine = about(&o.stdout);
    assert_eq!(mine.len(), 11, "{}", o.dump());
    for line in [
        "rt_sigprocmask(SIG_BLOCK, [USR1 CHLD], [], 8) = 0",
        "rt_sigprocmask(SIG_SETMASK, NULL, [USR1 CHLD], 8) = 0",
        "rt_sigtimedwait([USR1], NULL, {tv_sec=0, tv_nsec=1000000}, 8) = -1 EAGAIN (Resource temporarily unavailable)",
        "prctl(PR_SET_PDEATHSIG, SIGTERM) = 0",
        "alarm(0) = 5",
    ] {
        assert!(mine.iter().any(|l| l == line), "{line}\n{}", o.dump());
    }
    // The timeline is a script that replays.
    let again = script(&o.stdout, &[]);
    again.assert_ok();
    assert_eq!(about(&again.stdout).len(), 11, "{}", again.dump());
}

#[test]
fn script_process_and_signal_mask_lines_are_what_strace_prints() {
    if !harness::have("strace") {
        return;
    }
    let dir = TempDir::new("more-calls");
    let (file, trace) = (dir.path("t.script"), dir.path("t.strace"));
    std::fs::write(&file, every_line()).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-o", &trace]);
    cmd.args([
        "-e",
        "trace=gettid,geteuid,rt_sigprocmask,rt_sigtimedwait,sched_setaffinity,prctl,alarm",
    ]);
    cmd.args([harness::bin(), "script", &file]);
    let out = run(cmd, b"");
    out.assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    // strace's lines without their pid (its own glibc's calls are there too).
    let theirs = about(
        &raw.lines()
            .map(|l| l.split_once(' ').map_or(l, |(_, call)| call.trim_start()))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let mine = about(&out.stdout);
    assert_eq!(mine.len(), 11, "{}", out.dump());
    for line in &mine {
        assert!(
            theirs.contains(line),
            "socklab's line is not strace's: {line}\n{theirs:#?}\n{}",
            out.dump()
        );
    }
}

/// A wrong expectation exits 1 with the line and what differed.
fn fails(text: &str, what: &str) -> Outcome {
    let o = script(text, &[]);
    assert_eq!(o.code(), Some(1), "{}", o.dump());
    assert!(o.stderr.contains(what), "{what}\n{}", o.dump());
    o
}

#[test]
fn script_process_and_signal_mask_expectations_are_checked() {
    let text = every_line();
    // SAFETY: geteuid only reads the process's effective uid.
    let uid = unsafe { libc::geteuid() };
    fails(
        &text.replace(
            &format!("geteuid() = {uid}"),
            &format!("geteuid() = {}", uid + 1),
        ),
        &format!("expected result: = {}", uid + 1),
    );
    // The old mask read back is an output argument.
    fails(
        &text.replace("NULL, [USR1 CHLD], 8) = 0", "NULL, [USR1], 8) = 0"),
        "argument 3 (oldset)",
    );
    fails(&text.replace("alarm(0) = 5", "alarm(0) = 4"), "= 4");
    // gettid's result is a pid label: bound first, the same after.
    script("gettid() = 100\ngettid() = 100\n", &[]).assert_ok();
}

#[test]
fn script_rt_sigtimedwait_takes_a_signal_sent_to_its_thread_actor() {
    let text = "\
a | rt_sigprocmask(SIG_BLOCK, [USR1], NULL, 8) = 0
b | kill(a, SIGUSR1) = 0
a | rt_sigtimedwait([USR1], NULL, {tv_sec=5, tv_nsec=0}, 8) = 10 (SIGUSR1)
a | rt_sigtimedwait([USR1], NULL, NULL, 8) = 10 (SIGUSR1)
b | kill(a, SIGUSR1) = 0
a | rt_sigprocmask(SIG_UNBLOCK, [USR1], [USR1], 8) = 0
";
    let o = script_raw(text, &[]);
    o.assert_ok();
    let shown = harness::untasked(&o.stdout);
    for line in [
        "a | rt_sigtimedwait([USR1], NULL, {tv_sec=5, tv_nsec=0}, 8) = 10 (SIGUSR1)",
        // NULL info: strace decodes the whole call at entry.
        "a | rt_sigtimedwait([USR1], NULL, NULL, 8 <unfinished ...>",
        "a | <... rt_sigtimedwait resumed>) = 10 (SIGUSR1)",
    ] {
        assert!(shown.contains(line), "{line}\n{}", o.dump());
    }
    // The timeline replays (its tgkill finds `a` by its `[pid TID]`).
    script(&o.stdout, &[]).assert_ok();
}

/// A process actor killed in rt_sigtimedwait: strace -f shows `= -1
/// EINTR` (the call's own return, not a socket call's ERESTARTSYS).
#[test]
fn script_a_process_actor_killed_in_rt_sigtimedwait_shows_eintr() {
    let text = "\
p = fork()
p | rt_sigprocmask(SIG_BLOCK, [USR1], NULL, 8) = 0
p | rt_sigtimedwait([USR1], NULL, NULL, 8)
kill(p, SIGTERM) = 0
wait4(p, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], 0, NULL) = 100
";
    let o = script(text, &[]);
    o.assert_ok();
    let want = "p | <... rt_sigtimedwait resumed>) = -1 EINTR (Interrupted system call)";
    assert!(o.stdout.contains(want), "{}", o.dump());
}

#[test]
fn script_prctl_and_alarm_are_a_process_actors_only() {
    for line in ["prctl(PR_SET_PDEATHSIG, SIGTERM) = 0", "alarm(1) = 0"] {
        let o = script(&format!("{line}\n"), &[]);
        assert_eq!(o.code(), Some(1), "{}", o.dump());
        assert!(
            o.stderr
                .contains("would change socklab's own process: make it in a process actor"),
            "{}",
            o.dump()
        );
    }
    let o = script("p = fork()\np | prctl(15, 0) = 0\n", &[]);
    assert_eq!(o.code(), Some(1), "{}", o.dump());
    assert!(
        o.stderr
            .contains("a script's prctl is prctl(PR_SET_PDEATHSIG, SIG)"),
        "{}",
        o.dump()
    );
}

#[test]
fn script_refuses_ring_lines_with_their_reason() {
    let text = "\
io_uring_setup(8, {flags=0}) = 3
io_uring_enter(3, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 1
mmap(NULL, 36928, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, 3, 0) = 0x7f07a4c09000
";
    let o = script(text, &[]);
    assert_eq!(o.code(), Some(2), "{}", o.dump());
    assert!(
        o.stderr.contains("-:2:1: 'io_uring_enter' cannot be scripted: the SQEs it submits are in the ring's shared memory, not in the line"),
        "{}",
        o.dump()
    );
    assert!(
        o.stderr
            .contains("-:3:1: 'mmap' cannot be scripted: socklab maps only io_uring's rings"),
        "{}",
        o.dump()
    );
    assert!(o.stdout.is_empty(), "{}", o.dump());
}

#[test]
fn uring_server_record_is_refused_with_its_reason() {
    let dir = TempDir::new("uring-rec");
    let file = dir.path("u.script");
    for cmd in [
        ["tcp", "server", "127.0.0.1:0"],
        ["udp", "server", "127.0.0.1:0"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--model", "uring", "--record", &file]);
        let o = run(socklab(&args), b"");
        assert_eq!(o.code(), Some(2), "{}", o.dump());
        assert!(
            o.stderr
                .contains("--record: a --model uring server's calls go through its ring"),
            "{}",
            o.dump()
        );
        assert!(!std::path::Path::new(&file).exists());
    }
}
