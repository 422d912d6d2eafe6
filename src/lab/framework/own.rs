//! The lab framework's own calls (issue 15: a call strace -f sees is a
//! timeline line or named in a note saying why not): what each kind is,
//! in the one note a lab prints where that kind first happens
//! ([`super::Ctx::note_once`]). They are socklab's observation and
//! plumbing, not the experiment's: a line each would read as a call of
//! a side (and a lab's record would replay them). Measured with `strace
//! -f` (tests/suite/strace/labs.rs checks every call of a lab's tasks
//! against its timeline and these notes).

/// The threads a lab runs its sides on (`run_one`'s worker runs the
/// first; a lab starts the others with `std::thread::scope`), and the
/// trace's own look at where glibc keeps a thread's id.
pub const THREADS: &str = "not shown: socklab's own threads, one per side (the lab's worker \
     runs the first): std::thread's clone3() between rt_sigprocmask(SIG_BLOCK, ~[], ...) and \
     rt_sigprocmask(SIG_SETMASK, ...); in the thread rseq(), set_robust_list(), \
     rt_sigprocmask(), sched_getaffinity(), gettid() and sigaltstack() at its start, \
     sigaltstack(), rt_sigprocmask(), madvise() and exit() at its end; and socklab's gettid() \
     (once: where glibc keeps a thread's id)";

/// `observe.rs`: where a side waits, from /proc.
pub const WATCH: &str = "not shown: the lab's look at where a side waits: gettid() in that \
     side, then /proc/self/task/TID/syscall read with openat(), statx(), read() and close(), \
     clock_nanosleep() between looks";

/// `observe::read_proc`: the /proc files a lab's notes quote.
pub const PROC: &str = "not shown: the lab's reads of the /proc files its notes name \
     (/proc/net/tcp, /proc/net/netstat, a sysctl): openat(), statx(), read(), close()";

/// `Ctx::quiet`: TCP_INFO, and the loops a lab summarises in a note.
pub const QUIET: &str = "not shown: the lab's untraced calls: getsockopt(FD, SOL_TCP, \
     TCP_INFO, ...) for the TCP states and counters it notes, and the loops it sums up in a \
     note";

/// A lab that is a script: the script runner's own calls around its
/// actors (`script/actors.rs`, `asleep.rs`).
pub const RUNNER: &str = "not shown: the script runner's own calls: each actor's thread (as \
     above, named with prctl(PR_SET_NAME, \"actor NAME\")) and its gettid(); its \
     /proc/thread-self/stat and syscall, opened with openat(), moved above fd 900 with \
     fcntl(F_DUPFD_CLOEXEC) and close(), read with pread64() to see the actor asleep in its \
     call; std's getrandom() and getpid() as the runner starts; newfstatat() of each socket file \
     or directory a call made (the end removes only those), readlink() of /proc/self/fd/N (a \
     directory fd's path), geteuid() (a credential's uid)";

/// `LabNet::up_for`: the lab network's set-up, tear-down and hosts
/// (`net.rs`, src/net/); measured with strace -f, not in the labs test
/// (it needs root and namespaces).
pub const NET: &str = "not shown: the lab network's own calls: `socklab net up` (the line \
     above) and its `ip` commands run as child processes (clone3(CLONE_VM|CLONE_VFORK), \
     pipe2(), openat() of /dev/null, prlimit64(), read(), close(), wait4(); their own calls), \
     stopped at the end through its control socket (socket(AF_UNIX), connect(), \
     getsockopt(SO_PEERCRED), shutdown(), poll(), read(), newfstatat(), openat(), unlinkat()); a \
     side enters its host and comes back with openat() of /proc/thread-self/ns/net and \
     /run/netns/NAME, setns() and close()";
