//! What `man 2 CALL` lists in its ERRORS section, for every call a
//! script can make: the shell's `help CALL` prints it. The rows'
//! `errnos` are another list (the errnos worth injecting with strace's
//! fault injection), not the usual ones: `accept` on a socket that never
//! listened fails with EINVAL, which no one injects.
//!
//! Read from the man-pages 6.x sources in /usr/share/man/man2 (the
//! `.TP` tags of ERRORS, in the page's order), not from memory; each
//! errno once, named as strace prints it: EWOULDBLOCK is EAGAIN and
//! ENOTSUP is EOPNOTSUPP on Linux. An entry the page gives only to
//! another function of the page (`EINVAL (dup3())`, `(clone3() only)`,
//! "additional errors can occur for unlinkat()") is left out of the
//! others'. unlinkat's page adds "the same errors as rmdir(2)", not
//! listed here.

/// One call's errors, as its man page lists them.
#[derive(Debug)]
pub struct ManErrors {
    /// The call, as strace prints it (its row's name).
    pub call: &'static str,
    /// The page (section 2) that documents it: `accept` for accept4,
    /// `send` for sendto, `dup` for dup2.
    pub page: &'static str,
    /// The page says "Errors are as for OTHER(2)" ("": it lists its own).
    pub as_for: &'static str,
    /// The errno names, `, ` between them ("": the page lists none).
    pub errnos: &'static str,
    /// When the page lists none: its words, quoted (`"These functions
    /// are always successful."`), or why not.
    pub none: &'static str,
}

impl ManErrors {
    /// The errno names, in the page's order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.errnos.split(", ").filter(|n| !n.is_empty())
    }

    /// `help CALL`'s line: `errors (man 2 accept): EAGAIN, EBADF, ...`.
    pub fn line(&self) -> String {
        let from = match self.as_for {
            "" => format!("man 2 {}", self.page),
            other => format!("man 2 {}: as for {other}(2)", self.page),
        };
        match self.errnos {
            "" => format!("errors ({from}): none, {}", self.none),
            list => format!("errors ({from}): {list}"),
        }
    }
}

const fn m(call: &'static str, page: &'static str, errnos: &'static str) -> ManErrors {
    ManErrors {
        call,
        page,
        as_for: "",
        errnos,
        none: "",
    }
}

const fn as_for(
    call: &'static str,
    page: &'static str,
    as_for: &'static str,
    errnos: &'static str,
) -> ManErrors {
    ManErrors {
        call,
        page,
        as_for,
        errnos,
        none: "",
    }
}

const fn none(call: &'static str, page: &'static str, words: &'static str) -> ManErrors {
    ManErrors {
        call,
        page,
        as_for: "",
        errnos: "",
        none: words,
    }
}

/// Every scriptable call's errors (recvmmsg's page adds EINVAL for its
/// timeout to recvmsg's list, which has it; wait4's "as for waitpid(2)"
/// is wait(2)'s list without EAGAIN, which is waitid's pidfd's).
pub static MAN_ERRORS: &[ManErrors] = &[
    m(
        "socket",
        "socket",
        "EACCES, EAFNOSUPPORT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPROTONOSUPPORT",
    ),
    m(
        "socketpair",
        "socketpair",
        "EAFNOSUPPORT, EFAULT, EMFILE, ENFILE, EOPNOTSUPP, EPROTONOSUPPORT",
    ),
    m(
        "setsockopt",
        "getsockopt",
        "EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK",
    ),
    m(
        "getsockopt",
        "getsockopt",
        "EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK",
    ),
    m(
        "bind",
        "bind",
        "EACCES, EADDRINUSE, EBADF, EINVAL, ENOTSOCK, EADDRNOTAVAIL, EFAULT, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EROFS",
    ),
    m(
        "listen",
        "listen",
        "EADDRINUSE, EBADF, ENOTSOCK, EOPNOTSUPP",
    ),
    m("shutdown", "shutdown", "EBADF, EINVAL, ENOTCONN, ENOTSOCK"),
    m(
        "accept4",
        "accept",
        "EAGAIN, EBADF, ECONNABORTED, EFAULT, EINTR, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOTSOCK, EOPNOTSUPP, EPERM, EPROTO",
    ),
    m(
        "accept",
        "accept",
        "EAGAIN, EBADF, ECONNABORTED, EFAULT, EINTR, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOTSOCK, EOPNOTSUPP, EPERM, EPROTO",
    ),
    m(
        "connect",
        "connect",
        "EACCES, EPERM, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY, EBADF, ECONNREFUSED, EFAULT, EINPROGRESS, EINTR, EISCONN, ENETUNREACH, ENOTSOCK, EPROTOTYPE, ETIMEDOUT",
    ),
    m(
        "sendto",
        "send",
        "EACCES, EAGAIN, EALREADY, EBADF, ECONNRESET, EDESTADDRREQ, EFAULT, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOMEM, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPIPE",
    ),
    m(
        "recvfrom",
        "recv",
        "EAGAIN, EBADF, ECONNREFUSED, EFAULT, EINTR, EINVAL, ENOMEM, ENOTCONN, ENOTSOCK",
    ),
    m(
        "sendmsg",
        "send",
        "EACCES, EAGAIN, EALREADY, EBADF, ECONNRESET, EDESTADDRREQ, EFAULT, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOMEM, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPIPE",
    ),
    m(
        "read",
        "read",
        "EAGAIN, EBADF, EFAULT, EINTR, EINVAL, EIO, EISDIR",
    ),
    m(
        "write",
        "write",
        "EAGAIN, EBADF, EDESTADDRREQ, EDQUOT, EFAULT, EFBIG, EINTR, EINVAL, EIO, ENOSPC, EPERM, EPIPE",
    ),
    m("dup", "dup", "EBADF, EBUSY, EINTR, EMFILE"),
    m("dup2", "dup", "EBADF, EBUSY, EINTR, EMFILE"),
    m(
        "getsockname",
        "getsockname",
        "EBADF, EFAULT, EINVAL, ENOBUFS, ENOTSOCK",
    ),
    m(
        "getpeername",
        "getpeername",
        "EBADF, EFAULT, EINVAL, ENOBUFS, ENOTCONN, ENOTSOCK",
    ),
    m("close", "close", "EBADF, EINTR, EIO, ENOSPC, EDQUOT"),
    m("poll", "poll", "EFAULT, EINTR, EINVAL, ENOMEM"),
    m("ioctl", "ioctl", "EBADF, EFAULT, EINVAL, ENOTTY"),
    m(
        "unlink",
        "unlink",
        "EACCES, EBUSY, EFAULT, EIO, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM, EROFS",
    ),
    m(
        "newfstatat",
        "stat",
        "EACCES, EBADF, EFAULT, EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EOVERFLOW",
    ),
    none("umask", "umask", "\"This system call always succeeds\""),
    m(
        "getrandom",
        "getrandom",
        "EAGAIN, EFAULT, EINTR, EINVAL, ENOSYS",
    ),
    m(
        "mkdirat",
        "mkdir",
        "EACCES, EBADF, EDQUOT, EEXIST, EFAULT, EINVAL, ELOOP, EMLINK, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC, ENOTDIR, EPERM, EROFS",
    ),
    m(
        "openat",
        "open",
        "EACCES, EBADF, EBUSY, EDQUOT, EEXIST, EFAULT, EFBIG, EINTR, EINVAL, EISDIR, ELOOP, EMFILE, ENAMETOOLONG, ENFILE, ENODEV, ENOENT, ENOMEM, ENOSPC, ENOTDIR, ENXIO, EOPNOTSUPP, EOVERFLOW, EPERM, EROFS, ETXTBSY, EAGAIN",
    ),
    m(
        "unlinkat",
        "unlink",
        "EACCES, EBUSY, EFAULT, EIO, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM, EROFS, EBADF, EINVAL",
    ),
    m(
        "fchmodat",
        "chmod",
        "EACCES, EBADF, EFAULT, EINVAL, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EOPNOTSUPP, EPERM, EROFS",
    ),
    m(
        "fchmod",
        "chmod",
        "EACCES, EBADF, EFAULT, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM, EROFS",
    ),
    m(
        "epoll_create1",
        "epoll_create",
        "EINVAL, EMFILE, ENFILE, ENOMEM",
    ),
    m(
        "epoll_ctl",
        "epoll_ctl",
        "EBADF, EEXIST, EINVAL, ELOOP, ENOENT, ENOMEM, ENOSPC, EPERM",
    ),
    m("epoll_wait", "epoll_wait", "EBADF, EFAULT, EINTR, EINVAL"),
    m(
        "recvmsg",
        "recv",
        "EAGAIN, EBADF, ECONNREFUSED, EFAULT, EINTR, EINVAL, ENOMEM, ENOTCONN, ENOTSOCK",
    ),
    as_for(
        "recvmmsg",
        "recvmmsg",
        "recvmsg",
        "EAGAIN, EBADF, ECONNREFUSED, EFAULT, EINTR, EINVAL, ENOMEM, ENOTCONN, ENOTSOCK",
    ),
    as_for(
        "sendmmsg",
        "sendmmsg",
        "sendmsg",
        "EACCES, EAGAIN, EALREADY, EBADF, ECONNRESET, EDESTADDRREQ, EFAULT, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOMEM, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPIPE",
    ),
    m(
        "clone",
        "clone",
        "EAGAIN, EINVAL, ENOMEM, ENOSPC, EPERM, ERESTARTNOINTR, EUSERS",
    ),
    m(
        "clone3",
        "clone",
        "EACCES, EAGAIN, EBUSY, EEXIST, EINVAL, ENOMEM, ENOSPC, EOPNOTSUPP, EPERM, ERESTARTNOINTR, EUSERS",
    ),
    as_for("wait4", "wait4", "waitpid", "ECHILD, EINTR, EINVAL, ESRCH"),
    m("kill", "kill", "EINVAL, EPERM, ESRCH"),
    m("tgkill", "tkill", "EAGAIN, EINVAL, EPERM, ESRCH"),
    m("setgroups", "getgroups", "EFAULT, EINVAL, ENOMEM, EPERM"),
    m("setgid", "setgid", "EINVAL, EPERM"),
    m("setuid", "setuid", "EAGAIN, EINVAL, EPERM"),
    m(
        "prctl",
        "prctl",
        "EACCES, EBADF, EBUSY, EFAULT, EINVAL, ENODEV, ENXIO, EOPNOTSUPP, EPERM, ERANGE",
    ),
    none(
        "getpid",
        "getpid",
        "\"These functions are always successful.\"",
    ),
    none(
        "getppid",
        "getpid",
        "These functions are always successful.",
    ),
    m("rt_sigprocmask", "sigprocmask", "EFAULT, EINVAL"),
    m("rt_sigtimedwait", "sigwaitinfo", "EAGAIN, EINTR, EINVAL"),
    m("prlimit64", "getrlimit", "EFAULT, EINVAL, EPERM, ESRCH"),
    m(
        "sched_setaffinity",
        "sched_setaffinity",
        "EFAULT, EINVAL, EPERM, ESRCH",
    ),
    none(
        "exit_group",
        "exit_group",
        "This system call does not return.",
    ),
    none(
        "geteuid",
        "getuid",
        "\"These functions are always successful\"",
    ),
    m("rt_sigaction", "sigaction", "EFAULT, EINVAL"),
    none("alarm", "alarm", "the page has no ERRORS section"),
    none("gettid", "gettid", "\"This call is always successful.\""),
    m(
        "fcntl",
        "fcntl",
        "EACCES, EAGAIN, EBADF, EBUSY, EDEADLK, EFAULT, EINTR, EINVAL, EMFILE, ENOLCK, ENOTDIR, EPERM",
    ),
];

/// The errors of the call named `call` (as strace prints it).
pub fn man_errors(call: &str) -> Option<&'static ManErrors> {
    MAN_ERRORS.iter().find(|e| e.call == call)
}
