//! A checked step's call and arguments as an [`Op`].

use super::super::ast::{Expr, ExprKind, Outcome};
use super::super::check::{Step, returns_fd};
use super::super::resolve::{self, Why};
use super::model::{
    Fd, Model, Op, OptVal, Pair, Want, Who, fd, field, fields_of, inet, items_of, num, val_of,
};
use super::written::{data_of, int_of, out_of};
use crate::values::calls::Ret;
use crate::values::xlat::Group;

fn arg(step: &Step, i: usize) -> Result<&Expr, Why> {
    step.args
        .get(i)
        .ok_or_else(|| format!("{} lacks argument {}", step.row.name, i + 1))
}

fn size(len_arg: &Expr, buf: &Expr) -> Result<usize, Why> {
    match (resolve::len(len_arg)?, &buf.kind) {
        (Some(n), _) => Ok(n),
        (None, ExprKind::Str { bytes, .. }) => Ok(bytes.len()),
        (None, _) => Ok(1024),
    }
}

/// The fds an output shows (socketpair's `[3, 4]`, `cmsg_data=[7]`).
fn fds_out(e: Option<&Expr>) -> Result<Vec<Fd>, Why> {
    items_of(e)
        .iter()
        .filter(|i| !matches!(i.kind, ExprKind::Dots))
        .map(fd)
        .collect()
}

fn to(e: &Expr) -> Result<Option<super::model::Inet>, Why> {
    match e.kind {
        ExprKind::Null => Ok(None),
        _ => inet(e).map(Some),
    }
}

/// The call of `step`, its arguments resolved.
pub fn op(step: &Step) -> Result<Op, Why> {
    let a = |i: usize| arg(step, i);
    let fd0 = || fd(a(0)?);
    let v = |i: usize, g: Option<Group>| val_of(a(i)?, g);
    if let Some(op) = super::unix::op(step)? {
        return Ok(op);
    }
    Ok(match step.row.name {
        "socket" => Op::Socket(
            v(0, Some(Group::Af))?,
            v(1, Some(Group::Sock))?,
            v(2, Some(Group::Ipproto))?,
        ),
        "socketpair" => Op::Socketpair(
            v(0, Some(Group::Af))?,
            v(1, Some(Group::Sock))?,
            v(2, Some(Group::Ipproto))?,
            fds_out(Some(a(3)?))?,
        ),
        "bind" => Op::Bind(fd0()?, inet(a(1)?)?),
        "connect" => Op::Connect(fd0()?, inet(a(1)?)?),
        "listen" => Op::Listen(fd0()?, v(1, None)?),
        "accept" => Op::Accept(fd0()?, out_of(a(1)?)?, None),
        "accept4" => Op::Accept(fd0()?, out_of(a(1)?)?, Some(v(3, Some(Group::SockFlags))?)),
        "getsockname" => Op::Getsockname(fd0()?, out_of(a(1)?)?),
        "getpeername" => Op::Getpeername(fd0()?, out_of(a(1)?)?),
        "shutdown" => Op::Shutdown(fd0()?, v(1, Some(Group::Shut))?),
        "close" => Op::Close(fd0()?),
        "dup" => Op::Dup(fd0()?),
        "dup2" => Op::Dup2(fd0()?, v(1, None)?),
        "sendto" => Op::Sendto(
            fd0()?,
            resolve::bytes(a(1)?, resolve::len(a(2)?)?)?,
            v(3, Some(Group::Msg))?,
            to(a(4)?)?,
        ),
        "recvfrom" => Op::Recvfrom(
            fd0()?,
            size(a(2)?, a(1)?)?,
            v(3, Some(Group::Msg))?,
            out_of(a(4)?)?,
            data_of(a(1)?),
        ),
        "read" => Op::Read(fd0()?, size(a(2)?, a(1)?)?, data_of(a(1)?)),
        "write" => Op::Write(fd0()?, resolve::bytes(a(1)?, resolve::len(a(2)?)?)?),
        "setsockopt" | "getsockopt" => sockopt(step)?,
        "fcntl" => {
            let cmd = v(1, Some(Group::Fcntl))?;
            let group = if cmd.value == i64::from(libc::F_SETFD) {
                Group::FdFlags
            } else {
                Group::OFlags
            };
            let arg = match step.args.get(2) {
                Some(e) if !matches!(e.kind, ExprKind::Dots) => Some(val_of(e, Some(group))?),
                _ => None,
            };
            Op::Fcntl(fd0()?, cmd, arg)
        }
        "ioctl" => {
            let value = match a(2)?.kind {
                ExprKind::Dots => 0,
                _ => resolve::int(a(2)?, None).unwrap_or(0),
            };
            Op::Ioctl(fd0()?, v(1, Some(Group::Ioctl))?, value, int_of(a(2)?)?)
        }
        "sendmsg" | "recvmsg" => msg(step)?,
        "poll" => {
            let mut fds = Vec::new();
            for p in items_of(Some(a(0)?)) {
                let f = fields_of(p);
                let e = field(f, "fd").ok_or("a pollfd is {fd=N, events=POLLIN}")?;
                let events = match field(f, "events") {
                    Some(e) => val_of(e, Some(Group::Poll))?,
                    None => num(0),
                };
                fds.push((fd(e)?, events));
            }
            let revents = revents(step, fds.len())?;
            Op::Poll(fds, resolve::int(a(2)?, None)?, revents)
        }
        "kill" => Op::Kill(who(a(0)?)?, v(1, Some(Group::Sig))?),
        "clone3" => super::threads::op(step)?,
        "clone" => Op::Fork(Who {
            name: step
                .child
                .clone()
                .ok_or("a fork's child: NAME = fork() or its pid")?,
            actor: None,
            pid: 0,
            process: true,
            handled: false,
        }),
        "rt_sigaction" => {
            let fields = fields_of(a(1)?);
            let dfl = match field(fields, "sa_handler").map(|e| &e.kind) {
                Some(ExprKind::Name(n)) if n == "SIG_DFL" => true,
                Some(ExprKind::Name(n)) if n == "SIG_IGN" => false,
                _ => {
                    let flags = match field(fields, "sa_flags") {
                        Some(e) => val_of(e, Some(Group::SaFlags))?.names,
                        None => Vec::new(),
                    };
                    let flags = flags.into_iter().filter(|f| f != "SA_RESTORER").collect();
                    return Ok(Op::Handler(v(0, Some(Group::Sig))?, flags));
                }
            };
            Op::Sigaction(v(0, Some(Group::Sig))?, dfl)
        }
        "wait4" => {
            let options = match step.args.get(2) {
                Some(_) => v(2, Some(Group::Wait))?,
                None => num(0),
            };
            // The pid its result shows: a label, as getpid's (own.rs).
            let reaped = match step.result.as_ref().map(|r| &r.value) {
                Some(Outcome::Value(n)) => Some(Who {
                    name: format!("pid {n}"),
                    actor: None,
                    pid: *n,
                    process: false,
                    handled: false,
                }),
                _ => None,
            };
            Op::Wait4(who(a(0)?)?, status(step.args.get(1)), options, reaped)
        }
        "exit_group" => Op::Exit(resolve::int(a(0)?, None)?),
        "epoll_create1" | "epoll_ctl" | "epoll_wait" => super::epoll::op(step)?,
        "sendmmsg" | "recvmmsg" => Op::Mmsg(super::mmsg::op(step)?),
        "getpid" | "getppid" | "gettid" | "prlimit64" => Op::Own(super::own::op(step)?),
        other => match super::procs::op(step)? {
            Some(p) => Op::Proc(p),
            None => return Err(format!("{other} is not emitted yet")),
        },
    })
}

/// kill's or wait4's process: an actor's name, or a pid (a fork's result
/// names its child: the plan resolves it).
fn who(e: &Expr) -> Result<Who, Why> {
    match &e.kind {
        ExprKind::Name(n) => Ok(Who {
            name: n.clone(),
            actor: None,
            pid: 0,
            process: false,
            handled: false,
        }),
        ExprKind::Int(n) => Ok(Who {
            name: format!("pid {n}"),
            actor: None,
            pid: *n,
            process: false,
            handled: false,
        }),
        _ => Err("a process is an actor's name or a pid".into()),
    }
}

/// wait4's status as written: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
fn status(e: Option<&Expr>) -> Option<String> {
    match &items_of(e).first()?.kind {
        ExprKind::Str { bytes, .. } => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// poll's `([{fd=n, revents=POLLOUT}])` after the result: each pollfd's
/// expected revents (None: not written).
fn revents(step: &Step, n: usize) -> Result<Vec<Option<super::model::Val>>, Why> {
    let mut out = vec![None; n];
    let Some(note) = step.result.as_ref().and_then(|r| r.note.as_deref()) else {
        return Ok(out);
    };
    if !note.trim_start().starts_with('[') {
        return Ok(out);
    }
    let parsed = super::super::parse::parse_args(note).map_err(|e| e.msg)?;
    let written = fds_written(step);
    for p in items_of(parsed.first()) {
        let f = fields_of(p);
        let (Some(at), Some(r)) = (field(f, "fd"), field(f, "revents")) else {
            continue;
        };
        let which = fd(at)?;
        if let Some(i) = written.iter().position(|w| *w == which)
            && let Some(slot) = out.get_mut(i)
        {
            *slot = Some(val_of(r, Some(Group::Poll))?);
        }
    }
    Ok(out)
}

fn fds_written(step: &Step) -> Vec<Fd> {
    let Some(first) = step.args.first() else {
        return Vec::new();
    };
    items_of(Some(first))
        .iter()
        .filter_map(|p| field(fields_of(p), "fd").and_then(|e| fd(e).ok()))
        .collect()
}

fn sockopt(step: &Step) -> Result<Op, Why> {
    let a = |i: usize| arg(step, i);
    let level = val_of(a(1)?, Some(Group::Sol))?;
    let name = match &a(2)?.kind {
        ExprKind::Name(n) => super::model::Val {
            names: vec![n.clone()],
            value: i64::from(
                crate::values::xlat::option(level.value as i32, n)
                    .ok_or_else(|| format!("unknown option '{n}' at this level"))?,
            ),
        },
        _ => val_of(a(2)?, None)?,
    };
    let fd = fd(a(0)?)?;
    if step.row.name == "getsockopt" {
        let len = resolve::len(a(4)?)?.unwrap_or(4);
        let len = u32::try_from(len).map_err(|_| "optlen is too large".to_string())?;
        let value = match a(3)?.kind {
            // SO_PEERCRED's ucred (its pid a label): read back, not compared.
            ExprKind::Struct(ref f) if field(f, "pid").is_some() => OptVal::Len(len),
            _ => match pair(a(3)?)? {
                Some(p) => OptVal::Pair(p),
                None if len == 4 => OptVal::Int(int_of(a(3)?)?),
                None => OptVal::Len(len),
            },
        };
        return Ok(Op::Getsockopt(fd, level, name, value));
    }
    let value = a(3)?;
    if let Some(m) = mreq(value, resolve::len(a(4)?)?)? {
        return Ok(Op::Setsockopt(fd, level, name, OptVal::Mreq(m)));
    }
    if let Some(p) = pair(value)? {
        return Ok(Op::Setsockopt(fd, level, name, OptVal::Pair(p)));
    }
    let optlen = resolve::len(a(4)?)?;
    match &value.kind {
        ExprKind::Array(_) | ExprKind::Int(_) | ExprKind::Name(_) if optlen.unwrap_or(4) == 4 => {
            let v = val_of(value, None)?;
            Ok(Op::Setsockopt(fd, level, name, OptVal::Int(Some(v))))
        }
        // An int of another length (`[0], 1`): the bytes the script sends.
        ExprKind::Array(_) | ExprKind::Int(_) | ExprKind::Name(_) => {
            let mut b = (val_of(value, None)?.value as i32).to_ne_bytes().to_vec();
            b.resize(optlen.unwrap_or(4), 0);
            Ok(Op::Setsockopt(fd, level, name, OptVal::Bytes(b)))
        }
        ExprKind::Str { bytes, .. } => {
            let mut b = bytes.clone();
            if let Some(n) = optlen {
                b.resize(n, 0);
            }
            Ok(Op::Setsockopt(fd, level, name, OptVal::Bytes(b)))
        }
        _ => Err("this option value is not emitted yet (an int or a string is)".into()),
    }
}

/// An ip_mreq written as strace prints it (8 bytes, or an ip_mreqn's 12).
fn mreq(e: &Expr, optlen: Option<usize>) -> Result<Option<super::model::Mreq>, Why> {
    let ExprKind::Struct(f) = &e.kind else {
        return Ok(None);
    };
    let Some(group) = field(f, "imr_multiaddr") else {
        return Ok(None);
    };
    let ip = |e: Option<&Expr>| {
        e.and_then(|e| resolve::func_str(e, "inet_addr"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .ok_or_else(|| "an ip_mreq's addresses are inet_addr(\"A\")".to_string())
    };
    let len = optlen.unwrap_or(8);
    if len != 8 && len != 12 {
        return Err("an ip_mreq is 8 bytes, an ip_mreqn 12".into());
    }
    Ok(Some(super::model::Mreq {
        group: ip(Some(group))?,
        iface: ip(field(f, "imr_interface"))?,
        len,
    }))
}

/// A linger or timeval written as a struct.
fn pair(e: &Expr) -> Result<Option<Pair>, Why> {
    let ExprKind::Struct(f) = &e.kind else {
        return Ok(None);
    };
    let num = |name: &str| field(f, name).map_or(Ok(0), |e| resolve::int(e, None));
    if field(f, "l_onoff").is_some() {
        return Ok(Some(Pair {
            linger: true,
            a: num("l_onoff")?,
            b: num("l_linger")?,
        }));
    }
    if field(f, "tv_sec").is_some() {
        return Ok(Some(Pair {
            linger: false,
            a: num("tv_sec")?,
            b: num("tv_usec")?,
        }));
    }
    Err("an option struct is a linger or a timeval".into())
}

fn msg(step: &Step) -> Result<Op, Why> {
    let a = |i: usize| arg(step, i);
    let fd = fd(a(0)?)?;
    let m = fields_of(a(1)?);
    let flags = val_of(a(2)?, Some(Group::Msg))?;
    if let Some(name) = field(m, "msg_name")
        && !matches!(name.kind, ExprKind::Null | ExprKind::Dots)
    {
        return Err("a msg_name is not emitted yet".into());
    }
    let mut iov = Vec::new();
    let mut sizes = Vec::new();
    let mut shown = Vec::new();
    let mut all_shown = true;
    for i in items_of(field(m, "msg_iov")) {
        let f = fields_of(i);
        let n = field(f, "iov_len").map(resolve::len).transpose()?.flatten();
        match field(f, "iov_base") {
            Some(b) if matches!(b.kind, ExprKind::Str { .. }) => {
                let data = resolve::bytes(b, n)?;
                sizes.push(n.unwrap_or(data.len()));
                if let Some((bytes, _)) = data_of(b) {
                    shown.extend(bytes);
                }
                iov.push(data);
            }
            _ => {
                all_shown = false;
                sizes.push(n.unwrap_or(0));
                iov.push(Vec::new());
            }
        }
    }
    let mut rights = Vec::new();
    for c in items_of(field(m, "msg_control")) {
        let f = fields_of(c);
        match field(f, "cmsg_type").map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n == "SCM_RIGHTS" => {
                rights.extend(fds_out(field(f, "cmsg_data"))?)
            }
            // Received (IP_PKTINFO, IP_TOS, IPV6_TCLASS...): the kernel's
            // to give; the trace shows them, the program takes them.
            _ if step.row.name == "recvmsg" => {}
            _ => return Err("only SCM_RIGHTS ancillary data is emitted".into()),
        }
    }
    if step.row.name == "sendmsg" {
        return Ok(Op::Sendmsg(fd, iov, rights, flags));
    }
    let controllen = field(m, "msg_controllen")
        .map(resolve::len)
        .transpose()?
        .flatten()
        .unwrap_or(0);
    let want = all_shown.then_some(shown);
    Ok(Op::Recvmsg(fd, sizes, controllen, flags, want, rights))
}

/// The model of one step, or why it cannot be emitted.
pub fn model(step: &Step) -> Result<Model, Why> {
    let want = match step.result.as_ref().map(|r| &r.value) {
        Some(Outcome::Value(_)) if returns_fd(step.row) => Want::Fd,
        // A pid (the row's `Ret::Pid`): this run's own, a label the
        // call's own code checks (a fork's, wait4's, getpid's, gettid's).
        Some(Outcome::Value(_)) if step.row.ret == Ret::Pid => Want::Nothing,
        Some(Outcome::Value(n)) => Want::Value(*n),
        Some(Outcome::Errno(e)) => Want::Errno(e.clone()),
        _ => Want::Nothing,
    };
    let bind = match (&step.bind, step.result.as_ref().map(|r| &r.value)) {
        (Some(n), _) if returns_fd(step.row) || step.row.name == "socketpair" => {
            Some(Fd::Name(n.clone()))
        }
        (None, Some(Outcome::Value(n))) if returns_fd(step.row) => Some(Fd::Label(*n)),
        _ => None,
    };
    let op = op(step)?;
    Ok(Model {
        line: step.no,
        op,
        bind,
        want,
    })
}
