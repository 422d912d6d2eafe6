//! epoll_ctl's event data as a line writes it (issue 14 rule 4: the
//! call is made with what the line asks for). strace 6.1 prints it as
//! `data={u32=LOW, u64=ALL}` (u32: the low 32 bits of the u64).
//!
//! - No `data`, `data=...` or `{u32=..., u64=...}`: the natural value,
//!   the fd the line adds (as socklab's programs and `select.epoll`
//!   set it).
//! - A number equal to the fd the same line adds (`epoll_ctl(8,
//!   EPOLL_CTL_ADD, 3, {..., data={u32=3, u64=3}})`, every record of
//!   socklab's programs) or a name (`data={u32=s, u64=s}`): that fd's
//!   label, so a record replays when the fd is renumbered.
//! - Any other number: passed as written (`data={u32=7, u64=7}`).
//!
//! epoll_wait's `data=` is then compared as written: a number some
//! earlier epoll_ctl line wrote as its fd's label is that label
//! ([`super::labels::Labels::epoll_data_fd`]), any other a plain number.

use super::ast::{Expr, ExprKind, Field, Span};
use super::resolve::Why;

/// What epoll_ctl's data stands for; `F` names an fd (the line's
/// expression here, a variable in the emitted twins).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Data<F> {
    /// An fd (a written fd label, a name, `p[i]`): this run's number for it.
    Fd(F),
    /// A plain number, passed as written.
    Num(u64),
}

impl Data<&Expr> {
    /// The written number that stands for an fd label (see the module doc).
    pub fn fd_label(&self) -> Option<i64> {
        match self {
            Data::Fd(Expr {
                kind: ExprKind::Int(n),
                ..
            }) => Some(*n),
            _ => None,
        }
    }
}

fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .map(|f| &f.value)
        .filter(|e| !matches!(e.kind, ExprKind::Dots))
}

/// One written value: None for `...`.
fn one<'a>(fd: &'a Expr, e: &'a Expr) -> Result<Option<Data<&'a Expr>>, Why> {
    Ok(Some(match (&e.kind, &fd.kind) {
        (ExprKind::Dots, _) => return Ok(None),
        (ExprKind::Int(n), ExprKind::Int(m)) if n == m => Data::Fd(fd),
        (ExprKind::Int(n), _) => {
            Data::Num(u64::try_from(*n).map_err(|_| format!("epoll data {n}: data is unsigned"))?)
        }
        (ExprKind::Name(_) | ExprKind::Index(..), _) => Data::Fd(e),
        _ => return Err("epoll data is a number or an fd's name".into()),
    }))
}

/// The data of epoll_ctl's event `event` for the fd `fd` (its third
/// argument); None when the event is NULL.
pub fn ctl<'a>(fd: &'a Expr, event: &'a Expr) -> Result<Option<Data<&'a Expr>>, Why> {
    let fields = match &event.kind {
        ExprKind::Null => return Ok(None),
        ExprKind::Struct(f) => f.as_slice(),
        ExprKind::Dots => return Ok(Some(Data::Fd(fd))),
        _ => return Err("epoll_ctl's event is {events=..., data={u32=N, u64=N}} or NULL".into()),
    };
    let Some(data) = field(fields, "data") else {
        return Ok(Some(Data::Fd(fd)));
    };
    let halves = match &data.kind {
        ExprKind::Struct(f) => f.as_slice(),
        _ => return Ok(Some(one(fd, data)?.unwrap_or(Data::Fd(fd)))),
    };
    let (low, all) = (field(halves, "u32"), field(halves, "u64"));
    let whole = match all {
        Some(e) => one(fd, e)?,
        None => None,
    };
    let Some(d) = whole else {
        // u32 alone: the data is that number (the upper half zero).
        return match low.map(|e| one(fd, e)).transpose()?.flatten() {
            Some(Data::Num(n)) if n > u64::from(u32::MAX) => {
                Err(format!("epoll data u32={n} does not fit in 32 bits"))
            }
            Some(d) => Ok(Some(d)),
            None => Ok(Some(Data::Fd(fd))),
        };
    };
    // strace prints u32 as the low half of u64: a line that writes both
    // writes the same data twice.
    let agrees = match (low.map(|e| &e.kind), d) {
        (None, _) => true,
        (Some(ExprKind::Int(b)), Data::Num(a)) => *b == i64::from(a as u32),
        (Some(k), Data::Fd(f)) => *k == f.kind,
        _ => false,
    };
    if !agrees {
        return Err(
            "epoll data: u32 is the low 32 bits of u64 (strace prints both from one value)".into(),
        );
    }
    Ok(Some(d))
}

/// The check's reading of an epoll_ctl line's data: a bad one is a
/// script error (exit 2, no call made).
pub fn check(call: &str, args: &[Expr]) -> Option<(Span, Why)> {
    let (fd, event) = (args.get(2)?, args.get(3)?);
    match call {
        "epoll_ctl" => ctl(fd, event).err().map(|why| (event.span, why)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(line: &str) -> Result<Option<String>, Why> {
        let args = super::super::parse::parse_args(line).map_err(|e| format!("{e:?}"))?;
        let (fd, ev) = (&args[0], &args[1]);
        Ok(ctl(fd, ev)?.map(|d| match d {
            Data::Fd(e) => format!("fd {:?}", e.kind),
            Data::Num(n) => format!("num {n}"),
        }))
    }

    #[test]
    fn written_data_natural_value_and_labels() {
        let ok = |l: &str| data(l).unwrap().unwrap();
        assert_eq!(ok("3, {events=EPOLLIN, data={u32=7, u64=7}}"), "num 7");
        assert_eq!(ok("3, {events=EPOLLIN, data={u32=3, u64=3}}"), "fd Int(3)");
        assert_eq!(
            ok("s, {events=EPOLLIN, data={u32=s, u64=s}}"),
            "fd Name(\"s\")"
        );
        assert_eq!(
            ok("s, {events=EPOLLIN, data={u32=t, u64=t}}"),
            "fd Name(\"t\")"
        );
        assert_eq!(ok("s, {events=EPOLLIN}"), "fd Name(\"s\")");
        assert_eq!(ok("s, {events=EPOLLIN, data=...}"), "fd Name(\"s\")");
        assert_eq!(
            ok("s, {events=EPOLLIN, data={u32=..., u64=...}}"),
            "fd Name(\"s\")"
        );
        assert_eq!(ok("s, {events=EPOLLIN, data={u32=9}}"), "num 9");
        assert_eq!(
            ok("7, {events=EPOLLOUT, data={u32=7, u64=4294967303}}"),
            "num 4294967303"
        );
        assert_eq!(data("s, NULL").unwrap(), None);
        assert!(data("s, {events=EPOLLIN, data={u32=8, u64=7}}").is_err());
        assert!(data("s, {events=EPOLLIN, data={u32=-1, u64=-1}}").is_err());
        assert!(data("s, {events=EPOLLIN, data={u32=4294967296}}").is_err());
    }
}
