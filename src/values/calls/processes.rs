//! The call table's rows for processes, threads, signals and resources.

use nix::errno::Errno::*;

use super::Kind::*;
use super::Ret;
use super::Syscall;
use super::When::Any;
use super::i;
use super::io;
use super::o;
use super::sockets::hint;

const PROCESS_LIMIT: &str = "no process can be made: this user's process limit (RLIMIT_NPROC, ulimit -u) or the system's (sysctl kernel.threads-max, kernel.pid_max) is reached; wait for some to end, or raise the limit";
const NO_MEMORY: &str =
    "out of memory for a new process or thread (ulimit -v, or the machine's memory)";

/// fork(), as strace shows it on x86-64 glibc: `clone(child_stack=NULL, ...)`.
pub static CLONE: Syscall = Syscall {
    name: "clone",
    new_task: true,
    ret: Ret::Pid,
    scriptable: true,
    args: &[
        i("child_stack", Pointer),
        i("flags", Flags),
        o("child_tidptr", Pointer),
    ],
    hints: &[
        hint(&[EAGAIN], Any, PROCESS_LIMIT),
        hint(&[ENOMEM], Any, NO_MEMORY),
    ],
    nr: libc::SYS_clone,
    rendered_elsewhere: "it forks the test process: tests/suite/strace/tasks.rs compares its line with strace -f",
    entry: super::Entry::CommaAtReturn,
    ..Syscall::ROW
};

const NOT_ROOT: &str =
    "only root (CAP_SETUID, CAP_SETGID) can change its user, group or groups to others";

/// setgroups(2): a script's process actor drops its supplementary groups.
pub static SETGROUPS: Syscall = Syscall {
    name: "setgroups",
    scriptable: true,
    args: &[i("size", Int), i("list", Pointer)],
    hints: &[hint(&[EPERM], Any, NOT_ROOT)],
    nr: libc::SYS_setgroups,
    programs: false,
    rendered_elsewhere: "it would change this thread's ids: tests/suite/script/files.rs checks a process actor's line",
    ..Syscall::ROW
};

/// setgid(2): a script's process actor takes another group.
pub static SETGID: Syscall = Syscall {
    name: "setgid",
    scriptable: true,
    args: &[i("gid", Int)],
    hints: &[hint(&[EPERM], Any, NOT_ROOT)],
    nr: libc::SYS_setgid,
    programs: false,
    rendered_elsewhere: "it would change this thread's ids: tests/suite/script/files.rs checks a process actor's line",
    ..Syscall::ROW
};

/// setuid(2): a script's process actor becomes another user.
pub static SETUID: Syscall = Syscall {
    name: "setuid",
    scriptable: true,
    args: &[i("uid", Int)],
    hints: &[hint(&[EPERM], Any, NOT_ROOT)],
    nr: libc::SYS_setuid,
    programs: false,
    rendered_elsewhere: "it would change this thread's ids: tests/suite/script/files.rs checks a process actor's line",
    ..Syscall::ROW
};

/// pthread_create(3): glibc's clone3 (after the mmap of the stack, which
/// is not traced), traced as strace prints it once it has returned; a
/// failure is the errno pthread_create returns (not traced: glibc may
/// fail before its clone3).
pub static PTHREAD_CREATE: Syscall = Syscall {
    name: "clone3",
    new_task: true,
    ret: Ret::Pid,
    scriptable: true,
    args: &[io("cl_args", Pointer), i("size", Int)],
    hints: &[
        hint(
            &[EAGAIN],
            Any,
            "no thread can be made: this user's process limit (RLIMIT_NPROC, ulimit -u; threads count), the system's (sysctl kernel.threads-max), or no memory for the thread's stack (ulimit -v)",
        ),
        hint(&[ENOMEM], Any, NO_MEMORY),
    ],
    nr: libc::SYS_clone3,
    rendered_elsewhere: "it starts a thread: tests/suite/strace/tasks.rs compares its line with strace -f",
    entry: super::Entry::Before(" => {"),
    ..Syscall::ROW
};

pub static WAIT4: Syscall = Syscall {
    name: "wait4",
    ret: Ret::Pid,
    scriptable: true,
    args: &[
        i("pid", Int),
        o("wstatus", Pointer),
        i("options", Flags),
        o("rusage", Pointer),
    ],
    blocks: true,
    waits_for_peer: true,
    nr: libc::SYS_wait4,
    restart: super::ERESTARTSYS,
    ..Syscall::ROW
};

pub static KILL: Syscall = Syscall {
    name: "kill",
    scriptable: true,
    args: &[i("pid", Int), i("sig", Int)],
    nr: libc::SYS_kill,
    ..Syscall::ROW
};

/// tgkill(2): a re-raised stop signal (glibc's raise), as the last call;
/// a script's signal to a thread actor.
pub static TGKILL: Syscall = Syscall {
    name: "tgkill",
    scriptable: true,
    args: &[i("tgid", Int), i("tid", Int), i("sig", Int)],
    nr: libc::SYS_tgkill,
    rendered_elsewhere: "the re-raise kills the process (tests/suite/strace/tasks.rs); a script's: src/sys/rendered_raw.rs",
    ..Syscall::ROW
};

pub static PRCTL: Syscall = Syscall {
    name: "prctl",
    scriptable: true,
    args: &[i("option", Int), i("arg2", Int)],
    nr: libc::SYS_prctl,
    rendered_elsewhere: "PR_SET_PDEATHSIG would stay on the test process: the prefork tests",
    ..Syscall::ROW
};

pub static GETPID: Syscall = Syscall {
    name: "getpid",
    ret: Ret::Pid,
    scriptable: true,
    nr: libc::SYS_getpid,
    ..Syscall::ROW
};

pub static GETPPID: Syscall = Syscall {
    name: "getppid",
    ret: Ret::Pid,
    scriptable: true,
    nr: libc::SYS_getppid,
    ..Syscall::ROW
};

pub static RT_SIGPROCMASK: Syscall = Syscall {
    name: "rt_sigprocmask",
    scriptable: true,
    args: &[
        i("how", Int),
        i("set", Pointer),
        o("oldset", Pointer),
        i("sigsetsize", Len),
    ],
    nr: libc::SYS_rt_sigprocmask,
    rendered_elsewhere: "it changes the test thread's mask: the fork and prefork tests (tests/suite/strace/tasks.rs)",
    ..Syscall::ROW
};

pub static RT_SIGTIMEDWAIT: Syscall = Syscall {
    name: "rt_sigtimedwait",
    scriptable: true,
    args: &[
        i("set", Pointer),
        o("info", Pointer),
        i("timeout", Pointer),
        i("sigsetsize", Len),
    ],
    blocks: true,
    nr: libc::SYS_rt_sigtimedwait,
    rendered_elsewhere: "it waits for a child: the fork model's stop tests",
    entry: super::Entry::WholeIfNull(&[1]),
    ..Syscall::ROW
};

/// rt_sigreturn(2): the return from a signal handler. Not called by
/// socklab: the kernel's trampoline makes it when the handler returns;
/// traced after the call the signal interrupted (`--- SIGCHLD {...} ---`
/// then `rt_sigreturn({mask=[]}) = -1 EINTR`), as strace shows it.
pub static RT_SIGRETURN: Syscall = Syscall {
    name: "rt_sigreturn",
    args: &[i("mask", Pointer)],
    nr: libc::SYS_rt_sigreturn,
    rendered_elsewhere: "the kernel's, after a handler: src/sys/delivered.rs, tests/suite/strace/tasks.rs",
    ..Syscall::ROW
};

pub static PRLIMIT64: Syscall = Syscall {
    name: "prlimit64",
    scriptable: true,
    args: &[
        i("pid", Int),
        i("resource", Int),
        i("new_limit", Pointer),
        o("old_limit", Pointer),
    ],
    errnos: &[(Any, &[EPERM, EINVAL])],
    nr: libc::SYS_prlimit64,
    ..Syscall::ROW
};

pub static GETRUSAGE: Syscall = Syscall {
    name: "getrusage",
    args: &[i("who", Int), o("usage", Pointer)],
    nr: libc::SYS_getrusage,
    ..Syscall::ROW
};

pub static SCHED_SETAFFINITY: Syscall = Syscall {
    name: "sched_setaffinity",
    scriptable: true,
    args: &[i("pid", Int), i("cpusetsize", Len), i("mask", Pointer)],
    nr: libc::SYS_sched_setaffinity,
    rendered_elsewhere: "it would pin the test process: the bench tests",
    ..Syscall::ROW
};

/// _exit(2): strace shows it as exit_group. A forked server child's end
/// and a traced program's (cli/end.rs) are traced (`Sys::exit_group`: its
/// line and `+++ exited with N +++` written just before the syscall,
/// which does not return).
pub static EXIT_GROUP: Syscall = Syscall {
    name: "exit_group",
    scriptable: true,
    args: &[i("status", Int)],
    nr: libc::SYS_exit_group,
    rendered_elsewhere: "it would end the test process: tests/suite/strace/models.rs \
        (the fork and prefork models' children)",
    ..Syscall::ROW
};

/// geteuid(2): socklab's own checks (untraced); a script's line (traced).
pub static GETEUID: Syscall = Syscall {
    name: "geteuid",
    scriptable: true,
    programs: false,
    nr: libc::SYS_geteuid,
    ..Syscall::ROW
};

/// sysconf(_SC_CLK_TCK): a C library call with no syscall (glibc reads
/// the auxiliary vector); named here because it is outside Rust's std.
pub static SYSCONF: Syscall = Syscall {
    name: "sysconf",
    args: &[i("name", Int)],
    traced: false,
    ..Syscall::ROW
};

/// sigaction(2): a script's `rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL,
/// ...}, NULL, 8)` and `--model fork`'s SIGCHLD handler (traced);
/// sys/signals.rs's other handlers (not traced).
pub static RT_SIGACTION: Syscall = Syscall {
    name: "rt_sigaction",
    scriptable: true,
    args: &[
        i("signum", Int),
        i("act", Pointer),
        o("oldact", Pointer),
        i("sigsetsize", Len),
    ],
    // Traced as a script's call and as `--model fork`'s SIGCHLD handler;
    // programs' other dispositions are set untraced (strace also shows
    // the runtime's own: the tests' strace sets leave the row out).
    programs: false,
    nr: libc::SYS_rt_sigaction,
    rendered_elsewhere: "a script's: src/sys/rendered_raw.rs",
    ..Syscall::ROW
};

/// alarm(2): the stop-signal handler's one-second wake-up (sys/signals.rs,
/// untraced); a script's process actor's line (traced, sys/sigsets.rs).
pub static ALARM: Syscall = Syscall {
    name: "alarm",
    args: &[i("seconds", Int)],
    scriptable: true,
    programs: false,
    rendered_elsewhere: "it would set a timer on the test process: tests/suite/script/more_calls.rs",
    nr: libc::SYS_alarm,
    ..Syscall::ROW
};

/// gettid(2): a lab's thread id, to read what it is blocked in from /proc
/// (untraced); a script's line (traced, sys/sigsets.rs): its result is a
/// pid label.
pub static GETTID: Syscall = Syscall {
    name: "gettid",
    ret: Ret::Pid,
    scriptable: true,
    programs: false,
    nr: libc::SYS_gettid,
    ..Syscall::ROW
};

/// fcntl(2): a script's (`Sys::fcntl_raw`, traced), and the
/// `--trace-file`'s O_NONBLOCK cleared before the trace starts (F_GETFL,
/// F_SETFL: untraced, sys/untraced.rs). F_GETFL and F_GETFD return
/// flags, printed in hex with their names.
pub static FCNTL: Syscall = Syscall {
    name: "fcntl",
    scriptable: true,
    args: &[i("fd", Fd), i("cmd", Int), i("arg", Flags)],
    ret: Ret::FlagsHex,
    programs: false,
    nr: libc::SYS_fcntl,
    ..Syscall::ROW
};

/// setns(2) into a network namespace (`socklab net`: the forwarder makes
/// each host's TAP device inside it). Not made by the programs.
pub static SETNS: Syscall = Syscall {
    name: "setns",
    args: &[i("fd", Fd), i("nstype", Flags)],
    errnos: &[(Any, &[EPERM, EINVAL, EBADF])],
    programs: false,
    nr: libc::SYS_setns,
    rendered_elsewhere: "it needs a namespace: src/sys/netns.rs renders its own",
    ..Syscall::ROW
};
