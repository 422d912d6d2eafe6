//! The steps the emitters write for AF_UNIX and the file calls (issue 17,
//! round 18): AF_UNIX addresses (a path, an abstract `@name`, unnamed:
//! autobind), sendmsg's and recvmsg's msg_name (AF_UNIX or inet),
//! SCM_CREDENTIALS, the file calls a script makes (openat, getrandom,
//! mkdirat, newfstatat, fchmod, fchmodat, unlinkat, unlink, umask) and a process
//! actor's credentials (setgroups, setgid, setuid), as a [`UnixOp`].
//! `c_unix.rs` and `python_unix.rs` write them.

use super::super::ast::{Expr, ExprKind};
use super::super::check::Step;
use super::super::resolve::{self, Why};
use super::model::{Dir, Fd, From, Name, Op, UnixOp, fd, val_of};
use super::written::sun;
use crate::values::xlat::Group;

fn arg(step: &Step, i: usize) -> Result<&Expr, Why> {
    step.args
        .get(i)
        .ok_or_else(|| format!("{} lacks argument {}", step.row.name, i + 1))
}

/// A path: a whole string with no NUL byte.
fn path(e: &Expr) -> Result<Vec<u8>, Why> {
    match &e.kind {
        ExprKind::Str { bytes, cut: false } if !bytes.contains(&0) => Ok(bytes.clone()),
        _ => Err("a path is a whole string: \"/tmp/dir\"".into()),
    }
}

fn dir(e: &Expr) -> Result<Dir, Why> {
    match &e.kind {
        ExprKind::Name(n) if n == "AT_FDCWD" => Ok(Dir::Cwd),
        _ => fd(e).map(Dir::Fd),
    }
}

fn mode(e: Option<&Expr>) -> Result<u32, Why> {
    match e.map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => Ok(0),
        Some(_) => e
            .map_or(Ok(0), |e| resolve::int(e, None))
            .and_then(|n| u32::try_from(n).map_err(|_| "a mode is 0 to 07777".to_string())),
    }
}

fn id(e: &Expr) -> Result<u32, Why> {
    u32::try_from(resolve::int(e, None)?).map_err(|_| "an id is 0 to 4294967295".to_string())
}

/// The step's op if it is this module's (None: ops.rs writes it).
pub fn op(step: &Step) -> Result<Option<Op>, Why> {
    let a = |i: usize| arg(step, i);
    let u = match step.row.name {
        "bind" | "connect" => match sun(a(1)?)? {
            Some(s) if step.row.name == "bind" => UnixOp::Bind(fd(a(0)?)?, s),
            Some(s) => UnixOp::Connect(fd(a(0)?)?, s),
            None => return Ok(None),
        },
        "sendto" => match sun(a(4)?)? {
            Some(s) => UnixOp::Sendto(
                fd(a(0)?)?,
                resolve::bytes(a(1)?, resolve::len(a(2)?)?)?,
                val_of(a(3)?, Some(Group::Msg))?,
                s,
            ),
            None => return Ok(None),
        },
        "sendmsg" | "recvmsg" => return super::unix_msg::msg(step),
        "openat" => UnixOp::Openat(
            dir(a(0)?)?,
            path(a(1)?)?,
            val_of(a(2)?, Some(Group::OFlags))?,
            mode(step.args.get(3))?,
        ),
        "getrandom" => UnixOp::Getrandom(
            resolve::len(a(1)?)?.ok_or("getrandom needs its buflen: getrandom(..., 16, 0)")?,
            val_of(a(2)?, None)?,
        ),
        "mkdirat" => UnixOp::Mkdirat(dir(a(0)?)?, path(a(1)?)?, mode(Some(a(2)?))?),
        "newfstatat" => UnixOp::Newfstatat(dir(a(0)?)?, path(a(1)?)?),
        "fchmod" => UnixOp::Fchmod(fd(a(0)?)?, mode(Some(a(1)?))?),
        "fchmodat" => UnixOp::Fchmodat(dir(a(0)?)?, path(a(1)?)?, mode(Some(a(2)?))?),
        "unlinkat" => UnixOp::Unlinkat(dir(a(0)?)?, path(a(1)?)?, val_of(a(2)?, None)?),
        "unlink" => UnixOp::Unlink(path(a(0)?)?),
        "setgroups" => UnixOp::Setgroups(match &a(1)?.kind {
            ExprKind::Null => Vec::new(),
            ExprKind::Array(items) => items.iter().map(id).collect::<Result<_, _>>()?,
            _ => return Err("setgroups(0, NULL) or setgroups(N, [GID, ...])".into()),
        }),
        "setgid" => UnixOp::Setgid(id(a(0)?)?),
        "setuid" => UnixOp::Setuid(id(a(0)?)?),
        "umask" => UnixOp::Umask(mode(Some(a(0)?))?),
        _ => return Ok(None),
    };
    Ok(Some(Op::Unix(u)))
}

/// What the plan needs of a [`UnixOp`].
pub trait Uses {
    fn inputs(&self) -> Vec<Fd>;
    fn outputs(&self) -> Vec<Fd>;
    fn ports(&self) -> Vec<u16>;
}

impl Uses for UnixOp {
    /// The fds the call uses.
    fn inputs(&self) -> Vec<Fd> {
        let dir = |d: &Dir| match d {
            Dir::Fd(f) => vec![f.clone()],
            Dir::Cwd => Vec::new(),
        };
        match self {
            UnixOp::Bind(f, _)
            | UnixOp::Connect(f, _)
            | UnixOp::Sendto(f, ..)
            | UnixOp::Fchmod(f, _)
            | UnixOp::Recvmsg { fd: f, .. } => vec![f.clone()],
            UnixOp::Sendmsg { fd, control, .. } => {
                let mut fds = vec![fd.clone()];
                for c in control {
                    if let super::model::Ctl::Rights(r) = c {
                        fds.extend(r.iter().cloned());
                    }
                }
                fds
            }
            UnixOp::Openat(d, ..)
            | UnixOp::Mkdirat(d, ..)
            | UnixOp::Newfstatat(d, _)
            | UnixOp::Fchmodat(d, ..)
            | UnixOp::Unlinkat(d, ..) => dir(d),
            _ => Vec::new(),
        }
    }

    /// The fds its result opens besides the returned one (SCM_RIGHTS).
    fn outputs(&self) -> Vec<Fd> {
        match self {
            UnixOp::Recvmsg { rights, .. } => rights.clone(),
            _ => Vec::new(),
        }
    }

    /// The port labels an inet msg_name writes.
    fn ports(&self) -> Vec<u16> {
        match self {
            UnixOp::Sendmsg {
                to: Some(Name::Inet(i)),
                ..
            }
            | UnixOp::Recvmsg {
                from: From::Is(Name::Inet(i)),
                ..
            } if i.port != 0 => vec![i.port],
            _ => Vec::new(),
        }
    }
}
