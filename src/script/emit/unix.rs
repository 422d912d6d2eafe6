//! The steps the emitters write for AF_UNIX and the file calls (issue 17,
//! round 18): AF_UNIX addresses (a path, an abstract `@name`, unnamed:
//! autobind), sendmsg's and recvmsg's msg_name (AF_UNIX or inet),
//! SCM_CREDENTIALS, the file calls a script makes (openat, getrandom,
//! mkdirat, newfstatat, fchmod, fchmodat, unlinkat, unlink) and a process
//! actor's credentials (setgroups, setgid, setuid), as a [`UnixOp`].
//! `c_unix.rs` and `python_unix.rs` write them.

use super::super::ast::{Expr, ExprKind};
use super::super::check::Step;
use super::super::resolve::{self, Why};
use super::model::{Fd, Inet, Op, Val, data_of, fd, field, fields_of, inet, items_of, val_of};
use crate::values::xlat::Group;

/// An AF_UNIX address as written: a path, an abstract name (a label, as
/// socklab's: bound by the first result that shows it), or unnamed.
#[derive(Debug, Clone, PartialEq)]
pub enum Sun {
    Path(Vec<u8>),
    Abstract(Vec<u8>),
    Unnamed,
}

/// A msghdr's msg_name.
#[derive(Debug, Clone, PartialEq)]
pub enum Name {
    Unix(Sun),
    Inet(Inet),
}

/// SCM_CREDENTIALS' fields as written (None: `...`, the sender's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Cred {
    pub pid: Option<i64>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
}

/// A file call's directory: AT_FDCWD or an fd.
#[derive(Debug, Clone, PartialEq)]
pub enum Dir {
    Cwd,
    Fd(Fd),
}

/// A received message's address: none asked (NULL), asked, or checked.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    Null,
    Any,
    Is(Name),
}

/// The calls of this module, their arguments resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum UnixOp {
    Bind(Fd, Sun),
    Connect(Fd, Sun),
    Sendto(Fd, Vec<u8>, Val, Sun),
    Sendmsg {
        fd: Fd,
        iov: Vec<Vec<u8>>,
        to: Option<Name>,
        rights: Vec<Fd>,
        cred: Option<Cred>,
        flags: Val,
    },
    Recvmsg {
        fd: Fd,
        sizes: Vec<usize>,
        from: From,
        controllen: usize,
        flags: Val,
        want: Option<Vec<u8>>,
        rights: Vec<Fd>,
        cred: Option<Cred>,
    },
    Openat(Dir, Vec<u8>, Val, u32),
    Getrandom(usize, Val),
    Mkdirat(Dir, Vec<u8>, u32),
    Newfstatat(Dir, Vec<u8>),
    Fchmod(Fd, u32),
    Fchmodat(Dir, Vec<u8>, u32),
    Unlinkat(Dir, Vec<u8>, Val),
    Unlink(Vec<u8>),
    Setgroups(Vec<u32>),
    Setgid(u32),
    Setuid(u32),
}

impl UnixOp {
    /// The fds the call uses.
    pub fn inputs(&self) -> Vec<Fd> {
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
            UnixOp::Sendmsg { fd, rights, .. } => {
                std::iter::once(fd).chain(rights).cloned().collect()
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
    pub fn outputs(&self) -> Vec<Fd> {
        match self {
            UnixOp::Recvmsg { rights, .. } => rights.clone(),
            _ => Vec::new(),
        }
    }

    /// The port labels an inet msg_name writes.
    pub fn ports(&self) -> Vec<u16> {
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

/// An AF_UNIX address, if `e` is one.
pub fn sun(e: &Expr) -> Result<Option<Sun>, Why> {
    match &e.kind {
        ExprKind::Addr(text) if text.starts_with('/') => {
            Ok(Some(Sun::Path(text.as_bytes().to_vec())))
        }
        ExprKind::Addr(text) => Ok(text
            .strip_prefix('@')
            .map(|n| Sun::Abstract(n.as_bytes().to_vec()))),
        ExprKind::Struct(f) => match field(f, "sa_family").map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n == "AF_UNIX" => {
                Ok(Some(match field(f, "sun_path").map(|e| &e.kind) {
                    None => Sun::Unnamed,
                    Some(ExprKind::Str { bytes, .. }) => Sun::Path(bytes.clone()),
                    Some(ExprKind::Func(at, args)) if at == "@" => {
                        match args.first().map(|a| &a.kind) {
                            Some(ExprKind::Str { bytes, .. }) => Sun::Abstract(bytes.clone()),
                            _ => return Err("sun_path=@\"NAME\"".into()),
                        }
                    }
                    _ => return Err("sun_path is a string".into()),
                }))
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

fn name_of(e: &Expr) -> Result<Name, Why> {
    match sun(e)? {
        Some(s) => Ok(Name::Unix(s)),
        None => inet(e).map(Name::Inet),
    }
}

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
        _ => return Ok(None),
    };
    Ok(Some(Op::Unix(u)))
}

/// SCM_CREDENTIALS' `{pid=..., uid=0, gid=0}`.
pub(super) fn cred(data: Option<&Expr>) -> Result<Cred, Why> {
    let f = data.map(fields_of).unwrap_or(&[]);
    let num = |n: &str| match field(f, n) {
        None => Ok(None),
        Some(e) if matches!(e.kind, ExprKind::Dots) => Ok(None),
        Some(e) => resolve::int(e, None).map(Some),
    };
    Ok(Cred {
        pid: num("pid")?,
        uid: num("uid")?,
        gid: num("gid")?,
    })
}

/// A msg_name as written (None: NULL or absent; `...`: asked).
pub(super) fn msg_name(e: Option<&Expr>) -> Result<From, Why> {
    match e.map(|e| &e.kind) {
        None | Some(ExprKind::Null) => Ok(From::Null),
        Some(ExprKind::Dots) => Ok(From::Any),
        Some(_) => e.map_or(Ok(From::Null), |e| name_of(e).map(From::Is)),
    }
}

/// The received bytes, if every iovec shows them.
pub(super) fn shown(iovs: &[Expr]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for i in iovs {
        let (bytes, _) = data_of(field(fields_of(i), "iov_base")?)?;
        out.extend(bytes);
    }
    Some(out)
}

pub(super) fn items<'a>(e: Option<&'a Expr>) -> &'a [Expr] {
    items_of(e)
}
