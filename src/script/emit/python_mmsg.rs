//! sendmmsg and recvmmsg lines in the Python twin: the socket module has
//! neither, so `runtime_mmsg.py` (appended when a line makes one) calls
//! libc's through ctypes with a `struct mmsghdr` array shaped as the C
//! twin's (mmsg.rs: the same single call), and every output field the
//! line writes is checked as the C twin checks it (each received entry's
//! msg_name, msg_namelen, bytes, msg_flags, msg_controllen, msg_len; each
//! sent entry's msg_len; the number of entries).

use std::fmt::Write as _;

use super::Plan;
use super::model::{Entry, Inet, Mmsg, Model, Op, Out, Want};
use super::python::{lit, val, var};

const RUNTIME: &str = include_str!("runtime_mmsg.py");

/// The helpers, when a line of `plan` makes one of these calls.
pub fn runtime(plan: &Plan) -> &'static str {
    if plan.steps.iter().any(|(_, m)| matches!(m.op, Op::Mmsg(..))) {
        RUNTIME
    } else {
        ""
    }
}

fn addr(i: &Inet) -> String {
    format!("({:?}, port({}))", i.ip, i.port)
}

fn flags(v: &super::model::Val) -> String {
    if v.names.is_empty() {
        v.value.to_string()
    } else {
        val(v)
    }
}

/// The checks of received entry `i` (entry_is: only if it was filled).
fn received(line: usize, i: usize, named: bool, e: &Entry) -> String {
    let mut fields = Vec::new();
    if let (Some(Out::Is(a)), true) = (&e.name, named) {
        fields.push(format!("msg_name=({:?}, {})", a.ip, a.port));
    }
    if let Some(n) = e.namelen {
        fields.push(format!("msg_namelen={n}"));
    }
    if let Some((b, cut)) = &e.data {
        let cut = if *cut { "True" } else { "False" };
        fields.push(format!("data=({}, {cut})", lit(b)));
    }
    if let Some(f) = &e.flags {
        fields.push(format!("msg_flags={}", flags(f)));
    }
    if let Some(n) = e.controllen {
        fields.push(format!("msg_controllen={n}"));
    }
    if let Some(n) = e.len {
        fields.push(format!("msg_len={n}"));
    }
    if fields.is_empty() {
        return String::new();
    }
    format!("; entry_is({line}, got, {i}, {})", fields.join(", "))
}

/// The statement of a sendmmsg or recvmmsg line (None: not one).
pub fn statement(m: &Model) -> Option<String> {
    let Op::Mmsg(b) = &m.op else {
        return None;
    };
    let line = m.line;
    let (call, mut checks) = match b {
        Mmsg::Send(f, data, fl, lens) => {
            let list: Vec<String> = data
                .iter()
                .map(|(d, to)| format!("({}, {})", lit(d), to.as_ref().map_or("None".into(), addr)))
                .collect();
            let mut checks = String::new();
            for (i, n) in lens.iter().enumerate() {
                if let Some(n) = n {
                    let _ = write!(checks, "; entry_is({line}, got, {i}, msg_len={n})");
                }
            }
            let call = format!("sendmmsg({}, [{}], {})", var(f), list.join(", "), flags(fl));
            (call, checks)
        }
        Mmsg::Recv(f, vlen, size, named, fl, entries, all) => {
            let named_py = if *named { "True" } else { "False" };
            let mut checks = String::new();
            if *all {
                let _ = write!(
                    checks,
                    "; count_is({line}, \"entries\", r, {})",
                    entries.len()
                );
            }
            for (i, e) in entries.iter().enumerate() {
                checks += &received(line, i, *named, e);
            }
            let call = format!(
                "recvmmsg({}, {vlen}, {size}, {named_py}, {})",
                var(f),
                flags(fl)
            );
            (call, checks)
        }
    };
    Some(match &m.want {
        Want::Errno(e) => format!("want_errno({line}, errno.{e}, lambda: {call})"),
        want => {
            if let Want::Value(n) = want {
                checks = format!("; want({line}, r, {n}){checks}");
            }
            format!("r, got = {call}{checks}  # Python: libc's, through ctypes")
        }
    })
}
