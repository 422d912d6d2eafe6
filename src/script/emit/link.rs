//! `net | set SPEC` in the twins: the lab network's link changes where
//! the script says, asked of its forwarder with the calls socklab's
//! runner makes (script/link.rs, net/control.rs): `runtime_link.h` and
//! `runtime_link.py` (written only when the script has such a line),
//! with two tables: LINKS (before which step, the line, the SPEC) and
//! RETURNS_BY (per step, the step by which its line shows the call
//! returned: the calls under way the change waits for, as
//! `Runner::before_link`).

use std::fmt::Write as _;

use super::Plan;
use super::c_more::lit;

const C_RUNTIME: &str = include_str!("runtime_link.h");
const PY_RUNTIME: &str = include_str!("runtime_link.py");

/// One link change: before which step (an index; the number of steps:
/// after the last), its line, its SPEC.
pub(crate) struct Change {
    pub before: usize,
    pub line: usize,
    pub spec: String,
}

/// The changes `links` (line, SPEC), each before the first step written
/// after it, as `script::run_steps` runs them.
pub(super) fn place(plan: &Plan, links: Vec<(usize, String)>) -> Vec<Change> {
    links
        .into_iter()
        .map(|(line, spec)| Change {
            before: plan
                .steps
                .iter()
                .position(|(s, _)| s.no > line)
                .unwrap_or(plan.steps.len()),
            line,
            spec,
        })
        .collect()
}

/// Per step: the step by which its call is shown returned (0: its own
/// line is whole; the number of steps + 1: never).
fn returns_by(plan: &Plan) -> Vec<usize> {
    let never = plan.steps.len() + 1;
    plan.steps
        .iter()
        .map(|(s, _)| match (s.whole, s.resumed_at) {
            (true, _) => 0,
            (false, Some(r)) => r,
            (false, None) => never,
        })
        .collect()
}

fn joined(v: &[usize]) -> String {
    if v.is_empty() {
        return "0".into();
    }
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The C program's link changes: the tables and runtime_link.h ("" if none).
pub(super) fn c(plan: &Plan) -> String {
    if plan.links.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n/* The script's `net | set SPEC` lines: before which step, the line, the SPEC. */\nstruct link_change {\n\tint before, line;\n\tconst char *spec;\n};\nstatic const struct link_change LINKS[] = {\n",
    );
    for l in &plan.links {
        let _ = writeln!(
            out,
            "\t{{{}, {}, {}}},",
            l.before,
            l.line,
            lit(l.spec.as_bytes())
        );
    }
    let _ = write!(
        out,
        "}};\n/* Per step: the step by which its line shows the call returned. */\nstatic const int RETURNS_BY[] = {{{}}};\n",
        joined(&returns_by(plan))
    );
    out.push_str(C_RUNTIME);
    out
}

/// The Python program's link changes: runtime_link.py and the tables ("" if none).
pub(super) fn python(plan: &Plan) -> String {
    if plan.links.is_empty() {
        return String::new();
    }
    let mut out = String::from(PY_RUNTIME);
    out.push_str(
        "\n\n# The script's `net | set SPEC` lines: before which step, the line, the SPEC.\nLINKS = [\n",
    );
    for l in &plan.links {
        let _ = writeln!(out, "    ({}, {}, {:?}),", l.before, l.line, l.spec);
    }
    let _ = writeln!(
        out,
        "]\n# Per step: the step by which its line shows the call returned.\nRETURNS_BY = [{}]",
        joined(&returns_by(plan))
    );
    out
}
