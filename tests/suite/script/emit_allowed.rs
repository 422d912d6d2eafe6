//! The Python twin's allow-list (`--emit python --explain`, emit/explain.rs)
//! taken back on its raw `strace -f` trace, and the rules both twins'
//! traces are read with (socket calls only, -y's paths, SOCK_CLOEXEC,
//! accept4, address lengths), so that the script's calls and the
//! twin's compare line for line.

/// Socket calls, and the program's file calls on relative paths (the
/// interpreter's imports open and stat files by absolute paths; the
/// scripts made in tests name theirs relative to their TempDir).
fn sockets_only(call: &str) -> bool {
    call.starts_with("socket(")
        || call.starts_with("socketpair(")
        || crate::harness::cmp::is_on_socket(call)
        || (python_file_call(call).is_some() || crate::harness::cmp::is_program_call(call))
            && call
                .split_once('"')
                .is_some_and(|(_, path)| !path.starts_with('/'))
}

/// Python's call for a script's *at call on AT_FDCWD, as the script's
/// (`mkdir("d", 0700)` is `mkdirat(AT_FDCWD, "d", 0700)`).
fn python_file_call(c: &str) -> Option<String> {
    let (args, ret) = c.split_once('(')?.1.rsplit_once(" = ")?;
    let args = args.trim_end().strip_suffix(')')?;
    Some(match c.split_once('(')?.0 {
        "mkdir" => format!("mkdirat(AT_FDCWD, {args}) = {ret}"),
        "chmod" => format!("fchmodat(AT_FDCWD, {args}) = {ret}"),
        "rmdir" => format!("unlinkat(AT_FDCWD, {args}, AT_REMOVEDIR) = {ret}"),
        _ => return None,
    })
}

/// The AF_UNIX and file-call rules of the allow-list, on both sides: -y's
/// `AT_FDCWD<CWD>`, unlinkat(AT_FDCWD, P, 0) as unlink(P), openat's
/// O_CLOEXEC, msg_namelen's buffer size; Python's side: its calls for
/// the *at calls, its sockaddr_un-sized buffers (`[110 => N]`), and a
/// path's length with its terminating NUL.
fn unix_rules(c: &str, python: bool) -> String {
    let mut c = c.to_string();
    while let Some(i) = c.find("AT_FDCWD<")
        && let Some(j) = c[i..].find('>')
    {
        c.replace_range(i + "AT_FDCWD".len()..i + j + 1, "");
    }
    if python && let Some(p) = python_file_call(&c) {
        c = p;
    }
    if let Some(rest) = c.strip_prefix("unlinkat(AT_FDCWD, ")
        && let Some((path, ret)) = rest.split_once(", 0) = ")
    {
        c = format!("unlink({path}) = {ret}");
    }
    if c.starts_with("openat(") {
        c = c.replace("|O_CLOEXEC", "");
    }
    for size in ["128", "110"] {
        c = c.replace(&format!("msg_namelen={size} => "), "msg_namelen=");
    }
    if python {
        c = c.replace("[110 => ", "[");
        let named = ["bind(", "connect(", "sendto("]
            .iter()
            .any(|p| c.starts_with(p));
        if named
            && c.contains("sun_path=\"")
            && let Some((head, tail)) = c.rsplit_once("}, ")
            && let Some((n, rest)) = tail.split_once(')')
            && let Ok(n) = n.parse::<u32>()
        {
            c = format!("{head}}}, {}){rest}", n - 1);
        }
    }
    c
}

/// The allow-list (explain.rs) taken back, on the raw calls. Python's
/// side: the calls its socket objects make of themselves left out: a
/// getsockname with the whole sockaddr buffer (`[128 => N]`: a socket
/// object made from a new fd checking it, after accept4 and socketpair;
/// its own getsockname passes the family's length) and, after it,
/// SO_TYPE and SO_PROTOCOL (`socket.socket(fileno=)` on a received fd)
/// (recvmsg's address buffer: [`names_as_asked`]). Both sides: socket calls only (the
/// interpreter's imports open and stat files), SOCK_CLOEXEC on socket
/// and socketpair, accept4 as accept (its flags), an address length's
/// `128 => `, a failed accept's address length, a cut accept's address.
pub fn allowed(python: bool) -> impl FnMut(&str) -> Option<String> {
    let mut after_own = false;
    move |c: &str| {
        if !sockets_only(c) {
            return None;
        }
        if python && c.starts_with("getsockname(") && c.contains("[128 => ") {
            after_own = true;
            return None;
        }
        if python
            && after_own
            && (c.contains("SOL_SOCKET, SO_TYPE, ") || c.contains("SOL_SOCKET, SO_PROTOCOL, "))
        {
            return None;
        }
        after_own = false;
        let mut c = unix_rules(c, python);
        if c.starts_with("socket(") || c.starts_with("socketpair(") {
            c = c.replace("|SOCK_CLOEXEC", "").replace("SOCK_CLOEXEC|", "");
        }
        if let Some(rest) = c.strip_prefix("accept4(")
            && let Some((call, ret)) = rest.rsplit_once(") = ")
            && let Some((args, _flags)) = call.rsplit_once(", ")
        {
            c = format!("accept({args}) = {ret}");
        }
        while let Some(i) = c.find("[128 => ") {
            c.replace_range(i + 1..i + "[128 => ".len(), "");
        }
        if c.starts_with("accept(") && c.contains(") = -1 ") {
            for len in ["[128])", "[16])", "[28])"] {
                c = c.replace(len, "[LEN])");
            }
        }
        // An accept a signal cut short (`= ?`): Python's address buffer,
        // which the kernel never filled, against the script's NULLs (the
        // result's column padding squeezed first).
        while c.contains("  = ") {
            c = c.replace("  = ", " = ");
        }
        if c.starts_with("accept(")
            && let Some((call, ret)) = c.rsplit_once(") = ")
            && ret.starts_with('?')
            && let Some((fd, _)) = call.split_once(", ")
        {
            c = format!("{fd}, ADDR) = {ret}");
        }
        // os.dup is fcntl(F_DUPFD_CLOEXEC, 0) (PEP 446).
        if python
            && let Some(rest) = c.strip_prefix("fcntl(")
            && let Some((fd, ret)) = rest.split_once(", F_DUPFD_CLOEXEC, 0) = ")
        {
            c = format!("dup({fd}) = {ret}");
        }
        Some(c)
    }
}

/// Each row of explain.rs's allow-list (its `python` text) and where the
/// tests take it back (file in tests/suite/script/, function): a row
/// added there needs its rule here, and a rule here its row there.
const TAKEN_BACK: &[(&str, &str, &str)] = &[
    (
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP), socketpair(..., SOCK_STREAM|SOCK_CLOEXEC, ...)",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "accept4(3, {...}, [16], SOCK_CLOEXEC)",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "getsockname(3, {...}, [16]), getpeername, accept4, recvfrom: [16] or [28]",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "getsockname(5, ...) right after accept4 or socketpair",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "getsockname(7, ...), getsockopt(7, SOL_SOCKET, SO_TYPE, ...), getsockopt(7, SOL_SOCKET, SO_PROTOCOL, ...) after recvmsg",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "recvmsg(4, {msg_name=0x..., msg_namelen=110 => 0, ...}, 0)",
        "emit_trace.rs",
        "names_as_asked",
    ),
    (
        "rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK, sa_restorer=0x...}, {sa_handler=SIG_IGN, ...}, 8)",
        "emit_trace.rs",
        "process_calls",
    ),
    (
        "epoll_create1(EPOLL_CLOEXEC)",
        "emit_epoll.rs",
        "epoll_calls",
    ),
    (
        "epoll_create1(EPOLL_CLOEXEC) = 3, close(3) on the main thread, before any line",
        "emit_epoll.rs",
        "epoll_calls",
    ),
    (
        "epoll_ctl(5, EPOLL_CTL_DEL, 4, 0x7ffc...)",
        "emit_epoll.rs",
        "epoll_calls",
    ),
    (
        "epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=140733193388036}})",
        "emit_epoll.rs",
        "epoll_calls",
    ),
    (
        "fcntl(4, F_DUPFD_CLOEXEC, 0) = 5",
        "emit_allowed.rs",
        "allowed",
    ),
    (
        "recvmsg(4, {msg_name={sa_family=AF_INET, ...}, msg_namelen=16, msg_iov=[{...}, {...}], ...}, 0)",
        "emit_trace.rs",
        "names_as_asked",
    ),
    (
        "openat(AT_FDCWD, \"/run/netns/socklab-b\", O_RDONLY|O_CLOEXEC), setns(3, CLONE_NEWNET), close(3): the same calls",
        "emit_epoll.rs",
        "epoll_calls",
    ),
    (
        "bind(3, {sa_family=AF_UNIX, sun_path=\"d/s.sock\"}, 11), connect, sendto: the same",
        "emit_allowed.rs",
        "unix_rules",
    ),
    (
        "accept4(3, {sa_family=AF_UNIX}, [110 => 2], SOCK_CLOEXEC), getsockname(..., [110 => N]), recvmsg(..., msg_namelen=110 => N, ...)",
        "emit_allowed.rs",
        "unix_rules",
    ),
    (
        "mkdir(\"d\", 0700), chmod(\"d/s.sock\", 0600), unlink(\"d/s.sock\"), rmdir(\"d\")",
        "emit_allowed.rs",
        "python_file_call",
    ),
    (
        "openat(AT_FDCWD, \"d\", O_RDONLY|O_CLOEXEC|O_DIRECTORY)",
        "emit_allowed.rs",
        "unix_rules",
    ),
    ("setgroups(0, [])", "emit_trace.rs", "process_calls"),
    (
        "geteuid() = 0 on the main thread, before any line",
        "emit_allowed.rs",
        "sockets_only",
    ),
];

/// The allow-list the tests take back is explain.rs's, row for row (what
/// `--emit python --explain` prints): each row has its rule, each rule's
/// function exists, and no rule stands for a row that is gone.
#[test]
fn emit_allow_list_rules_are_explain_rows() {
    use socklab::script::emit::explain::EXTRAS;
    for row in EXTRAS {
        assert!(
            TAKEN_BACK
                .iter()
                .any(|(python, _, _)| *python == row.python),
            "explain.rs's row {:?} is taken back by no rule in TAKEN_BACK",
            row.python
        );
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/suite/script");
    for (python, file, function) in TAKEN_BACK {
        assert!(
            EXTRAS.iter().any(|row| row.python == *python),
            "TAKEN_BACK's {python:?} is no row of explain.rs"
        );
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        assert!(
            text.contains(&format!("fn {function}(")),
            "{file}: no fn {function}"
        );
    }
}
