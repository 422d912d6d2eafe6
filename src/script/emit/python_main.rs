//! The Python program's lines: each call with its value taken, its
//! checks, its comment (laid out by `python_program.rs`).

use std::fmt::Write as _;

use super::model::{Model, Op, Want};
use super::python::{call, var};

/// The statement(s) of one line, `; `-separated.
pub(super) fn statement(m: &Model) -> Result<String, String> {
    if let Some(s) = super::python_procs::statement(m) {
        return Ok(s);
    }
    if let Some(s) = super::python_mmsg::statement(m) {
        return Ok(s);
    }
    if let Some(s) = super::python_fds::statement(m) {
        return Ok(s);
    }
    if let Some(s) = super::python_unix::statement(m) {
        return s;
    }
    if let Op::Proc(p) = &m.op {
        return super::procs::python(m.line, p, &m.want);
    }
    let (expr, checks, note) = call(m)?;
    let mut pre = String::new();
    if let Op::Poll(fds, ..) = &m.op {
        pre.push_str("p = select.poll(); ");
        for (f, ev) in fds {
            let _ = write!(pre, "p.register({}, {}); ", var(f), super::python::val(ev));
        }
    }
    let mut checks = checks;
    if let Op::Ioctl(..) = &m.op
        && let Some((head, rest)) = checks.clone().split_once("; ")
    {
        pre.push_str(&format!("{head}; "));
        checks = format!("; {rest}");
    } else if let Op::Ioctl(..) = &m.op {
        pre.push_str(&format!("{checks}; "));
        checks = String::new();
    }
    let comment = if note.is_empty() {
        String::new()
    } else {
        format!("  # Python: {note}")
    };
    if let Want::Errno(e) = &m.want {
        return Ok(format!(
            "{pre}want_errno({}, errno.{e}, lambda: {expr}){comment}",
            m.line
        ));
    }
    let bound = m.bind.as_ref().map(var);
    let take = match &m.op {
        Op::Socket(..) | Op::Accept(..) | Op::EpollCreate1(..) if bound.is_none() => {
            "r".to_string()
        }
        Op::Socket(..) | Op::Accept(..) | Op::EpollCreate1(..) => bound.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let s = match &m.op {
        Op::Socket(..) | Op::EpollCreate1(..) => format!("{take} = opened({expr})"),
        Op::Accept(..) => format!("{take}, addr = {expr}; opened({take})"),
        Op::Socketpair(_, _, _, fds) => {
            let pair = bound.unwrap_or_else(|| "r".into());
            let mut s = format!("{pair} = {expr}; opened({pair}[0]); opened({pair}[1])");
            for (i, f) in fds.iter().enumerate() {
                let _ = write!(s, "; {} = {pair}[{i}]", var(f));
            }
            s
        }
        Op::Recvfrom(_, _, _, super::model::Out::Null, _) => format!("data = {expr}"),
        Op::Recvfrom(..) => format!("data, addr = {expr}"),
        Op::Recvmsg(..) => format!("data, anc, _, _ = {expr}"),
        Op::Getsockname(..) | Op::Getpeername(..) => format!("addr = {expr}"),
        Op::Poll(..) | Op::EpollWait(..) => format!("ev = {expr}"),
        _ => format!("r = {expr}"),
    };
    Ok(format!("{pre}{s}{checks}{comment}"))
}
