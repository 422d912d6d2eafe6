//! The process's own ids and limits as lines (issue 14 rule 7) in both
//! twins: getpid and getppid, whose result is a pid label (a fork's
//! child's pid: compared with that process; another: bound by the first
//! result that shows it, in memory a fork shares: runtime_pids.h and
//! runtime_pids.py), and prlimit64(0, RLIMIT_NOFILE, ...) as socklab
//! makes it (the old limit read back and compared field by field, or a
//! new one set). C: glibc's prlimit() and Python's resource.prlimit()
//! (reading) and resource.setrlimit() (setting) make the very prlimit64
//! line the script writes (strace -f); resource.prlimit() with a new
//! limit would also ask for the old one.

use super::super::ast::{Expr, ExprKind, Outcome};
use super::super::check::Step;
use super::super::resolve::{self, Why};
use super::model::{Own, Want, Who, field, fields_of};

fn arg(step: &Step, i: usize) -> Result<&Expr, Why> {
    step.args
        .get(i)
        .ok_or_else(|| format!("{} lacks argument {}", step.row.name, i + 1))
}

/// A limit's value as written (a number; `...`: None).
fn limit(e: Option<&Expr>) -> Result<Option<u64>, Why> {
    match e.map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => Ok(None),
        Some(ExprKind::Name(n)) if n == "RLIM64_INFINITY" || n == "RLIM_INFINITY" => {
            Ok(Some(u64::MAX))
        }
        Some(_) => {
            let n = e.map(|e| resolve::int(e, None)).transpose()?.unwrap_or(0);
            u64::try_from(n)
                .map(Some)
                .map_err(|_| format!("a limit of {n} is not emitted"))
        }
    }
}

pub fn op(step: &Step) -> Result<Own, Why> {
    if let Some(call) = ["getpid", "getppid", "gettid"]
        .into_iter()
        .find(|c| *c == step.row.name)
    {
        let who = match step.result.as_ref().map(|r| &r.value) {
            Some(Outcome::Value(n)) => Some(Who {
                name: format!("pid {n}"),
                actor: None,
                pid: *n,
                process: false,
                handled: false,
            }),
            _ => None,
        };
        return Ok(Own::Pid(call, who));
    }
    if resolve::int(arg(step, 0)?, None)? != 0
        || !matches!(&arg(step, 1)?.kind, ExprKind::Name(n) if n == "RLIMIT_NOFILE")
    {
        return Err("a script's prlimit64 is prlimit64(0, RLIMIT_NOFILE, ...)".into());
    }
    let new = match &arg(step, 2)?.kind {
        ExprKind::Struct(f) => {
            let get =
                |n: &str| limit(field(f, n))?.ok_or_else(|| format!("the new limit needs its {n}"));
            Some((get("rlim_cur")?, get("rlim_max")?))
        }
        _ => None,
    };
    let old = match step.args.get(3).map(|e| &e.kind) {
        Some(ExprKind::Struct(_)) => {
            let f = fields_of(arg(step, 3)?);
            Some((limit(field(f, "rlim_cur"))?, limit(field(f, "rlim_max"))?))
        }
        _ => None,
    };
    Ok(Own::Nofile(new, old))
}

/// A limit as C writes it.
fn c_limit(n: u64) -> String {
    if n == u64::MAX {
        "RLIM_INFINITY".into()
    } else {
        format!("{n}UL")
    }
}

pub fn c(line: usize, o: &Own) -> String {
    match o {
        Own::Pid(call, who) => {
            let check = match who {
                Some(Who { actor: Some(k), .. }) => format!(" Is({line}, r, actors[{k}].tid);"),
                Some(w) => format!(" PidIs({line}, {}, r);", w.pid),
                None => String::new(),
            };
            format!("r = {call}();{check}")
        }
        Own::Nofile(Some((cur, max)), _) => format!(
            "struct rlimit rl = {{{}, {}}}; r = prlimit(0, RLIMIT_NOFILE, &rl, NULL);",
            c_limit(*cur),
            c_limit(*max)
        ),
        Own::Nofile(None, old) => {
            let mut s = String::from("struct rlimit rl; r = prlimit(0, RLIMIT_NOFILE, NULL, &rl);");
            if let Some((cur, max)) = old {
                for (what, v) in [("rlim_cur", cur), ("rlim_max", max)] {
                    if let Some(v) = v {
                        s += &format!(
                            " if (r == 0) {{ LimitIs({line}, \"{what}\", rl.{what}, {}); }}",
                            c_limit(*v)
                        );
                    }
                }
            }
            s
        }
    }
}

/// A limit as Python writes it.
fn py_limit(n: u64) -> String {
    if n == u64::MAX {
        "resource.RLIM_INFINITY".into()
    } else {
        n.to_string()
    }
}

/// The Python statement of a line of this module.
pub fn python(line: usize, o: &Own, want: &Want) -> String {
    let (call, then) = match o {
        Own::Pid(call, who) => {
            // Python's threading.get_native_id() is gettid (strace -f).
            let call = match *call {
                "gettid" => "threading.get_native_id()".to_string(),
                other => format!("os.{other}()"),
            };
            let then = match who {
                Some(Who { actor: Some(k), .. }) => format!("; want({line}, r, ACTORS[{k}].tid)"),
                Some(w) => format!("; pid_is({line}, {}, r)", w.pid),
                None => String::new(),
            };
            (call.to_string(), then)
        }
        Own::Nofile(Some((cur, max)), _) => (
            format!(
                "resource.setrlimit(resource.RLIMIT_NOFILE, ({}, {}))",
                py_limit(*cur),
                py_limit(*max)
            ),
            "; r = 0".into(),
        ),
        Own::Nofile(None, old) => {
            let mut then = String::from("; r = 0");
            if let Some((cur, max)) = old {
                for (i, (what, v)) in [("rlim_cur", cur), ("rlim_max", max)].iter().enumerate() {
                    if let Some(v) = v {
                        then += &format!("; limit_is({line}, {what:?}, rl[{i}], {})", py_limit(*v));
                    }
                }
            }
            ("resource.prlimit(0, resource.RLIMIT_NOFILE)".into(), then)
        }
    };
    let assign = match o {
        Own::Nofile(None, _) => "rl",
        _ => "r",
    };
    match want {
        Want::Errno(e) => format!("want_errno({line}, errno.{e}, lambda: {call})"),
        Want::Value(n) => format!("{assign} = {call}{then}; want({line}, r, {n})"),
        _ => format!("{assign} = {call}{then}"),
    }
}
