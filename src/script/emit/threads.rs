//! A clone3 line (a thread actor a script starts, script/birth.rs) in
//! both twins: the parent actor's thread starts the new actor's thread
//! there, with glibc's pthread_create in C (`Born`, runtime_run.h) and
//! `threading.Thread.start()` in Python (`born`, runtime_thread.py), each
//! of which makes the clone3 (strace -f: in the parent's task, its result
//! the new thread's id); the new actor's lines wait for that line. Its
//! written result is a pid label, as socklab's (expect.rs).

use super::super::ast::Outcome;
use super::super::check::Step;
use super::super::resolve::Why;
use super::Plan;
use super::model::{Op, Who};

pub fn op(step: &Step) -> Result<Op, Why> {
    let name = step
        .child
        .clone()
        .ok_or("a clone3 line's thread: NAME = clone3(...) or its tid (= N)")?;
    let tid = match step.result.as_ref().map(|r| &r.value) {
        Some(Outcome::Value(n)) => Some(*n),
        _ => None,
    };
    let who = Who {
        name,
        actor: None,
        pid: 0,
        process: false,
        handled: false,
    };
    Ok(Op::Thread(who, tid))
}

/// Does `step` (a clone3 line) start actor `a` of `plan`?
pub fn starts(step: &Step, a: usize, plan: &Plan) -> bool {
    step.row.name == "clone3"
        && step
            .child
            .as_ref()
            .is_some_and(|c| plan.actors.get(a) == Some(c))
}

/// The actors a clone3 line starts (the runners start the others first).
pub fn born(plan: &Plan) -> Vec<usize> {
    plan.steps
        .iter()
        .filter_map(|(_, m)| match &m.op {
            Op::Thread(w, _) => w.actor,
            _ => None,
        })
        .collect()
}

pub fn c(line: usize, w: &Who, tid: Option<i64>) -> String {
    let k = w.actor.unwrap_or(0);
    let check = tid.map_or(String::new(), |t| {
        format!(" if (r > 0) {{ PidIs({line}, {t}, r); }}")
    });
    format!("r = Born({k});{check}")
}

pub fn python(line: usize, w: &Who, tid: Option<i64>) -> String {
    let k = w.actor.unwrap_or(0);
    let check = tid.map_or(String::new(), |t| format!("; pid_is({line}, {t}, r)"));
    format!("r = born({k}){check}  # Python: Thread.start(), glibc's pthread_create: its clone3")
}

/// Python's `born` and the BORN set, when a line starts a thread.
pub fn python_runtime(plan: &Plan) -> String {
    let born = born(plan);
    if born.is_empty() {
        return String::new();
    }
    let ks: Vec<String> = born.iter().map(usize::to_string).collect();
    format!(
        "{}BORN.update({{{}}})\n",
        include_str!("runtime_thread.py"),
        ks.join(", ")
    )
}
