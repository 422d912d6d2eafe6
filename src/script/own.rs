//! The script runner's own calls (issue 15: a call `strace -f` sees is a
//! timeline line or named in a note saying why not), for `socklab
//! script FILE`: one note before its first line, one after its last,
//! worded as a lab's (src/lab/framework/own.rs; a lab that runs a script
//! prints its own notes, so `run_with` prints neither). They are
//! socklab's plumbing, not the script's calls: a line each would read
//! as an actor's call. Measured with `strace -f`
//! (tests/suite/strace/script_own.rs checks every call after the
//! script's file is read against the timeline and these notes).

use crate::strace::Tracer;

/// Before the first line: the runner's start and each actor's thread.
pub const START: &str = "# not shown: the script runner's own calls: std's getrandom() and \
     getpid() and its rt_sigprocmask(SIG_BLOCK, [CHLD], ...) as it starts (only actors take a \
     SIGCHLD); glibc's rt_sigaction(SIGRT_1, ...) and rt_sigprocmask(SIG_UNBLOCK, [RTMIN RT_1], \
     ...) before its first thread; one thread per actor: std::thread's clone3() between \
     rt_sigprocmask(SIG_BLOCK, ~[], ...) and rt_sigprocmask(SIG_SETMASK, ...); in the thread \
     rseq(), set_robust_list(), rt_sigprocmask(), prctl(PR_SET_NAME, \"actor NAME\"), \
     sched_getaffinity(), gettid() and sigaltstack() at its start; its /proc/thread-self/stat and \
     syscall, opened with openat(), moved above fd 900 with fcntl(F_DUPFD_CLOEXEC) and close(), \
     read with pread64() to see the actor asleep in its call; newfstatat() of each socket file or \
     directory a call made (the end removes only those), readlink() of /proc/self/fd/N (a \
     directory fd's path), geteuid() (a credential's uid)";

/// After the last line: how `strace -f` ends the same run.
pub fn end(code: i32) -> String {
    format!(
        "# not shown: the end as strace -f prints it: each actor thread's sigaltstack(), \
         rt_sigprocmask(), madvise() and `exit(0) = ?`, `+++ exited with 0 +++`; the runner's \
         close() of each actor's /proc files (fd 900 and up), its rt_sigprocmask(SIG_UNBLOCK, \
         [CHLD], ...) and sigaltstack(); then the process's `exit_group({code}) = ?`, `+++ \
         exited with {code} +++`"
    )
}

/// A note line of the text timeline (a JSON timeline has none: its
/// lines are the calls, as a lab's `print_text`).
pub fn print(tracer: &Tracer, text: &str) {
    if tracer.enabled() && !tracer.is_json() {
        tracer.note(text);
    }
}
