//! The C program's other calls (options, fcntl, ioctl, messages, poll,
//! kill).

use std::fmt::Write as _;

use super::model::{Fd, Model, Op, Val};

/// Identifiers the program uses itself: a script name among them gets `_fd`.
const TAKEN: &[&str] = &[
    "r", "sa", "n", "buf", "v", "vn", "iov", "m", "cm", "u", "fds", "got", "pfd", "sv", "ev",
    "main", "run", "steps", "actors", "done", "mu", "cv", "int", "char", "long", "if", "else",
    "for", "while", "do", "case", "break", "return", "static", "struct", "union", "void", "switch",
    "default", "const", "auto", "errno", "socket", "bind", "listen", "accept", "connect", "close",
    "poll", "read", "write", "kill", "dup", "line", "mm", "iv", "nm", "bb", "i", "rl",
];

pub fn var(f: &Fd) -> String {
    match f {
        Fd::Name(n) if TAKEN.contains(&n.as_str()) => format!("{n}_fd"),
        Fd::Name(n) => n.clone(),
        Fd::Pair(n, i) if TAKEN.contains(&n.as_str()) => format!("{n}_fd[{i}]"),
        Fd::Pair(n, i) => format!("{n}[{i}]"),
        Fd::Label(n) => format!("fd{n}"),
        Fd::Std(n) => n.to_string(),
    }
}

/// A C string literal (octal escapes: safe before any next character).
pub fn lit(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'?' => s.push_str("\\?"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push('"');
    s
}

fn val(v: &Val) -> String {
    v.names.join("|")
}

fn int_check(line: usize, what: &str, got: &str, want: &Option<Val>) -> String {
    match want {
        Some(w) => format!(
            " if (r >= 0) {{ IntIs({line}, \"{what}\", {got}, {}); }}",
            val(w)
        ),
        None => String::new(),
    }
}

pub fn call(m: &Model) -> String {
    let line = m.line;
    match &m.op {
        Op::Setsockopt(f, level, name, v) => super::optval::c_set(&names(f, level, name), v),
        Op::Getsockopt(f, level, name, v) => super::optval::c_get(line, &names(f, level, name), v),
        Op::Fcntl(f, cmd, arg) => match arg {
            Some(a) => format!("r = fcntl({}, {}, {});", var(f), val(cmd), val(a)),
            None => format!("r = fcntl({}, {});", var(f), val(cmd)),
        },
        Op::Ioctl(f, req, value, want) => format!(
            "int v = {value}; r = ioctl({}, {}, &v);{}",
            var(f),
            val(req),
            int_check(line, "value", "v", want)
        ),
        Op::Sendmsg(f, iov, rights, flags) => {
            let mut s = iovecs(iov.iter().map(|d| (lit(d), d.len())));
            s.push_str(" struct msghdr m = {0}; m.msg_iov = iov; m.msg_iovlen = sizeof iov / sizeof iov[0];");
            if !rights.is_empty() {
                let fds: Vec<String> = rights.iter().map(var).collect();
                let _ = write!(
                    s,
                    " int fds[] = {{{}}}; union {{ struct cmsghdr h; char b[CMSG_SPACE(sizeof fds)]; }} u;\n\t\t  memset(&u, 0, sizeof u); m.msg_control = u.b; m.msg_controllen = sizeof u.b;\n\t\t  struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS;\n\t\t  cm->cmsg_len = CMSG_LEN(sizeof fds); memcpy(CMSG_DATA(cm), fds, sizeof fds);\n\t\t ",
                    fds.join(", ")
                );
            }
            let _ = write!(s, " r = sendmsg({}, &m, {});", var(f), val(flags));
            s
        }
        Op::Recvmsg(f, sizes, controllen, flags, want, rights) => {
            let mut s = String::new();
            for (i, n) in sizes.iter().enumerate() {
                let _ = write!(s, "char b{i}[{}]; ", (*n).max(1));
            }
            s += &iovecs(sizes.iter().enumerate().map(|(i, n)| (format!("b{i}"), *n)));
            s.push_str(" struct msghdr m = {0}; m.msg_iov = iov; m.msg_iovlen = sizeof iov / sizeof iov[0];");
            if *controllen > 0 {
                let _ = write!(
                    s,
                    "\n\t\t  union {{ struct cmsghdr h; char b[{controllen}]; }} u; m.msg_control = u.b; m.msg_controllen = {controllen};\n\t\t "
                );
            }
            let _ = write!(s, " r = recvmsg({}, &m, {});", var(f), val(flags));
            if let (Some(w), 1) = (want, sizes.len()) {
                let _ = write!(s, " Data({line}, b0, r, {}, {}, 0);", lit(w), w.len());
            }
            if !rights.is_empty() {
                let _ = write!(
                    s,
                    "\n\t\t  struct cmsghdr *cm = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL; int got[{}] = {{0}};\n\t\t  if (cm && cm->cmsg_type == SCM_RIGHTS) {{ memcpy(got, CMSG_DATA(cm), sizeof got); }} else if (r >= 0) {{ Fail({line}, \"msg_control\", \"SCM_RIGHTS\", \"none\"); }}\n\t\t ",
                    rights.len()
                );
                for (i, f) in rights.iter().enumerate() {
                    let _ = write!(s, " if (r >= 0) {{ {} = Opened(got[{i}]); }}", var(f));
                }
            }
            s
        }
        Op::Poll(fds, timeout, revents) => {
            let set: Vec<String> = fds
                .iter()
                .map(|(f, ev)| format!("{{{}, {}, 0}}", var(f), val(ev)))
                .collect();
            let mut s = format!(
                "struct pollfd pfd[] = {{{}}}; r = poll(pfd, {}, {timeout});",
                set.join(", "),
                fds.len()
            );
            for (i, r) in revents.iter().enumerate() {
                s += &int_check(line, "revents", &format!("pfd[{i}].revents"), r);
            }
            s
        }
        Op::EpollCreate1(..) | Op::EpollCtl(..) | Op::EpollWait(..) => {
            let words = super::epoll::Words {
                var: &var,
                val: &val,
            };
            super::epoll::c(m, &words).unwrap_or_default()
        }
        _ => super::c_procs::call(m),
    }
}

/// An option call's fd, level and name as C writes them.
fn names<'a>(f: &Fd, level: &Val, name: &Val) -> super::optval::Names<'a> {
    super::optval::Names {
        fd: var(f),
        level: val(level),
        name: val(name),
        lit: &|b| lit(b),
        val: &|v| val(v),
    }
}

fn iovecs(items: impl Iterator<Item = (String, usize)>) -> String {
    let v: Vec<String> = items
        .map(|(base, n)| format!("{{(void *){base}, {n}}}"))
        .collect();
    format!("struct iovec iov[] = {{{}}};", v.join(", "))
}
