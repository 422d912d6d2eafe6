//! The C program's AF_UNIX, msg_name, SCM_CREDENTIALS, file and
//! credential calls (`unix.rs`'s ops), made directly as the hand-written
//! twins make them; `runtime_unix.h` has their helpers (`Sun`, `SunIs`,
//! the abstract-name labels, the socket files removed at the end).

use std::fmt::Write as _;

use super::c_more::{lit, var};
use super::model::{Cred, Ctl, Dir, From, Inet, Name, Sun, UnixOp, Val};

fn val(v: &Val) -> String {
    v.names.join("|")
}

fn dir(d: &Dir) -> String {
    match d {
        Dir::Cwd => "AT_FDCWD".into(),
        Dir::Fd(f) => var(f),
    }
}

fn path(p: &[u8]) -> String {
    lit(p)
}

/// `kind, "bytes", len` of an AF_UNIX address (kind 0 path, 1 abstract, 2 unnamed).
pub fn sun_args(s: &Sun) -> String {
    match s {
        Sun::Path(p) => format!("0, {}, {}", lit(p), p.len()),
        Sun::Abstract(p) => format!("1, {}, {}", lit(p), p.len()),
        Sun::Unnamed => "2, \"\", 0".into(),
    }
}

fn port(p: u16) -> String {
    if p == 0 {
        "0".into()
    } else {
        format!("Port(&port_{p}, {p})")
    }
}

fn inet(i: &Inet) -> String {
    format!("n = Inet(&sa, {}, {});", lit(i.ip.as_bytes()), port(i.port))
}

fn name_in(n: &Name) -> String {
    match n {
        Name::Unix(s) => format!("n = Sun(&sa, {});", sun_args(s)),
        Name::Inet(i) => inet(i),
    }
}

/// The check of a received address in `sa` (its length in `len`).
pub fn name_is(line: usize, n: &Name, len: &str) -> String {
    match n {
        Name::Unix(s) => format!(
            " if (r >= 0) {{ SunIs({line}, &sa, {len}, {}); }}",
            sun_args(s)
        ),
        Name::Inet(i) if i.port == 0 => format!(
            " if (r >= 0) {{ InetIs({line}, &sa, {}, &(int){{0}}, 0); }}",
            lit(i.ip.as_bytes())
        ),
        Name::Inet(i) => format!(
            " if (r >= 0) {{ InetIs({line}, &sa, {}, &port_{p}, {p}); }}",
            lit(i.ip.as_bytes()),
            p = i.port
        ),
    }
}

fn cred_values(c: &Cred) -> String {
    let f = |v: Option<i64>, own: &str| v.map_or(own.to_string(), |n| n.to_string());
    format!(
        "{}, {}, {}",
        f(c.pid, "getpid()"),
        f(c.uid, "geteuid()"),
        f(c.gid, "getegid()")
    )
}

/// A name made unique among a line's messages: `fds`, `fds1`, `fds2`...
fn nth(name: &str, i: usize) -> String {
    if i == 0 {
        name.to_string()
    } else {
        format!("{name}{i}")
    }
}

/// sendmsg's statements: the iovecs, the name, the control messages in
/// the line's order (one `CMSG_SPACE` each in the buffer's size).
fn sendmsg(iov: &[Vec<u8>], to: &Option<Name>, control: &[Ctl]) -> String {
    let items: Vec<String> = iov
        .iter()
        .map(|d| format!("{{(void *){}, {}}}", lit(d), d.len()))
        .collect();
    let mut s = format!(
        "struct iovec iov[] = {{{}}}; struct msghdr m = {{0}}; m.msg_iov = iov; m.msg_iovlen = {};",
        items.join(", "),
        iov.len()
    );
    if let Some(n) = to {
        let _ = write!(s, " {} m.msg_name = &sa; m.msg_namelen = n;", name_in(n));
    }
    if control.is_empty() {
        return s;
    }
    let (mut rights, mut creds, mut other) = (String::new(), Vec::new(), String::new());
    for c in control {
        match c {
            Ctl::Rights(fds) => {
                let _ = write!(rights, "CMSG_SPACE(sizeof(int) * {}) + ", fds.len());
            }
            Ctl::Cred(_) => creds.push("CMSG_SPACE(sizeof(struct ucred))"),
            Ctl::Other(a) => other.push_str(&super::ancillary::c_space(a)),
        }
    }
    let creds = if creds.is_empty() {
        "0".to_string()
    } else {
        creds.join(" + ")
    };
    let _ = write!(
        s,
        "\n\t\t  union {{ struct cmsghdr h; char b[{rights}{creds}{other}]; }} u; memset(&u, 0, sizeof u);\n\t\t  m.msg_control = u.b; m.msg_controllen = sizeof u.b; struct cmsghdr *cm = CMSG_FIRSTHDR(&m);"
    );
    let (mut nr, mut nc, mut no) = (0, 0, 0);
    for (i, c) in control.iter().enumerate() {
        match c {
            Ctl::Rights(fds) => {
                let list: Vec<String> = fds.iter().map(var).collect();
                let _ = write!(
                    s,
                    "\n\t\t  int {v}[] = {{{}}}; cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS;\n\t\t  cm->cmsg_len = CMSG_LEN(sizeof {v}); memcpy(CMSG_DATA(cm), {v}, sizeof {v}); cm = CMSG_NXTHDR(&m, cm);",
                    list.join(", "),
                    v = nth("fds", nr)
                );
                nr += 1;
            }
            Ctl::Cred(c) => {
                let _ = write!(
                    s,
                    "\n\t\t  struct ucred {v} = {{{}}}; cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_CREDENTIALS;\n\t\t  cm->cmsg_len = CMSG_LEN(sizeof {v}); memcpy(CMSG_DATA(cm), &{v}, sizeof {v});",
                    cred_values(c),
                    v = nth("cred", nc)
                );
                nc += 1;
                if i + 1 < control.len() {
                    s.push_str(" cm = CMSG_NXTHDR(&m, cm);");
                }
            }
            Ctl::Other(a) => {
                s.push_str(&super::ancillary::c_fill(no, a));
                no += 1;
            }
        }
    }
    s.push_str("\n\t\t ");
    s
}

/// recvmsg's statements and checks.
#[allow(clippy::too_many_arguments)]
fn recvmsg(
    line: usize,
    f: &str,
    sizes: &[usize],
    from: &From,
    controllen: usize,
    flags: &Val,
    want: &Option<Vec<u8>>,
    rights: &[super::model::Fd],
    cred: &Option<Cred>,
) -> String {
    let mut s = String::new();
    for (i, n) in sizes.iter().enumerate() {
        let _ = write!(s, "char b{i}[{}]; ", (*n).max(1));
    }
    let items: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{{b{i}, {n}}}"))
        .collect();
    let _ = write!(
        s,
        "struct iovec iov[] = {{{}}}; struct msghdr m = {{0}}; m.msg_iov = iov; m.msg_iovlen = {};",
        items.join(", "),
        sizes.len()
    );
    if *from != From::Null {
        s.push_str(" m.msg_name = &sa; m.msg_namelen = sizeof sa;");
    }
    if controllen > 0 {
        let _ = write!(
            s,
            "\n\t\t  union {{ struct cmsghdr h; char b[{controllen}]; }} u; m.msg_control = u.b; m.msg_controllen = {controllen};\n\t\t "
        );
    }
    let _ = write!(s, " r = recvmsg({f}, &m, {});", val(flags));
    if let (Some(w), 1) = (want, sizes.len()) {
        let _ = write!(s, " Data({line}, b0, r, {}, {}, 0);", lit(w), w.len());
    }
    if let From::Is(n) = from {
        s.push_str(&name_is(line, n, "m.msg_namelen"));
    }
    if !rights.is_empty() {
        let _ = write!(
            s,
            "\n\t\t  int got[{}] = {{0}}; if (r >= 0) {{ Rights({line}, &m, got, sizeof got); }}",
            rights.len()
        );
        for (i, f) in rights.iter().enumerate() {
            let _ = write!(s, " if (r >= 0) {{ {} = Opened(got[{i}]); }}", var(f));
        }
    }
    if let Some(c) = cred {
        let f = |v: Option<i64>| v.map_or("-1".to_string(), |n| n.to_string());
        let _ = write!(
            s,
            "\n\t\t  if (r >= 0) {{ CredIs({line}, &m, {}, {}, {}); }}",
            f(c.pid),
            f(c.uid),
            f(c.gid)
        );
    }
    s
}

/// The statement(s) of one of this module's ops (r = the result).
pub fn call(line: usize, u: &UnixOp) -> String {
    match u {
        UnixOp::Bind(f, s) => {
            let mut c = format!(
                "n = Sun(&sa, {}); r = bind({}, (struct sockaddr *)&sa, n);",
                sun_args(s),
                var(f)
            );
            if let Sun::Path(p) = s {
                let _ = write!(
                    c,
                    " if (r == 0) {{ SocketFile({}, {}); }}",
                    path(p),
                    p.len()
                );
            }
            c
        }
        UnixOp::Connect(f, s) => format!(
            "n = Sun(&sa, {}); r = connect({}, (struct sockaddr *)&sa, n);",
            sun_args(s),
            var(f)
        ),
        UnixOp::Sendto(f, bytes, flags, s) => format!(
            "n = Sun(&sa, {}); r = sendto({}, {}, {}, {}, (struct sockaddr *)&sa, n);",
            sun_args(s),
            var(f),
            lit(bytes),
            bytes.len(),
            val(flags)
        ),
        UnixOp::Sendmsg {
            fd,
            iov,
            to,
            control,
            flags,
        } => format!(
            "{} r = sendmsg({}, &m, {});",
            sendmsg(iov, to, control),
            var(fd),
            val(flags)
        ),
        UnixOp::Recvmsg {
            fd,
            sizes,
            from,
            controllen,
            flags,
            want,
            rights,
            cred,
        } => recvmsg(
            line,
            &var(fd),
            sizes,
            from,
            *controllen,
            flags,
            want,
            rights,
            cred,
        ),
        UnixOp::Openat(d, p, flags, mode) => format!(
            "r = openat({}, {}, {}, 0{mode:o});",
            dir(d),
            path(p),
            val(flags)
        ),
        UnixOp::Getrandom(n, flags) => format!(
            "char buf[{}]; r = getrandom(buf, {n}, {});",
            (*n).max(1),
            val(flags)
        ),
        UnixOp::Mkdirat(d, p, mode) => format!(
            "r = mkdirat({0}, {1}, 0{mode:o}); if (r == 0) {{ DirMade({0}, {1}); }}",
            dir(d),
            path(p)
        ),
        UnixOp::Newfstatat(d, p) => format!(
            "struct stat st; r = fstatat({}, {}, &st, AT_SYMLINK_NOFOLLOW);",
            dir(d),
            path(p)
        ),
        UnixOp::Fchmod(f, mode) => format!("r = fchmod({}, 0{mode:o});", var(f)),
        UnixOp::Fchmodat(d, p, mode) => {
            format!("r = fchmodat({}, {}, 0{mode:o}, 0);", dir(d), path(p))
        }
        UnixOp::Unlinkat(d, p, flags) if flags.value == i64::from(libc::AT_REMOVEDIR) => format!(
            "r = unlinkat({0}, {1}, {2}); if (r == 0) {{ DirGone({0}, {1}); }}",
            dir(d),
            path(p),
            val(flags)
        ),
        UnixOp::Unlinkat(d, p, flags) => {
            format!("r = unlinkat({}, {}, {});", dir(d), path(p), val(flags))
        }
        UnixOp::Unlink(p) => format!(
            "r = unlink({0}); if (r == 0) {{ SocketFileGone({0}, {1}); }}",
            path(p),
            p.len()
        ),
        UnixOp::Setgroups(g) if g.is_empty() => "r = setgroups(0, NULL);".into(),
        UnixOp::Setgroups(g) => {
            let list: Vec<String> = g.iter().map(|x| x.to_string()).collect();
            format!(
                "gid_t groups[] = {{{}}}; r = setgroups({}, groups);",
                list.join(", "),
                g.len()
            )
        }
        UnixOp::Setgid(id) => format!("r = setgid({id});"),
        UnixOp::Setuid(id) => format!("r = setuid({id});"),
        UnixOp::Umask(mask) => format!("r = umask(0{mask:o});"),
    }
}
