//! The calls a Python program makes that the script did not ask for:
//! the allow-list of the Python twin's trace (`--emit python --explain`,
//! the README), each with why the `socket` module makes it. The test
//! (tests/suite/script/emit.rs) takes each back, and nothing else.

/// One allowed difference: Python's call, the script's, and why.
pub struct Extra {
    pub python: &'static str,
    pub script: &'static str,
    pub why: &'static str,
}

pub const EXTRAS: &[Extra] = &[
    Extra {
        python: "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP), socketpair(..., SOCK_STREAM|SOCK_CLOEXEC, ...)",
        script: "socket(AF_INET, SOCK_STREAM, IPPROTO_IP)",
        why: "every fd Python makes is non-inheritable (PEP 446): closed by exec, asked for atomically",
    },
    Extra {
        python: "accept4(3, {...}, [16], SOCK_CLOEXEC)",
        script: "accept(3, {...}, [128 => 16]) or accept4(3, ..., ..., 0)",
        why: "sock.accept() is accept4 with SOCK_CLOEXEC (PEP 446), and always asks for the peer's address",
    },
    Extra {
        python: "getsockname(3, {...}, [16]), getpeername, accept4, recvfrom: [16] or [28]",
        script: "getsockname(3, {...}, [128 => 16])",
        why: "Python passes the length of its family's own sockaddr (16 for AF_INET, 28 for AF_INET6), not a 128-byte sockaddr_storage",
    },
    Extra {
        python: "getsockname(5, ...) right after accept4 or socketpair",
        script: "(none)",
        why: "socket objects made from a new fd (accept's, each of socketpair's) check it with getsockname",
    },
    Extra {
        python: "getsockname(7, ...), getsockopt(7, SOL_SOCKET, SO_TYPE, ...), getsockopt(7, SOL_SOCKET, SO_PROTOCOL, ...) after recvmsg",
        script: "(none)",
        why: "socket.socket(fileno=fd) on an fd received with SCM_RIGHTS asks the kernel its family, type and protocol",
    },
    Extra {
        python: "recvmsg(4, {msg_name=0x..., msg_namelen=110 => 0, ...}, 0)",
        script: "recvmsg(4, {msg_name=NULL, msg_namelen=0, ...}, 0)",
        why: "sock.recvmsg() always passes a buffer for the sender's address",
    },
    Extra {
        python: "rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK, sa_restorer=0x...}, {sa_handler=SIG_IGN, ...}, 8)",
        script: "rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8)",
        why: "signal.signal() is sigaction() with SA_ONSTACK (glibc adds SA_RESTORER), and it returns the old action, so it asks for it",
    },
    Extra {
        python: "epoll_create1(EPOLL_CLOEXEC)",
        script: "epoll_create1(0)",
        why: "select.epoll() always asks for EPOLL_CLOEXEC (PEP 446); its flags argument takes nothing else",
    },
    Extra {
        python: "epoll_create1(EPOLL_CLOEXEC) = 3, close(3) on the main thread, before any line",
        script: "(none)",
        why: "import socket imports selectors, which makes an epoll object to see that epoll works (and closes it)",
    },
    Extra {
        python: "epoll_ctl(5, EPOLL_CTL_DEL, 4, 0x7ffc...)",
        script: "epoll_ctl(5, EPOLL_CTL_DEL, 4, NULL)",
        why: "epoll.unregister() passes an event pointer (kernels before 2.6.9 wanted one), which the kernel ignores",
    },
    Extra {
        python: "epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=140733193388036}})",
        script: "epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}})",
        why: "epoll.register() sets data.fd alone: the upper half of data.u64 is whatever its stack held (epoll_wait gives it back as is)",
    },
    Extra {
        python: "fcntl(4, F_DUPFD_CLOEXEC, 0) = 5",
        script: "dup(4) = 5",
        why: "os.dup() makes a non-inheritable fd (PEP 446): the lowest free fd, as dup, with FD_CLOEXEC set atomically",
    },
    Extra {
        python: "recvmsg(4, {msg_name={sa_family=AF_INET, ...}, msg_namelen=16, msg_iov=[{...}, {...}], ...}, 0)",
        script: "recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{...}, {...}], ...}, 0)",
        why: "sock.recvmsg_into([b0, b1]) (several iovecs), as sock.recvmsg(), always passes a buffer for the sender's address",
    },
    Extra {
        python: "openat(AT_FDCWD, \"/run/netns/socklab-b\", O_RDONLY|O_CLOEXEC), setns(3, CLONE_NEWNET), close(3): the same calls",
        script: "client@b | ... (the actor's thread enters host b first)",
        why: "Python 3.11 has no os.setns: the emitted program calls libc's setns through ctypes (ctypes.CDLL(None).setns), after os.open; importing ctypes opens its own library files (no socket call)",
    },
    Extra {
        python: "bind(3, {sa_family=AF_UNIX, sun_path=\"d/s.sock\"}, 11), connect, sendto: the same",
        script: "bind(3, {sa_family=AF_UNIX, sun_path=\"d/s.sock\"}, 10)",
        why: "for a path Python counts sun_path's terminating NUL in the address length (socklab and the C twins pass the path's bytes only; an abstract name has no NUL in either)",
    },
    Extra {
        python: "accept4(3, {sa_family=AF_UNIX}, [110 => 2], SOCK_CLOEXEC), getsockname(..., [110 => N]), recvmsg(..., msg_namelen=110 => N, ...)",
        script: "accept(3, {sa_family=AF_UNIX}, [128 => 2])",
        why: "on an AF_UNIX socket Python's address buffer is a struct sockaddr_un (110 bytes), not a 128-byte sockaddr_storage",
    },
    Extra {
        python: "mkdir(\"d\", 0700), chmod(\"d/s.sock\", 0600), unlink(\"d/s.sock\"), rmdir(\"d\")",
        script: "mkdirat(AT_FDCWD, \"d\", 0700), fchmodat(AT_FDCWD, ...), unlinkat(AT_FDCWD, \"d/s.sock\", 0), unlinkat(AT_FDCWD, \"d\", AT_REMOVEDIR)",
        why: "os.mkdir, os.chmod, os.unlink and os.rmdir make the *at call only when given a dir_fd; on AT_FDCWD (its default) they make the old call, which does the same",
    },
    Extra {
        python: "openat(AT_FDCWD, \"d\", O_RDONLY|O_CLOEXEC|O_DIRECTORY)",
        script: "openat(AT_FDCWD, \"d\", O_RDONLY|O_DIRECTORY)",
        why: "os.open makes every fd non-inheritable (PEP 446): it adds O_CLOEXEC",
    },
    Extra {
        python: "setgroups(0, [])",
        script: "setgroups(0, NULL)",
        why: "os.setgroups([]) passes its (empty) array, not NULL: the kernel reads no entry either way",
    },
    Extra {
        python: "geteuid() = 0 on the main thread, before any line",
        script: "(none)",
        why: "the interpreter's site module asks geteuid() (and getuid()) whether to add the user's site directory; the main thread runs no line (each actor is a thread)",
    },
];

/// The list as text.
pub fn text() -> String {
    let mut out = vec![
        "The calls a program from `--emit python` makes that the script did not ask for:"
            .to_string(),
    ];
    for e in EXTRAS {
        out.push(format!(
            "- Python: {}\n  script: {}\n  why: {}",
            e.python, e.script, e.why
        ));
    }
    out.push(format!(
        "Not emitted in Python (refused, exit 2): {}.",
        super::python::HANDLER
    ));
    for (call, why) in super::procs::PYTHON_REFUSED {
        out.push(format!(
            "Not emitted in Python (refused, exit 2): {call}: {why}."
        ));
    }
    out.join("\n")
}
