//! A Python line's call as the socket tutorial writes it
//! (`s.bind(('127.0.0.1', 0))`, `conn, addr = s.accept()`), its checks,
//! and a comment where Python makes calls the script did not; the
//! program's layout is `python_program.rs`.

use std::fmt::Write as _;

use super::model::{Fd, Inet, Model, Op, Out, Val, Want};

/// Names the program uses itself: a script name among them gets `_fd`.
const TAKEN: &[&str] = &[
    "r",
    "data",
    "addr",
    "ev",
    "p",
    "v",
    "buf",
    "msg",
    "anc",
    "fds",
    "array",
    "errno",
    "fcntl",
    "os",
    "select",
    "signal",
    "socket",
    "sys",
    "struct",
    "mmap",
    "st",
    "ACTORS",
    "pipes",
    "forked",
    "reaped",
    "status_is",
    "quit",
    "termios",
    "threading",
    "time",
    "lock",
    "done",
    "ports",
    "port",
    "want",
    "fail",
    "run",
    "opened",
    "closed",
    "line",
    "Actor",
    "stuck",
    "TEXT",
    "FILE",
    "STEPS",
    "ACTORS",
    "def",
    "if",
    "in",
    "is",
    "not",
    "and",
    "or",
    "as",
    "del",
    "for",
    "from",
    "pass",
    "None",
    "True",
    "False",
    "try",
    "with",
    "open_socks",
    "wait_until",
    "resource",
    "rl",
    "PIDS",
    "pid_is",
    "limit_is",
    "script",
    "main",
    "EXIT_GROUP",
    "LINKS",
    "RETURNS_BY",
    "set_link",
    "set_links",
];

/// A name the program uses itself: the runtime's, a local or a keyword.
fn taken(n: &str) -> bool {
    TAKEN.contains(&n) || super::python_runtime::defines(n)
}

pub(super) fn var(f: &Fd) -> String {
    match f {
        Fd::Name(n) if taken(n) => format!("{n}_fd"),
        Fd::Name(n) => n.clone(),
        Fd::Pair(n, i) if taken(n) => format!("{n}_fd[{i}]"),
        Fd::Pair(n, i) => format!("{n}[{i}]"),
        Fd::Label(n) => format!("fd{n}"),
        Fd::Std(n) => n.to_string(),
    }
}

/// Constants the `socket` module of Python 3.11 does not have.
const MISSING: &[(&str, i32)] = &[
    ("IP_PKTINFO", libc::IP_PKTINFO),
    ("IP_RECVTTL", libc::IP_RECVTTL),
    ("IP_RECVERR", libc::IP_RECVERR),
    ("IP_ORIGDSTADDR", libc::IP_ORIGDSTADDR),
    ("SOL_IPV6", libc::SOL_IPV6),
    ("IP_MTU", libc::IP_MTU),
    ("IP_MTU_DISCOVER", libc::IP_MTU_DISCOVER),
    ("IP_PMTUDISC_DO", libc::IP_PMTUDISC_DO),
    ("MSG_WAITFORONE", libc::MSG_WAITFORONE),
];

/// A constant from the module Python keeps it in.
pub(super) fn name(n: &str) -> String {
    if n.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return n.to_string();
    }
    let module = match n {
        _ if n.starts_with("POLL") || n.starts_with("EPOLL") => "select",
        _ if n.starts_with("FIO") || n.starts_with("TIOC") => "termios",
        _ if n.starts_with("F_") => "fcntl",
        _ if n.starts_with("O_") => "os",
        _ if n.starts_with("SIG") => "signal",
        _ if n.starts_with('E') && crate::values::xlat::errno(n).is_some() => "errno",
        _ => "socket",
    };
    // x86_64's SO_RCVTIMEO is the _OLD one (a 64-bit timeval): Python
    // knows the plain name only.
    let n = match n {
        "SO_RCVTIMEO_OLD" | "SO_SNDTIMEO_OLD" => n.trim_end_matches("_OLD"),
        _ => n,
    };
    // Linux constants Python 3.11's socket module lacks: their number.
    if let Some((_, v)) = MISSING.iter().find(|(m, _)| *m == n) {
        return format!("getattr(socket, {n:?}, {v})");
    }
    format!("{module}.{n}")
}

pub(super) fn val(v: &Val) -> String {
    v.names
        .iter()
        .map(|n| name(n))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A bytes literal.
pub(super) fn lit(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// An IPv4/IPv6 address as the tutorial writes it: `('127.0.0.1', 0)`
/// (a port other than 0 is a label: `port(N)`, this run's).
pub(super) fn addr(i: &Inet) -> String {
    match i.port {
        0 => format!("('{}', 0)", i.ip),
        p => format!("('{}', port({p}))", i.ip),
    }
}

fn check_addr(line: usize, o: &Out, what: &str) -> String {
    match o {
        Out::Is(i) => format!("; addr_is({line}, {what}, '{}', {})", i.ip, i.port),
        Out::Unix(s) => {
            let (kind, p): (u8, &[u8]) = match s {
                super::model::Sun::Path(p) => (0, p),
                super::model::Sun::Abstract(p) => (1, p),
                super::model::Sun::Unnamed => (2, &[]),
            };
            format!("; sun_is({line}, {what}, {kind}, {})", lit(p))
        }
        _ => String::new(),
    }
}

fn flags(v: &Val) -> String {
    if v.value == 0 {
        String::new()
    } else {
        format!(", {}", val(v))
    }
}

/// An option call's fd, level and name as Python writes them.
fn names<'a>(f: &Fd, level: &Val, name: &Val) -> super::optval::Names<'a> {
    super::optval::Names {
        fd: var(f),
        level: val(level),
        name: val(name),
        lit: &|b| lit(b),
        val: &|v| val(v),
    }
}

/// The call as an expression, what to do with its value (the checks),
/// and the comment on the calls Python adds. Err: not emitted.
pub(super) fn call(m: &Model) -> Result<(String, String, &'static str), String> {
    let line = m.line;
    let count = |what: &str| match m.want {
        Want::Value(n) => format!("; want({line}, {what}, {n})"),
        _ => String::new(),
    };
    let data_check = |want: &Option<(Vec<u8>, bool)>| match want {
        Some((b, cut)) => format!(
            "; data_is({line}, data, {}, {})",
            lit(b),
            if *cut { "True" } else { "False" }
        ),
        None => String::new(),
    };
    Ok(match &m.op {
        Op::Socket(d, t, p) => (
            format!("socket.socket({}, {}, {})", val(d), val(t), val(p)),
            String::new(),
            "socket() with SOCK_CLOEXEC added",
        ),
        Op::Socketpair(d, t, p, _) => (
            format!("socket.socketpair({}, {}, {})", val(d), val(t), val(p)),
            String::new(),
            "socketpair() with SOCK_CLOEXEC added; each socket object calls getsockname",
        ),
        Op::Bind(f, i) => (format!("{}.bind({})", var(f), addr(i)), String::new(), ""),
        Op::Connect(f, i) => (
            format!("{}.connect({})", var(f), addr(i)),
            String::new(),
            "",
        ),
        Op::Listen(f, b) => (format!("{}.listen({})", var(f), val(b)), String::new(), ""),
        Op::Accept(f, o, _) => (
            format!("{}.accept()", var(f)),
            check_addr(line, o, "addr"),
            "accept4(..., SOCK_CLOEXEC), the address length its own; the new socket object calls getsockname",
        ),
        Op::Getsockname(f, o) => (
            format!("{}.getsockname()", var(f)),
            check_addr(line, o, "addr"),
            "the address length the family's own",
        ),
        Op::Getpeername(f, o) => (
            format!("{}.getpeername()", var(f)),
            check_addr(line, o, "addr"),
            "the address length the family's own",
        ),
        Op::Shutdown(f, how) => (
            format!("{}.shutdown({})", var(f), val(how)),
            String::new(),
            "",
        ),
        Op::Close(f) => (
            format!("{}.close()", var(f)),
            format!("; closed({})", var(f)),
            "",
        ),
        Op::Sendto(f, bytes, fl, None) => (
            format!("{}.send({}{})", var(f), lit(bytes), flags(fl)),
            count("r"),
            "",
        ),
        Op::Sendto(f, bytes, fl, Some(i)) => (
            format!(
                "{}.sendto({}{}, {})",
                var(f),
                lit(bytes),
                flags(fl),
                addr(i)
            ),
            count("r"),
            "",
        ),
        Op::Recvfrom(f, size, fl, Out::Null, want) => (
            format!("{}.recv({size}{})", var(f), flags(fl)),
            count("len(data)") + &data_check(want),
            "",
        ),
        Op::Recvfrom(f, size, fl, o, want) => (
            format!("{}.recvfrom({size}{})", var(f), flags(fl)),
            count("len(data)") + &data_check(want) + &check_addr(line, o, "addr"),
            "recvfrom() with the address length the family's own",
        ),
        Op::Setsockopt(f, level, nm, v) => (
            super::optval::py_set(&names(f, level, nm), v),
            String::new(),
            "",
        ),
        Op::Getsockopt(f, level, nm, v) => {
            let (expr, check) = super::optval::py_get(line, &names(f, level, nm), v);
            (expr, check, "")
        }
        Op::Fcntl(f, cmd, arg) => (
            format!(
                "fcntl.fcntl({}.fileno(), {}{})",
                var(f),
                val(cmd),
                arg.as_ref()
                    .map_or(String::new(), |a| format!(", {}", val(a)))
            ),
            count("r"),
            "",
        ),
        Op::Ioctl(f, req, value, want) => (
            format!("fcntl.ioctl({}.fileno(), {}, buf)", var(f), val(req)),
            format!("buf = array.array(\"i\", [{value}])")
                + &match want {
                    Some(w) => format!("; want({line}, buf[0], {})", val(w)),
                    None => String::new(),
                },
            "",
        ),
        Op::Sendmsg(f, iov, rights, fl) if !rights.is_empty() => (
            format!(
                "socket.send_fds({}, [{}], [{}]{})",
                var(f),
                iov.iter().map(|d| lit(d)).collect::<Vec<_>>().join(", "),
                rights
                    .iter()
                    .map(|r| format!("{}.fileno()", var(r)))
                    .collect::<Vec<_>>()
                    .join(", "),
                flags(fl)
            ),
            count("r"),
            "",
        ),
        Op::Recvmsg(f, sizes, controllen, fl, want, rights) if sizes.len() == 1 => (
            format!(
                "{}.recvmsg({}, {controllen}{})",
                var(f),
                sizes.first().copied().unwrap_or(0),
                flags(fl)
            ),
            {
                let mut s = count("len(data)");
                if let Some(w) = want {
                    let _ = write!(s, "; data_is({line}, data, {}, False)", lit(w));
                }
                for (i, r) in rights.iter().enumerate() {
                    let _ = write!(
                        s,
                        "; {} = opened(socket.socket(fileno=fds_in(anc)[{i}]))",
                        var(r)
                    );
                }
                s
            },
            if rights.is_empty() {
                "recvmsg() with a msg_name buffer"
            } else {
                "recvmsg() with a msg_name buffer; socket(fileno=) asks the received fd its address, type and protocol"
            },
        ),
        Op::Poll(fds, timeout, revents) => (
            format!("p.poll({timeout})"),
            {
                let mut s = count("len(ev)");
                for (i, r) in revents.iter().enumerate() {
                    if let Some(r) = r {
                        let _ = write!(
                            s,
                            "; want({line}, dict(ev).get({}.fileno()), {})",
                            var(&fds.get(i).map_or(Fd::Std(0), |f| f.0.clone())),
                            val(r)
                        );
                    }
                }
                s
            },
            "",
        ),
        Op::EpollCreate1(..) | Op::EpollCtl(..) | Op::EpollWait(..) => {
            let words = super::epoll::Words {
                var: &var,
                val: &val,
            };
            super::epoll::python(m, &words).ok_or("not an epoll call")?
        }
        Op::Handler(..) => return Err(HANDLER.into()),
        _ => return Err("this call is not emitted in Python yet".into()),
    })
}

/// Why a handler is refused in Python (`--emit python --explain` too).
pub const HANDLER: &str = "a handler (sa_handler=...) is not emitted in Python: signal.signal \
    installs its own C handler without SA_RESTART, only from the main thread, runs the Python \
    handler only there, and retries an interrupted call itself (PEP 475): neither the script's \
    rt_sigaction nor its EINTR";
