//! The Python program's AF_UNIX, msg_name, SCM_CREDENTIALS, file and
//! credential lines (`unix.rs`'s ops), as the socket tutorial writes
//! them (`s.bind('/path')`, `'\0name'`, `s.sendmsg(..., address)`), and
//! `os` where the socket object has no method; a comment where Python's
//! call is not the script's (`os.mkdir` is mkdir, not mkdirat: the
//! allow-list, explain.rs).

use std::fmt::Write as _;

use super::model::{Cred, Ctl, Dir, From, Name, Sun, UnixOp};
use super::model::{Model, Op, Val, Want};
use super::python::{val, var};

/// A bytes literal.
fn lit(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// `kind, b"bytes"` of an AF_UNIX address (sun, sun_is).
fn sun_args(s: &Sun) -> String {
    match s {
        Sun::Path(p) => format!("0, {}", lit(p)),
        Sun::Abstract(p) => format!("1, {}", lit(p)),
        Sun::Unnamed => "2, b\"\"".into(),
    }
}

fn name_in(n: &Name) -> String {
    match n {
        Name::Unix(s) => format!("sun({})", sun_args(s)),
        Name::Inet(i) => super::python::addr(i),
    }
}

fn name_is(line: usize, n: &Name, what: &str) -> String {
    match n {
        Name::Unix(s) => format!("; sun_is({line}, {what}, {})", sun_args(s)),
        Name::Inet(i) => format!("; addr_is({line}, {what}, '{}', {})", i.ip, i.port),
    }
}

fn dir_fd(d: &Dir) -> String {
    match d {
        Dir::Cwd => String::new(),
        Dir::Fd(f) => format!(", dir_fd={}.fileno()", var(f)),
    }
}

/// The fd a relative path starts from (None: the working directory).
fn base_fd(d: &Dir) -> String {
    match d {
        Dir::Cwd => "None".into(),
        Dir::Fd(f) => format!("{}.fileno()", var(f)),
    }
}

fn flags(v: &Val) -> String {
    if v.value == 0 {
        String::new()
    } else {
        format!(", {}", val(v))
    }
}

fn cred(c: &Cred) -> String {
    let f = |v: Option<i64>, own: &str| v.map_or(own.to_string(), |n| n.to_string());
    format!(
        "(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack(\"iII\", {}, {}, {}))",
        f(c.pid, "os.getpid()"),
        f(c.uid, "os.geteuid()"),
        f(c.gid, "os.getegid()")
    )
}

/// One control message's `(level, type, data)` tuple.
fn ctl(c: &Ctl) -> String {
    match c {
        Ctl::Rights(fds) => format!(
            "(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array(\"i\", [{}]))",
            fds.iter()
                .map(|r| format!("{}.fileno()", var(r)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ctl::Cred(c) => cred(c),
        Ctl::Other(a) => super::ancillary::python(a, super::python::name),
    }
}

/// The call, its checks, its comment (Python's own calls), or why not.
fn call(line: usize, u: &UnixOp) -> Result<(String, String, &'static str), String> {
    let count = String::new();
    let path_note = "the address length counts sun_path's terminating NUL";
    Ok(match u {
        UnixOp::Bind(f, s) => (
            format!("{}.bind(sun({}))", var(f), sun_args(s)),
            match s {
                Sun::Path(p) => format!("; socket_file({})", lit(p)),
                _ => String::new(),
            },
            if matches!(s, Sun::Path(_)) {
                path_note
            } else {
                ""
            },
        ),
        UnixOp::Connect(f, s) => (
            format!("{}.connect(sun({}))", var(f), sun_args(s)),
            count,
            if matches!(s, Sun::Path(_)) {
                path_note
            } else {
                ""
            },
        ),
        UnixOp::Sendto(f, bytes, fl, s) => (
            format!(
                "{}.sendto({}{}, sun({}))",
                var(f),
                lit(bytes),
                flags(fl),
                sun_args(s)
            ),
            count,
            if matches!(s, Sun::Path(_)) {
                path_note
            } else {
                ""
            },
        ),
        UnixOp::Sendmsg {
            fd,
            iov,
            to,
            control,
            flags: fl,
        } => {
            let anc: Vec<String> = control.iter().map(ctl).collect();
            let bufs: Vec<String> = iov.iter().map(|d| lit(d)).collect();
            let mut args = format!("[{}], [{}], {}", bufs.join(", "), anc.join(", "), val(fl));
            if let Some(n) = to {
                let _ = write!(args, ", {}", name_in(n));
            }
            (format!("{}.sendmsg({args})", var(fd)), count, "")
        }
        UnixOp::Recvmsg {
            fd,
            sizes,
            from,
            controllen,
            flags: fl,
            want,
            rights,
            cred: c,
        } => {
            let mut then = String::new();
            if let Some(w) = want {
                let _ = write!(then, "; data_is({line}, data, {}, False)", lit(w));
            }
            if let From::Is(n) = from {
                then.push_str(&name_is(line, n, "addr"));
            }
            for (i, r) in rights.iter().enumerate() {
                let _ = write!(
                    then,
                    "; {} = opened(socket.socket(fileno=fds_in(anc)[{i}]))",
                    var(r)
                );
            }
            if let Some(c) = c {
                let f = |v: Option<i64>| v.map_or("None".to_string(), |n| n.to_string());
                let _ = write!(
                    then,
                    "; cred_is({line}, anc, {}, {}, {})",
                    f(c.pid),
                    f(c.uid),
                    f(c.gid)
                );
            }
            // Several iovecs: recvmsg_into fills the buffers of `bufs`.
            let call = match sizes.as_slice() {
                [size] => format!("recvmsg({size}, "),
                _ => "recvmsg_into(buf, ".to_string(),
            };
            (
                format!("{}.{call}{controllen}{})", var(fd), flags(fl)),
                then,
                "recvmsg() with a msg_name buffer of sizeof(struct sockaddr_un) or the family's own",
            )
        }
        UnixOp::Openat(d, p, fl, mode) => (
            format!(
                "File(os.open({}, {}, 0o{mode:o}{}))",
                lit(p),
                val(fl),
                dir_fd(d)
            ),
            String::new(),
            "os.open adds O_CLOEXEC",
        ),
        UnixOp::Getrandom(n, fl) => (format!("os.getrandom({n}, {})", fl.value), count, ""),
        UnixOp::Mkdirat(d, p, mode) => (
            format!("os.mkdir({}, 0o{mode:o}{})", lit(p), dir_fd(d)),
            format!("; dir_made({}, {})", base_fd(d), lit(p)),
            if *d == Dir::Cwd {
                "os.mkdir is mkdir (mkdirat only with dir_fd)"
            } else {
                ""
            },
        ),
        UnixOp::Newfstatat(d, p) => (
            format!("os.stat({}{}, follow_symlinks=False)", lit(p), dir_fd(d)),
            count,
            "",
        ),
        UnixOp::Fchmod(f, mode) => (
            format!("os.fchmod({}.fileno(), 0o{mode:o})", var(f)),
            count,
            "",
        ),
        UnixOp::Fchmodat(d, p, mode) => (
            format!("os.chmod({}, 0o{mode:o}{})", lit(p), dir_fd(d)),
            count,
            if *d == Dir::Cwd {
                "os.chmod is chmod (fchmodat only with dir_fd)"
            } else {
                ""
            },
        ),
        UnixOp::Unlinkat(d, p, fl) => (
            format!(
                "os.{}({}{})",
                if fl.value == i64::from(libc::AT_REMOVEDIR) {
                    "rmdir"
                } else {
                    "unlink"
                },
                lit(p),
                dir_fd(d)
            ),
            if fl.value == i64::from(libc::AT_REMOVEDIR) {
                format!("; dir_gone({}, {})", base_fd(d), lit(p))
            } else {
                count
            },
            if *d == Dir::Cwd {
                "os.unlink is unlink, os.rmdir rmdir (unlinkat only with dir_fd)"
            } else {
                ""
            },
        ),
        UnixOp::Unlink(p) => (
            format!("os.unlink({})", lit(p)),
            format!("; socket_file_gone({})", lit(p)),
            "",
        ),
        UnixOp::Setgroups(g) => (
            format!(
                "os.setgroups([{}])",
                g.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            count,
            "",
        ),
        UnixOp::Setgid(id) => (format!("os.setgid({id})"), count, ""),
        UnixOp::Setuid(id) => (format!("os.setuid({id})"), count, ""),
        UnixOp::Umask(mask) => (format!("os.umask(0o{mask:o})"), count, ""),
    })
}

/// The statement of one of this module's lines (None: not one).
pub fn statement(m: &Model) -> Option<Result<String, String>> {
    let Op::Unix(u) = &m.op else {
        return None;
    };
    let line = m.line;
    let (expr, then, note) = match call(line, u) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    let comment = if note.is_empty() {
        String::new()
    } else {
        format!("  # Python: {note}")
    };
    // recvmsg_into's buffers, one per iovec, made before the call.
    let bufs = match u {
        UnixOp::Recvmsg { sizes, .. } if sizes.len() > 1 => {
            let b: Vec<String> = sizes.iter().map(|n| format!("bytearray({n})")).collect();
            format!("buf = [{}]; ", b.join(", "))
        }
        _ => String::new(),
    };
    if let Want::Errno(e) = &m.want {
        return Some(Ok(format!(
            "{bufs}want_errno({line}, errno.{e}, lambda: {expr}){comment}"
        )));
    }
    let count = match (&m.want, u) {
        (
            Want::Value(n),
            UnixOp::Sendto(..) | UnixOp::Sendmsg { .. } | UnixOp::Getrandom(..) | UnixOp::Umask(_),
        ) => {
            format!("; want({line}, len(r) if isinstance(r, bytes) else r, {n})")
        }
        (Want::Value(n), UnixOp::Recvmsg { .. }) => format!("; want({line}, len(data), {n})"),
        _ => String::new(),
    };
    Some(Ok(match u {
        UnixOp::Openat(..) => {
            let take = m.bind.as_ref().map_or("r".to_string(), var);
            format!("{take} = opened({expr}){comment}")
        }
        UnixOp::Recvmsg { .. } if !bufs.is_empty() => format!(
            "{bufs}r, anc, _, addr = {expr}; data = b\"\".join(buf)[:r]{count}{then}{comment}"
        ),
        UnixOp::Recvmsg { .. } => format!("data, anc, _, addr = {expr}{count}{then}{comment}"),
        _ => format!("r = {expr}{count}{then}{comment}"),
    }))
}
