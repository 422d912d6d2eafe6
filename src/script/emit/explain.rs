//! The calls a Python program makes that the script did not ask for:
//! the allow-list of the Python twin's trace, each with why the `socket`
//! module makes it and the code that makes it (`when`), so that
//! `--emit python --explain` of a FILE names first the calls its own twin
//! adds. The test (tests/suite/script/emit_allowed.rs) takes each back,
//! and nothing else.

/// One allowed difference: Python's call, the script's, why, and when
/// a twin makes it: a group of code fragments all in the program (any
/// group; an empty group: every program).
pub struct Extra {
    pub python: &'static str,
    pub script: &'static str,
    pub why: &'static str,
    pub when: &'static [&'static [&'static str]],
}

pub const EXTRAS: &[Extra] = &[
    Extra {
        python: "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP), socketpair(..., SOCK_STREAM|SOCK_CLOEXEC, ...)",
        script: "socket(AF_INET, SOCK_STREAM, IPPROTO_IP)",
        why: "every fd Python makes is non-inheritable (PEP 446): closed by exec, asked for atomically",
        when: &[&["socket.socket(socket.AF_"], &["socket.socketpair("]],
    },
    Extra {
        python: "accept4(3, {...}, [16], SOCK_CLOEXEC)",
        script: "accept(3, {...}, [128 => 16]) or accept4(3, ..., ..., 0)",
        why: "sock.accept() is accept4 with SOCK_CLOEXEC (PEP 446), and always asks for the peer's address",
        when: &[&[".accept()"]],
    },
    Extra {
        python: "getsockname(3, {...}, [16]), getpeername, accept4, recvfrom: [16] or [28]",
        script: "getsockname(3, {...}, [128 => 16])",
        why: "Python passes the length of its family's own sockaddr (16 for AF_INET, 28 for AF_INET6), not a 128-byte sockaddr_storage",
        when: &[
            &["socket.AF_INET", ".getsockname()"],
            &["socket.AF_INET", ".getpeername()"],
            &["socket.AF_INET", ".accept()"],
            &["socket.AF_INET", ".recvfrom("],
        ],
    },
    Extra {
        python: "getsockname(5, ...) right after accept4 or socketpair",
        script: "(none)",
        why: "socket objects made from a new fd (accept's, each of socketpair's) check it with getsockname",
        when: &[&[".accept()"], &["socket.socketpair("]],
    },
    Extra {
        python: "getsockname(7, ...), getsockopt(7, SOL_SOCKET, SO_TYPE, ...), getsockopt(7, SOL_SOCKET, SO_PROTOCOL, ...) after recvmsg",
        script: "(none)",
        why: "socket.socket(fileno=fd) on an fd received with SCM_RIGHTS asks the kernel its family, type and protocol",
        when: &[&["socket.socket(fileno="]],
    },
    Extra {
        python: "recvmsg(4, {msg_name=0x..., msg_namelen=110 => 0, ...}, 0)",
        script: "recvmsg(4, {msg_name=NULL, msg_namelen=0, ...}, 0)",
        why: "sock.recvmsg() always passes a buffer for the sender's address",
        when: &[&[".recvmsg("]],
    },
    Extra {
        python: "rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK, sa_restorer=0x...}, {sa_handler=SIG_IGN, ...}, 8)",
        script: "rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8)",
        why: "signal.signal() is sigaction() with SA_ONSTACK (glibc adds SA_RESTORER), and it returns the old action, so it asks for it",
        when: &[&["signal.signal("]],
    },
    Extra {
        python: "epoll_create1(EPOLL_CLOEXEC)",
        script: "epoll_create1(0)",
        why: "select.epoll() always asks for EPOLL_CLOEXEC (PEP 446); its flags argument takes nothing else",
        when: &[&["select.epoll("]],
    },
    Extra {
        python: "epoll_create1(EPOLL_CLOEXEC) = 3, close(3) on the main thread, before any line",
        script: "(none)",
        why: "import socket imports selectors, which makes an epoll object to see that epoll works (and closes it)",
        when: &[&["import socket"]],
    },
    Extra {
        python: "epoll_ctl(5, EPOLL_CTL_DEL, 4, 0x7ffc...)",
        script: "epoll_ctl(5, EPOLL_CTL_DEL, 4, NULL)",
        why: "epoll.unregister() passes an event pointer (kernels before 2.6.9 wanted one), which the kernel ignores",
        when: &[&["select.epoll(", ".unregister("]],
    },
    Extra {
        python: "epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=140733193388036}})",
        script: "epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}})",
        why: "epoll.register() sets data.fd alone: the upper half of data.u64 is whatever its stack held (epoll_wait gives it back as is)",
        when: &[&["select.epoll(", ".register("]],
    },
    Extra {
        python: "fcntl(4, F_DUPFD_CLOEXEC, 0) = 5",
        script: "dup(4) = 5",
        why: "os.dup() makes a non-inheritable fd (PEP 446): the lowest free fd, as dup, with FD_CLOEXEC set atomically",
        when: &[&["os.dup("]],
    },
    Extra {
        python: "recvmsg(4, {msg_name={sa_family=AF_INET, ...}, msg_namelen=16, msg_iov=[{...}, {...}], ...}, 0)",
        script: "recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{...}, {...}], ...}, 0)",
        why: "sock.recvmsg_into([b0, b1]) (several iovecs), as sock.recvmsg(), always passes a buffer for the sender's address",
        when: &[&[".recvmsg_into("]],
    },
    Extra {
        python: "openat(AT_FDCWD, \"/run/netns/socklab-b\", O_RDONLY|O_CLOEXEC), setns(3, CLONE_NEWNET), close(3): the same calls",
        script: "client@b | ... (the actor's thread enters host b first)",
        why: "Python 3.11 has no os.setns: the emitted program calls libc's setns through ctypes (ctypes.CDLL(None).setns), after os.open; importing ctypes opens its own library files (no socket call)",
        when: &[&["enter_host"]],
    },
    Extra {
        python: "bind(3, {sa_family=AF_UNIX, sun_path=\"d/s.sock\"}, 11), connect, sendto: the same",
        script: "bind(3, {sa_family=AF_UNIX, sun_path=\"d/s.sock\"}, 10)",
        why: "for a path Python counts sun_path's terminating NUL in the address length (socklab and the C twins pass the path's bytes only; an abstract name has no NUL in either)",
        when: &[&["sun(0, "]],
    },
    Extra {
        python: "accept4(3, {sa_family=AF_UNIX}, [110 => 2], SOCK_CLOEXEC), getsockname(..., [110 => N]), recvmsg(..., msg_namelen=110 => N, ...)",
        script: "accept(3, {sa_family=AF_UNIX}, [128 => 2])",
        why: "on an AF_UNIX socket Python's address buffer is a struct sockaddr_un (110 bytes), not a 128-byte sockaddr_storage",
        when: &[
            &["socket.AF_UNIX", ".accept()"],
            &["socket.AF_UNIX", ".getsockname()"],
            &["socket.AF_UNIX", ".recvmsg("],
            &["socket.AF_UNIX", ".recvfrom("],
        ],
    },
    Extra {
        python: "mkdir(\"d\", 0700), chmod(\"d/s.sock\", 0600), unlink(\"d/s.sock\"), rmdir(\"d\")",
        script: "mkdirat(AT_FDCWD, \"d\", 0700), fchmodat(AT_FDCWD, ...), unlinkat(AT_FDCWD, \"d/s.sock\", 0), unlinkat(AT_FDCWD, \"d\", AT_REMOVEDIR)",
        why: "os.mkdir, os.chmod, os.unlink and os.rmdir make the *at call only when given a dir_fd; on AT_FDCWD (its default) they make the old call, which does the same",
        when: &[
            &["os.mkdir("],
            &["os.chmod("],
            &["os.unlink("],
            &["os.rmdir("],
            &["remove_socket_files()"],
            &["remove_dirs()"],
        ],
    },
    Extra {
        python: "openat(AT_FDCWD, \"d\", O_RDONLY|O_CLOEXEC|O_DIRECTORY)",
        script: "openat(AT_FDCWD, \"d\", O_RDONLY|O_DIRECTORY)",
        why: "os.open makes every fd non-inheritable (PEP 446): it adds O_CLOEXEC",
        when: &[&["File(os.open("]],
    },
    Extra {
        python: "setgroups(0, [])",
        script: "setgroups(0, NULL)",
        why: "os.setgroups([]) passes its (empty) array, not NULL: the kernel reads no entry either way",
        when: &[&["os.setgroups("]],
    },
    Extra {
        python: "geteuid() = 0 on the main thread, before any line",
        script: "(none)",
        why: "the interpreter's site module asks geteuid() (and getuid()) whether to add the user's site directory; the main thread runs no line (each actor is a thread)",
        when: &[&[]],
    },
];

impl Extra {
    /// Does the Python program `code` (its code, comments aside) make it?
    pub fn made_by(&self, code: &str) -> bool {
        self.when
            .iter()
            .any(|group| group.iter().all(|f| code.contains(f)))
    }

    fn text(&self) -> String {
        format!(
            "- Python: {}\n  script: {}\n  why: {}",
            self.python, self.script, self.why
        )
    }
}

/// A Python program's code: each line up to its comment (`# Python:`
/// notes and the script lines quoted in comments aside).
fn code(program: &str) -> String {
    program
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split_once("  # ").map_or(l, |(c, _)| c))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--emit python --explain` of `file`: the rows of the calls its twin
/// (`program`) adds, then the others; or, with no program, the lines of
/// it Python refuses (`refused`: `FILE:LINE: cannot emit: ...`) and the
/// rows; then what Python refuses in other scripts.
pub fn text(file: &str, program: Option<&str>, refused: &[String]) -> String {
    let code = program.map(code).unwrap_or_default();
    let (mine, others): (Vec<&Extra>, Vec<&Extra>) = EXTRAS
        .iter()
        .partition(|e| program.is_some() && e.made_by(&code));
    let mut out = Vec::new();
    if program.is_some() {
        out.push(format!(
            "The calls the Python twin of {file} makes that the script does not ask for:"
        ));
        if mine.is_empty() {
            out.push("(none)".to_string());
        }
        out.extend(mine.iter().map(|e| e.text()));
    } else {
        out.push(format!(
            "The lines of {file} not emitted in Python (refused: `--emit python` writes nothing, exit 2):"
        ));
        out.extend(refused.iter().cloned());
    }
    out.push("The calls the `socket` module adds in other programs:".to_string());
    out.extend(others.iter().map(|e| e.text()));
    // The refusals of other scripts: those not already said of a line.
    let said = |why: &str| refused.iter().any(|l| l.contains(why));
    if !said(super::python::HANDLER) {
        out.push(format!(
            "Not emitted in Python (refused, exit 2): {}.",
            super::python::HANDLER
        ));
    }
    for (call, why) in super::procs::PYTHON_REFUSED {
        if !said(&format!("{call} is not emitted in Python: {why}")) {
            out.push(format!(
                "Not emitted in Python (refused, exit 2): {call}: {why}."
            ));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row is in the twin's own list when its code is in the program
    /// (comments aside), else in the others.
    #[test]
    fn explain_names_first_the_rows_the_program_makes() {
        let program = "e = opened(select.epoll())  # Python: s.accept()\n# a, addr = s.accept()\n";
        let text = text("f.script", Some(program), &[]);
        let (mine, others) = text.split_once("in other programs:").unwrap();
        assert!(
            mine.contains("- Python: epoll_create1(EPOLL_CLOEXEC)\n"),
            "{text}"
        );
        assert!(mine.contains("geteuid() = 0"), "{text}");
        assert!(
            !mine.contains("accept4(3, {...}, [16], SOCK_CLOEXEC)"),
            "{text}"
        );
        assert!(
            others.contains("accept4(3, {...}, [16], SOCK_CLOEXEC)"),
            "{text}"
        );
        assert!(
            !others.contains("- Python: epoll_create1(EPOLL_CLOEXEC)\n"),
            "{text}"
        );
        assert!(EXTRAS.iter().all(|e| !e.when.is_empty()));
    }
}
