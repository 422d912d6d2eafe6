//! The call table: one row per syscall socklab makes, the way
//! [`super::sockopt`] has one row per option (nix's `sockopt_impl!` is the
//! same idea). A row says the name as strace prints it, the arguments in C
//! order with their kind and direction, whether the call can block (and
//! whether it waits for the peer), the errnos worth injecting, and the
//! hints per errno.
//!
//! `sys` makes each call with its row (`Sys::call(&calls::ACCEPT4, ..)`);
//! the strace renderer, `--pause-before/after`, the error hints, the wire's
//! port learning and the tests' trace set and fault lists read it.
//! Adding a syscall is one row in the file of its topic here (listed in
//! [`ALL`]) plus one thin wrapper in `sys`.

use nix::errno::Errno;

mod batch;
mod context;
mod entry;
mod files;
mod hints;
mod lists;
mod man_errors;
mod processes;
mod scripts;
mod sockets;
mod uring;
pub use batch::*;
pub use context::{Context, Hint, When};
pub use entry::Entry;
pub use files::*;
pub use hints::GENERIC_HINTS;
pub use lists::pausable;
pub use man_errors::{MAN_ERRORS, ManErrors, man_errors};
pub use processes::*;
pub use scripts::*;
pub use sockets::*;
pub use uring::*;

/// Every row, in the order of `sys`'s files.
pub static ALL: &[&Syscall] = &[
    &SOCKET,
    &SOCKETPAIR,
    &SETSOCKOPT,
    &GETSOCKOPT,
    &BIND,
    &LISTEN,
    &SHUTDOWN,
    &ACCEPT4,
    &ACCEPT,
    &CONNECT,
    &SENDTO,
    &RECVFROM,
    &SENDMSG,
    &READ,
    &WRITE,
    &DUP,
    &DUP2,
    &GETSOCKNAME,
    &GETPEERNAME,
    &CLOSE,
    &POLL,
    &IOCTL,
    &UNLINK,
    &NEWFSTATAT,
    &UMASK,
    &GETRANDOM,
    &MKDIRAT,
    &OPENAT,
    &UNLINKAT,
    &FCHMODAT,
    &FCHMOD,
    &EPOLL_CREATE1,
    &EPOLL_CTL,
    &EPOLL_WAIT,
    &RECVMSG,
    &RECVMMSG,
    &SENDMMSG,
    &CLONE,
    &PTHREAD_CREATE,
    &WAIT4,
    &KILL,
    &TGKILL,
    &SETGROUPS,
    &SETGID,
    &SETUID,
    &PRCTL,
    &GETPID,
    &GETPPID,
    &RT_SIGPROCMASK,
    &RT_SIGTIMEDWAIT,
    &RT_SIGRETURN,
    &PRLIMIT64,
    &GETRUSAGE,
    &SCHED_SETAFFINITY,
    &SETNS,
    &EXIT_GROUP,
    &GETEUID,
    &SYSCONF,
    &RT_SIGACTION,
    &ALARM,
    &GETTID,
    &FCNTL,
    &IO_URING_SETUP,
    &IO_URING_ENTER,
    &IO_URING_REGISTER,
    &MMAP,
];

/// What an argument is (how strace shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file descriptor (socket, epoll, directory, pidfd).
    Fd,
    /// An address family (`AF_INET`).
    Domain,
    /// A socket type with its flags (`SOCK_STREAM|SOCK_CLOEXEC`).
    Type,
    /// A protocol number (`IPPROTO_IP`, `0`).
    Protocol,
    /// A `struct sockaddr`.
    Sockaddr,
    /// A data buffer.
    Buffer,
    /// A byte count or structure length.
    Len,
    /// A set of flags (`MSG_DONTWAIT`, `SOCK_CLOEXEC`, `O_PATH|O_DIRECTORY`).
    Flags,
    /// A socket option level (`SOL_SOCKET`).
    Level,
    /// A socket option name (`SO_REUSEADDR`).
    Option,
    /// A pointer strace prints as an address or a structure.
    Pointer,
    /// A plain integer (backlog, timeout, pid, signal, request).
    Int,
    /// A path name.
    Path,
    /// A file mode (`0600`).
    Mode,
    /// Two file descriptors the kernel fills in (`[3, 4]`).
    FdPair,
}

/// Whether the kernel reads an argument, writes it, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
    InOut,
}

/// One argument, in C order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    pub dir: Dir,
}

/// An input argument.
pub const fn i(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        dir: Dir::In,
    }
}

/// An output argument (the kernel fills it in).
pub const fn o(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        dir: Dir::Out,
    }
}

/// An in/out argument (`[128 => 16]`).
pub const fn io(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        dir: Dir::InOut,
    }
}

/// What the return value is and how it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Int,
    /// A process id (fork's, wait4's, getpid's), printed as a number; in
    /// a script the written pid is a label, bound to this run's.
    Pid,
    /// A file mode in octal (umask's `= 022`).
    Mode,
    /// In hex when strace names its flags after it (fcntl F_GETFL's
    /// `= 0x802 (flags O_RDWR|O_NONBLOCK)`), else a number.
    FlagsHex,
    /// An address, in hex (mmap's `= 0x7f6d4ac8a000`).
    Addr,
}

/// One syscall socklab makes.
#[derive(Debug)]
pub struct Syscall {
    /// As strace prints it.
    pub name: &'static str,
    pub args: &'static [Arg],
    pub ret: Ret,
    /// It can wait: a stop signal that arrived before it stops the
    /// program instead (sys checks before each such call).
    pub blocks: bool,
    /// It waits for the peer (accept4, recvfrom, poll...): in a shared
    /// transcript (`socklab demo`) the sink is not held across it.
    pub waits_for_peer: bool,
    /// Its address names one of the program's own ports (bind,
    /// getsockname, connect, sendto): the wire shows that port's packets.
    pub own_port: bool,
    /// Made through `sys` and traced (false: a C library call or a
    /// syscall strace shows but socklab does not trace).
    pub traced: bool,
    /// The errnos worth injecting (man 2 NAME, ERRORS), most common first,
    /// by kind of socket (the first list whose `When` holds); EINTR last
    /// for calls a signal can interrupt. Not the page's whole list: that
    /// is [`man_errors`], which the shell's `help CALL` prints.
    pub errnos: &'static [(When, &'static [Errno])],
    /// Hints for this call's errnos, before the [`GENERIC_HINTS`].
    pub hints: &'static [Hint],
    /// socklab's own programs make it (false: only a script's line does,
    /// e.g. read and write, which strace also shows for the runtime's
    /// own reads and writes: the tests' strace sets leave them out).
    pub programs: bool,
    /// The syscall's number (`libc::SYS_*`), -1 for a C library call
    /// with no syscall of its own: a script's runner compares it with
    /// /proc/self/task/TID/syscall to see a thread asleep in this call.
    pub nr: i64,
    /// What strace prints for the call when a signal handler interrupted
    /// it, as the kernel returns it (measured with strace 6.1 on Linux
    /// 6.x: `accept4` blocked, SIGALRM caught without SA_RESTART):
    /// [`ERESTARTSYS`] (sockets, read, wait4), [`ERESTART_RESTARTBLOCK`]
    /// (poll); "" for a plain `-1 EINTR` (epoll_wait, rt_sigtimedwait).
    pub restart: &'static str,
    /// Where its wrapper's rendering is checked when not by
    /// `src/sys/rendered.rs`'s test, which makes every other traced row's
    /// wrapper render ("": there); e.g. a call that would fork or kill the
    /// test process.
    pub rendered_elsewhere: &'static str,
    /// `socklab script` and the shell can make it (`help` lists these).
    pub scriptable: bool,
    /// Its result is a new task (clone: a process; clone3: a thread): in
    /// a script the line starts an actor.
    pub new_task: bool,
    /// Why a script cannot make it, where that is not "socklab makes it
    /// for its own files or processes" ("": that): the refusal's reason.
    pub unscripted: &'static str,
    /// What strace prints of its arguments at its entry (`<unfinished ...>`).
    pub entry: Entry,
    /// Its EPIPE on a stream socket (TCP, UNIX stream) comes with SIGPIPE
    /// unless MSG_NOSIGNAL is given: the sends and write (sys/sigpipe.rs).
    pub sigpipe: bool,
}

/// `= ? ERESTARTSYS ...`: a socket call (accept4, recvfrom, sendto,
/// connect, read), wait4, interrupted by a handler. A socket with a
/// timeout (SO_RCVTIMEO, SO_SNDTIMEO) returns `-1 EINTR` instead
/// (the kernel's sock_intr_errno): not told apart here.
pub const ERESTARTSYS: &str = "ERESTARTSYS (To be restarted if SA_RESTART is set)";
/// `= ? ERESTART_RESTARTBLOCK ...`: poll (with or without a timeout).
pub const ERESTART_RESTARTBLOCK: &str = "ERESTART_RESTARTBLOCK (Interrupted by signal)";

impl Syscall {
    /// The defaults of a row: nothing blocks, traced, no errnos, no hints.
    pub const ROW: Syscall = Syscall {
        name: "",
        args: &[],
        ret: Ret::Int,
        blocks: false,
        waits_for_peer: false,
        own_port: false,
        traced: true,
        errnos: &[],
        hints: &[],
        programs: true,
        nr: -1,
        rendered_elsewhere: "",
        scriptable: false,
        new_task: false,
        unscripted: "",
        restart: "",
        entry: Entry::Inputs,
        sigpipe: false,
    };

    /// The errnos worth injecting into this call on this kind of socket.
    pub fn errnos_for(&self, unix: bool, dgram: bool) -> &'static [Errno] {
        let c = Context {
            unix,
            dgram: Some(dgram),
            ..Context::default()
        };
        self.errnos
            .iter()
            .find(|(when, _)| when.holds(&c))
            .map_or(&[], |(_, list)| list)
    }

    /// The hint for `errno` from this call on the socket `c` tells of:
    /// the first of its rows, then of the [`GENERIC_HINTS`], that holds.
    pub fn hint(&self, errno: Errno, c: &Context) -> Option<String> {
        first_hint(self.hints.iter().chain(GENERIC_HINTS), errno, c)
    }
}

/// The calls a script can make, in the table's order.
pub fn scriptable() -> impl Iterator<Item = &'static Syscall> {
    ALL.iter().copied().filter(|c| c.scriptable)
}

/// The row named `name` (as strace prints it), if socklab makes that call.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    ALL.iter().copied().find(|c| c.name == name)
}

/// The hint for `errno` from the call named `name`: its row's hints, then
/// the ones for every call; for a name not in the table, only those.
pub fn hint(name: &str, errno: Errno, c: &Context) -> Option<String> {
    match by_name(name) {
        Some(row) => row.hint(errno, c),
        None => first_hint(GENERIC_HINTS.iter(), errno, c),
    }
}

fn first_hint<'a>(
    mut hints: impl Iterator<Item = &'a Hint>,
    errno: Errno,
    c: &Context,
) -> Option<String> {
    hints
        .find(|h| h.errnos.contains(&errno) && h.when.holds(c))
        .map(|h| h.text(c))
}

#[cfg(test)]
mod tests;
