//! The Python program's lines (each call with its value taken, its
//! checks, its comment) and the whole program.

use std::fmt::Write as _;

use super::Plan;
use super::model::{Fd, Model, Op, Want};
use super::python::{call, var};

const RUNTIME: &str = include_str!("runtime.py");
const PROCESSES: &str = include_str!("runtime_fork.py");
const UNIX: &str = include_str!("runtime_unix.py");
const OWN: &str = include_str!("runtime_own.py");

/// The statement(s) of one line, after `    `.
fn statement(m: &Model) -> Result<String, String> {
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
        Op::Poll(..) | Op::EpollWait(..) => format!("ev = {expr}"),
        _ => format!("r = {expr}"),
    };
    Ok(format!("{pre}{s}{checks}{comment}"))
}

fn py_str(s: &str) -> String {
    format!("{s:?}")
}

/// The whole program, or the lines Python cannot write.
pub fn program(plan: &Plan) -> Result<String, Vec<String>> {
    let mut body = String::new();
    let mut errors = Vec::new();
    for (step, m) in &plan.steps {
        match statement(m) {
            Ok(s) => {
                let text = step.text.lines().next().unwrap_or("");
                let _ = write!(
                    body,
                    "    if line == {}:  # {text}\n        {s}\n        return\n",
                    m.line
                );
            }
            Err(why) => errors.push(format!("{}:{}: cannot emit: {why}", plan.file, m.line)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = format!(
        "#!/usr/bin/env python3\n# {}: written by `socklab script {0} --emit python`.\n",
        plan.file
    );
    out.push_str(RUNTIME);
    out.push_str(PROCESSES);
    out.push_str(UNIX);
    if plan.steps.iter().any(|(_, m)| {
        matches!(
            m.op,
            Op::Own(..) | Op::Proc(..) | Op::Wait4(..) | Op::Thread(..)
        )
    }) {
        out.push_str(OWN);
    }
    out.push_str(super::python_mmsg::runtime(plan));
    out.push_str(&super::threads::python_runtime(plan));
    out.push_str(&super::link::python(plan));
    out.push_str("\n\n# The script's labels: its sockets (fds).\n");
    let mut globals: Vec<String> = plan
        .names
        .iter()
        .map(|n| var(&Fd::Name(n.clone())))
        .collect();
    globals.extend(plan.pairs.iter().map(|n| var(&Fd::Name(n.clone()))));
    globals.extend(plan.fd_labels.iter().map(|n| format!("fd{n}")));
    for g in &globals {
        let _ = writeln!(out, "{g} = None");
    }
    out.push_str("\n\ndef script_line(line):\n    \"\"\"Each line's call, made on its actor's thread.\"\"\"\n");
    if !globals.is_empty() {
        let _ = writeln!(out, "    global {}", globals.join(", "));
    }
    out.push_str(&body);
    out.push_str("\n\n# The steps in file order: line, actor, the syscall its thread sleeps in,\n# how long a call that ends by itself may take (ms; -1: none), the step\n# whose result opens an fd it uses, +SECS in ms, whether a result is expected,\n# whether its process may die in it (0 yes, 1 of SIGPIPE only, 2 no).\nSTEPS = [\n");
    for (i, (step, _)) in plan.steps.iter().enumerate() {
        let nr = match step.row.name {
            "accept" => crate::values::calls::by_name("accept4").map_or(step.row.nr, |r| r.nr),
            _ => step.row.nr,
        };
        let waits = plan.waits_ms(i);
        let after = plan
            .after
            .get(i)
            .copied()
            .flatten()
            .map_or("None".to_string(), |a| a.to_string());
        let _ = writeln!(
            out,
            "    ({}, {}, {nr}, {waits}, {after}, {}, {}, {}),",
            step.no,
            plan.actor.get(i).copied().unwrap_or(0),
            step.delay.map_or(0, |d| d.as_millis()),
            if step.result.is_some() {
                "True"
            } else {
                "False"
            },
            super::cut(step)
        );
    }
    out.push_str("]\nTEXT = {\n");
    for (step, _) in &plan.steps {
        let _ = writeln!(
            out,
            "    {}: {},",
            step.no,
            py_str(&step.text.replace('\n', " "))
        );
    }
    let names: Vec<String> = plan
        .actors
        .iter()
        .zip(&plan.forked_by)
        .zip(&plan.hosts)
        .map(|((a, f), h)| {
            format!(
                "({}, {}, {})",
                py_str(a),
                if f.is_some() { "True" } else { "False" },
                h.as_deref().map_or("None".to_string(), py_str)
            )
        })
        .collect();
    let exit_group = crate::values::calls::by_name("exit_group").map_or(231, |r| r.nr);
    let _ = write!(
        out,
        "}}\nFILE = {}\nEXIT_GROUP = {exit_group}\n\nif __name__ == \"__main__\":\n    ports = SharedPorts([{}])\n    run([{}])\n",
        py_str(&plan.file),
        plan.ports
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        names.join(", ")
    );
    Ok(out)
}
