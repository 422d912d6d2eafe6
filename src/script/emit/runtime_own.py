

# getpid, getppid, gettid, prlimit64 and signal-mask lines (each part written when a line uses it).
#@ resource
import resource

#@ PIDS pid_is
# Pid labels: bound by the first result that shows one, in memory a fork
# shares (a process actor's binding is its parent's too): pairs of (as
# written, this run's), 0 when free.
PIDS = mmap.mmap(-1, 16 * 64)


def pid_is(line, written, got):
    for i in range(64):
        w, g = struct.unpack_from("qq", PIDS, 16 * i)
        if w == written:
            want(line, got, g)
            return
        if w == 0:
            struct.pack_into("qq", PIDS, 16 * i, written, got)
            return


#@ limit_is
def limit_is(line, what, got, expected):
    """A limit prlimit64 read back (RLIM_INFINITY as strace names it)."""
    if got != expected:
        name = lambda v: "RLIM64_INFINITY" if v == resource.RLIM_INFINITY else v
        fail(line, what, name(expected), name(got))


#@ mask_is sig_text SIG_NAMES
# Index: the signal, as strace names it in a set (socklab's own table).
SIG_NAMES = [
    SIGNAL_SHORT_NAMES
]


def sig_text(signals):
    """A mask as strace prints it (`[USR1 CHLD]`; `~[...]`, the signals
    not in it, when more than half are in)."""
    if len(signals) > 32:
        return "~[" + " ".join(SIG_NAMES[n] for n in range(1, 65) if n not in signals) + "]"
    return "[" + " ".join(SIG_NAMES[n] for n in sorted(signals)) + "]"


def mask_is(line, got, expected):
    """An old mask rt_sigprocmask read back (`expected`: its signals' numbers)."""
    got = sorted(int(s) for s in got)
    if got != expected:
        fail(line, "oldset", sig_text(expected), sig_text(got))
