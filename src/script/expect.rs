//! Expectations (issue 14, rule 2): a line's `= RESULT` and the output
//! arguments it writes, checked against the call this run made. The real
//! call's rendered arguments are parsed back (`parse::parse_args`) and
//! unified with the written ones: `...` matches anything, a label binds
//! the first time and compares after, a string compares its bytes (a cut
//! string `"..."...` its first bytes).

use std::os::fd::RawFd;

use nix::errno::Errno;

use super::ast::{Expr, ExprKind, Field, Outcome};
use super::check::{Step, returns_fd};
use super::labels::{Labels, Unified};
use super::parse;
use super::resolve;
use crate::strace::quote;
use crate::values::addr::Addr;
use crate::values::calls::{Dir, Kind, Ret};
use crate::values::quoting::octal_mode;
use crate::values::xlat;

/// An expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// What was compared: `result`, `argument 2 (buf)`.
    pub what: String,
    pub expected: String,
    pub got: String,
}

/// The result as strace prints it after `= `.
pub fn ret_text(ret: &Result<i64, Errno>) -> String {
    match ret {
        Ok(v) => v.to_string(),
        Err(e) => format!("-1 {}", crate::strace::errno_text(*e)),
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Value(v) => v.to_string(),
        Outcome::Errno(e) => format!("-1 {e}"),
        Outcome::Unknown(None) => "?".into(),
        Outcome::Unknown(Some(e)) => format!("? {e}"),
        Outcome::Any => "...".into(),
    }
}

/// Check a returned call against its line: the result, then each output
/// argument (`args`: the real call's arguments as rendered; `out`: the
/// bytes it received, compared in full where the line writes them).
pub fn check(
    step: &Step,
    ret: &Result<i64, Errno>,
    args: &str,
    note: &str,
    out: &[u8],
    labels: &mut Labels,
) -> Result<(), Mismatch> {
    if let Some(exp) = &step.result {
        let holds = match (&exp.value, ret) {
            // strace's `= ? ERESTARTSYS` of a call that returned: a
            // handler interrupted it, and it returned -1 EINTR.
            (Outcome::Unknown(Some(c)), r) if c.starts_with("ERESTART") => *r == Err(Errno::EINTR),
            (Outcome::Any | Outcome::Unknown(_), _) => true,
            (Outcome::Value(n), Ok(v)) if returns_fd(step.row) => {
                !matches!(labels.result_fd(*n, *v as RawFd), Unified::Differs(..))
            }
            (Outcome::Value(n), Ok(v)) if step.row.ret == Ret::Pid => labels.result_pid(*n, *v),
            (Outcome::Value(n), Ok(v)) => n == v,
            (Outcome::Errno(name), Err(e)) => xlat::errno(name) == Some(*e),
            _ => false,
        };
        if !holds {
            // A mode (umask's old mask) in octal, as strace prints it.
            let (expected, got) = match (&exp.value, ret) {
                (Outcome::Value(n), Ok(v)) if matches!(step.row.ret, Ret::Mode) => {
                    (octal_mode(*n as u32), octal_mode(*v as u32))
                }
                _ => (outcome_text(&exp.value), ret_text(ret)),
            };
            return Err(Mismatch {
                what: "result".into(),
                expected: format!("= {expected}"),
                got: format!("= {got}"),
            });
        }
    }
    note_holds(step, note, labels)?;
    let real = parse::parse_args(args).unwrap_or_default();
    // A port it shows belongs to accept4's new socket, else the fd's.
    let holder = match (step.row.name, ret) {
        ("accept" | "accept4", Ok(fd)) => Some(*fd as RawFd),
        _ => real.first().and_then(|e| match e.kind {
            ExprKind::Int(n) => RawFd::try_from(n).ok(),
            _ => None,
        }),
    };
    labels.checking_fd(holder);
    for (i, (arg, exp)) in step.row.args.iter().zip(&step.args).enumerate() {
        // getrandom's bytes are random: never an expectation.
        if arg.dir == Dir::In || step.row.name == "getrandom" {
            continue;
        }
        let what = || format!("argument {} ({})", i + 1, arg.name);
        if arg.kind == Kind::Buffer
            && let ExprKind::Str { bytes, cut } = &exp.kind
        {
            let holds = if *cut {
                out.starts_with(bytes)
            } else {
                out == bytes.as_slice()
            };
            if !holds {
                return Err(Mismatch {
                    what: what(),
                    expected: show(exp),
                    got: quote(out, usize::MAX),
                });
            }
            continue;
        }
        let Some(got) = real.get(i) else { continue };
        // A timeval written as a struct, where strace prints the bytes
        // (SO_RCVTIMEO_OLD): compared as the bytes it stands for.
        if arg.kind == Kind::Buffer
            && matches!(
                (&exp.kind, &got.kind),
                (ExprKind::Struct(_), ExprKind::Str { .. })
            )
        {
            let want = super::request::option_value(exp, Some(out.len())).unwrap_or_default();
            if want != out {
                return Err(Mismatch {
                    what: what(),
                    expected: show(exp),
                    got: quote(out, usize::MAX),
                });
            }
            continue;
        }
        // A buffer or struct the call did not fill in shows as a pointer:
        // its address differs from run to run.
        let pointer = matches!(arg.kind, Kind::Buffer | Kind::Sockaddr | Kind::Pointer);
        if pointer && matches!((&exp.kind, &got.kind), (ExprKind::Int(_), ExprKind::Int(_))) {
            continue;
        }
        let ctx = if arg.kind == Kind::FdPair {
            Ctx::Fd
        } else {
            Ctx::Plain
        };
        if !unify(exp, got, ctx, labels) {
            return Err(Mismatch {
                what: what(),
                expected: show(exp),
                got: show(got),
            });
        }
    }
    Ok(())
}

/// What strace shows after the result and the line writes there as an
/// array (poll's `([{fd=3, revents=POLLIN}])`) is compared too.
fn note_holds(step: &Step, note: &str, labels: &mut Labels) -> Result<(), Mismatch> {
    let Some(written) = step.result.as_ref().and_then(|r| r.note.as_deref()) else {
        return Ok(());
    };
    if !written.trim_start().starts_with('[') {
        return Ok(());
    }
    let got = note.trim().trim_start_matches('(').trim_end_matches(')');
    let first = |t: &str| parse::parse_args(t).ok().and_then(|v| v.into_iter().next());
    let (Some(exp), Some(real)) = (first(written), first(got)) else {
        return Ok(());
    };
    if unify(&exp, &real, Ctx::Plain, labels) {
        return Ok(());
    }
    Err(Mismatch {
        what: "result".into(),
        expected: format!("({})", show(&exp)),
        got: format!("({})", show(&real)),
    })
}

/// Whether an integer is an fd (a label) or a plain number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Plain,
    Fd,
    /// A credential's pid (SO_PEERCRED, SCM_CREDENTIALS): a label, as
    /// clone's result is (the peer's process differs from run to run).
    Pid,
}

fn unify(exp: &Expr, got: &Expr, ctx: Ctx, labels: &mut Labels) -> bool {
    use ExprKind as K;
    match (&exp.kind, &got.kind) {
        (K::Dots, _) => true,
        (K::Addr(text), _) => match short_as_struct(text) {
            Some(e) => unify(&e, got, ctx, labels),
            None => false,
        },
        (K::InOut(_, b), K::InOut(_, d)) => unify(b, d, ctx, labels),
        (K::InOut(_, b), _) => unify(b, got, ctx, labels),
        (_, K::InOut(_, d)) => unify(exp, d, ctx, labels),
        (K::Array(a), K::Array(b)) => {
            let dots = a.last().is_some_and(|e| matches!(e.kind, K::Dots));
            let want = if dots { a.len() - 1 } else { a.len() };
            if (!dots && a.len() != b.len()) || b.len() < want {
                return false;
            }
            a.iter()
                .take(want)
                .zip(b)
                .all(|(x, y)| unify(x, y, ctx, labels))
        }
        (K::Struct(a), K::Struct(b)) => fields(a, b, labels),
        (K::Func(f, a), K::Func(g, b)) if f == g => func(f, a, b, labels),
        (
            K::Str { bytes: a, cut },
            K::Str {
                bytes: b,
                cut: bcut,
            },
        ) => {
            if *cut {
                b.starts_with(a) || (*bcut && a.starts_with(b))
            } else if *bcut {
                a.starts_with(b)
            } else {
                a == b
            }
        }
        (K::Int(n), K::Int(m)) if ctx == Ctx::Fd => {
            !matches!(labels.result_fd(*n, *m as RawFd), Unified::Differs(..))
        }
        (K::Int(n), K::Int(m)) if ctx == Ctx::Pid => labels.result_pid(*n, *m),
        (K::Name(n), K::Int(m)) if labels.name(n).is_some() => labels.name(n) == Some(*m as RawFd),
        (K::Index(n, i), K::Int(m)) => labels.pair(n, *i) == Some(*m as RawFd),
        (K::Null, K::Null) => true,
        (K::Ref(a), K::Ref(b)) => a == b,
        (K::Int(_) | K::Name(_) | K::Flags(_), K::Int(_) | K::Name(_) | K::Flags(_)) => {
            show(exp) == show(got)
                || matches!(
                    (resolve::int(exp, None), resolve::int(got, None)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        _ => false,
    }
}

/// A short address as the struct strace prints for it.
fn short_as_struct(text: &str) -> Option<Expr> {
    let addr = if text.starts_with('/') || text.starts_with('@') {
        Addr::parse_unix(text).ok()?
    } else {
        Addr::parse_inet(text).ok()?
    };
    parse::parse_args(&addr.strace()).ok()?.into_iter().next()
}

/// Every field the line writes is in the real struct with a value that
/// unifies (named fields by name, bare ones in order); fields the line
/// leaves out are not compared.
fn fields(exp: &[Field], got: &[Field], labels: &mut Labels) -> bool {
    let mut bare = got.iter().filter(|f| f.name.is_none());
    for f in exp {
        if matches!(f.value.kind, ExprKind::Dots) {
            continue;
        }
        let other = match &f.name {
            Some(n) => got.iter().find(|g| g.name.as_deref() == Some(n.as_str())),
            None => bare.next(),
        };
        let Some(other) = other else { return false };
        let ctx = match f.name.as_deref() {
            Some("fd") => Ctx::Fd,
            // epoll's data: a number an epoll_ctl line passed as its fd's
            // label is that label, any other a plain number (epoll_data.rs).
            Some("u32" | "u64") => match f.value.kind {
                ExprKind::Int(n) if !labels.is_epoll_data_fd(n) => Ctx::Plain,
                _ => Ctx::Fd,
            },
            // SCM_RIGHTS' data: fds (the real cmsg names its type).
            Some("cmsg_data") if super::cmsgs::data_is_fds(got) => Ctx::Fd,
            // clone3's `=> {parent_tid=[N]}`: the new thread's id.
            Some("pid" | "parent_tid") => Ctx::Pid,
            _ => Ctx::Plain,
        };
        if !unify(&f.value, &other.value, ctx, labels) {
            return false;
        }
    }
    true
}

/// `htons(N)`: a port label; `@"name"`: an abstract-name label.
fn func(f: &str, a: &[Expr], b: &[Expr], labels: &mut Labels) -> bool {
    match (f, a.first().map(|e| &e.kind), b.first().map(|e| &e.kind)) {
        ("htons", Some(ExprKind::Int(n)), Some(ExprKind::Int(m))) => {
            match (u16::try_from(*n), u16::try_from(*m)) {
                (Ok(n), Ok(m)) => labels.port_out(n, m),
                _ => false,
            }
        }
        ("@", Some(ExprKind::Str { bytes: x, .. }), Some(ExprKind::Str { bytes: y, .. })) => {
            labels.abstract_out(x, y)
        }
        _ => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| unify(x, y, Ctx::Plain, labels))
        }
    }
}

/// An expression in strace's syntax (for messages).
pub fn show(e: &Expr) -> String {
    let list = |items: &[Expr]| items.iter().map(show).collect::<Vec<_>>().join(", ");
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Flags(parts) => parts.iter().map(show).collect::<Vec<_>>().join("|"),
        ExprKind::Str { bytes, cut } => {
            format!(
                "{}{}",
                quote(bytes, usize::MAX),
                if *cut { "..." } else { "" }
            )
        }
        ExprKind::Null => "NULL".into(),
        ExprKind::Dots => "...".into(),
        ExprKind::Struct(fields) => {
            let f: Vec<String> = fields
                .iter()
                .map(|f| match &f.name {
                    Some(n) => format!("{n}={}", show(&f.value)),
                    None => show(&f.value),
                })
                .collect();
            format!("{{{}}}", f.join(", "))
        }
        ExprKind::Array(items) => format!("[{}]", list(items)),
        ExprKind::InOut(a, b) => format!("{} => {}", show(a), show(b)),
        ExprKind::Func(f, args) if f == "@" => format!("@{}", list(args)),
        ExprKind::Func(f, args) => format!("{f}({})", list(args)),
        ExprKind::Ref(r) => format!("&{r}"),
        ExprKind::Addr(a) => a.clone(),
        ExprKind::Index(n, i) => format!("{n}[{i}]"),
        ExprKind::Opt(level, n) => format!("{}:{n}", show(level)),
    }
}
