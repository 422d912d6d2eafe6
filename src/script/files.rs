//! A script's file calls and credentials, from a checked step to its
//! request: openat, getrandom, mkdirat, newfstatat, fchmod, fchmodat,
//! unlinkat, unlink, umask (the user's own: they run what they write), and
//! setgroups, setgid, setuid (a process actor's only: forks.rs refuses
//! them in a thread actor).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::ast::{Expr, ExprKind};
use super::call::Req;
use super::check::Step;
use super::labels::Labels;
use super::resolve::{Why, fd, int, len};
use crate::values::xlat::Group;

/// The argument at `i` (the check made sure there is one; `...` if not).
fn arg(step: &Step, i: usize) -> &Expr {
    static DOTS: Expr = Expr {
        span: super::ast::Span { line: 0, col: 0 },
        kind: ExprKind::Dots,
    };
    step.args.get(i).unwrap_or(&DOTS)
}

fn i32_of(e: &Expr, group: Option<Group>) -> Result<i32, Why> {
    let n = int(e, group)?;
    i32::try_from(n).map_err(|_| format!("{n} does not fit in an int"))
}

/// A dirfd: `AT_FDCWD` or an fd (a number through its label, a name).
fn dirfd(e: &Expr, labels: &Labels) -> Result<i32, Why> {
    match &e.kind {
        ExprKind::Name(n) if n == "AT_FDCWD" => Ok(libc::AT_FDCWD),
        _ => fd(e, labels),
    }
}

/// A path: a string, as written (no NUL byte).
fn path(e: &Expr) -> Result<PathBuf, Why> {
    match &e.kind {
        ExprKind::Str { bytes, cut: false } if !bytes.contains(&0) => {
            Ok(PathBuf::from(OsStr::from_bytes(bytes)))
        }
        ExprKind::Str { cut: true, .. } => {
            Err("a path cut short (\"...\"...) cannot be used: write it whole".into())
        }
        _ => Err("a path is a string: \"/tmp/dir\"".into()),
    }
}

/// A mode: a number (octal as written, `0700`), `...` for 0.
fn mode(e: &Expr) -> Result<u32, Why> {
    match e.kind {
        ExprKind::Dots => Ok(0),
        _ => u32::try_from(int(e, None)?).map_err(|_| "a mode is 0 to 07777".to_string()),
    }
}

fn id(e: &Expr) -> Result<u32, Why> {
    u32::try_from(int(e, None)?).map_err(|_| "an id is 0 to 4294967295".to_string())
}

/// The request of a file call or a credential.
pub fn request(step: &Step, labels: &Labels) -> Result<Req, Why> {
    let a = |i: usize| arg(step, i);
    Ok(match step.row.name {
        "openat" => Req::Openat(
            dirfd(a(0), labels)?,
            path(a(1))?,
            i32_of(a(2), Some(Group::OFlags))?,
            mode(a(3))?,
        ),
        "getrandom" => {
            let n = match len(a(1))? {
                Some(n) => n,
                None => return Err("getrandom needs its buflen: getrandom(..., 16, 0)".into()),
            };
            if n > 65536 {
                return Err(format!(
                    "getrandom's buflen {n}: a script asks for at most 65536"
                ));
            }
            Req::Getrandom(n, id(a(2))?)
        }
        "mkdirat" => Req::Mkdirat(dirfd(a(0), labels)?, path(a(1))?, mode(a(2))?),
        "newfstatat" => {
            if int(a(3), None)? != i64::from(libc::AT_SYMLINK_NOFOLLOW) {
                return Err(
                    "a script's newfstatat takes AT_SYMLINK_NOFOLLOW (socklab never follows a link)"
                        .into(),
                );
            }
            Req::Newfstatat(dirfd(a(0), labels)?, path(a(1))?)
        }
        "fchmod" => Req::Fchmod(fd(a(0), labels)?, mode(a(1))?),
        "fchmodat" => Req::Fchmodat(dirfd(a(0), labels)?, path(a(1))?, mode(a(2))?),
        "unlinkat" => Req::Unlinkat(dirfd(a(0), labels)?, path(a(1))?, i32_of(a(2), None)?),
        "unlink" => Req::UnlinkPath(path(a(0))?),
        "setgroups" => {
            let groups = match &a(1).kind {
                ExprKind::Null => Vec::new(),
                ExprKind::Array(items) => items.iter().map(id).collect::<Result<_, _>>()?,
                _ => return Err("setgroups(0, NULL) or setgroups(N, [GID, ...])".into()),
            };
            if int(a(0), None)? != groups.len() as i64 {
                return Err(format!(
                    "setgroups' size is the list's length, {}",
                    groups.len()
                ));
            }
            Req::Setgroups(groups)
        }
        "umask" => Req::Umask(mode(a(0))?),
        "setgid" => Req::Setgid(id(a(0))?),
        "setuid" => Req::Setuid(id(a(0))?),
        "getpid" => Req::Getpid(false),
        "getppid" => Req::Getpid(true),
        "prlimit64" => {
            if int(a(0), None)? != 0
                || !matches!(&a(1).kind, ExprKind::Name(n) if n == "RLIMIT_NOFILE")
            {
                return Err("a script's prlimit64 is prlimit64(0, RLIMIT_NOFILE, ...)".into());
            }
            let new = match &a(2).kind {
                ExprKind::Struct(f) => {
                    let num = |n: &str| {
                        f.iter()
                            .find(|x| x.name.as_deref() == Some(n))
                            .map_or(Err(format!("the new limit needs its {n}")), |x| {
                                int(&x.value, None)
                            })
                    };
                    Some((num("rlim_cur")? as u64, num("rlim_max")? as u64))
                }
                _ => None,
            };
            Req::PrlimitNofile(new)
        }
        other => match super::procs::request(step)? {
            Some(req) => req,
            None => return Err(format!("{other} cannot be scripted")),
        },
    })
}
