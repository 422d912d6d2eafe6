//! The Python program's process and signal lines: a fork that makes a
//! process actor (`os.fork()` between its pipes and the child's serving),
//! `signal.signal`, `os.kill` (`signal.pthread_kill` for a thread actor),
//! `os.waitpid`, `os._exit`.

use super::model::{Model, Op, Want, Who};
use super::python::val;

/// The pid (or thread) of the actor a call names, or the number written.
fn pid(w: &Who) -> String {
    match w.actor {
        Some(k) => format!("ACTORS[{k}].tid"),
        None => w.pid.to_string(),
    }
}

/// wait4's options as Python names them (`os.WNOHANG`; a flag `os`
/// lacks, `__WALL`: the number).
fn wait_options(o: &super::model::Val) -> String {
    if o.names.is_empty() || o.names.iter().any(|n| !n.starts_with('W')) {
        return format!("{:#x}", o.value);
    }
    let names: Vec<String> = o.names.iter().map(|n| format!("os.{n}")).collect();
    names.join(" | ")
}

/// wait4's result checked (c_procs.rs's `reaped_is`): a blocking wait
/// for one actor returns its pid; else the pid shown is a label.
fn reaped_is(line: usize, w: &Who, options: i64, got: Option<&Who>) -> String {
    let mut out = String::new();
    if w.pid != -1 && options == 0 {
        out = format!("; want({line}, r, {})", pid(w));
    }
    match got {
        Some(Who { actor: Some(k), .. }) if out.is_empty() => {
            out = format!("; want({line}, r, ACTORS[{k}].tid)")
        }
        Some(g) if g.actor.is_none() => out += &format!("; pid_is({line}, {}, r)", g.pid),
        _ => {}
    }
    out
}

/// The statement of a process or signal line (None: not one).
pub fn statement(m: &Model) -> Option<String> {
    let line = m.line;
    let (call, then, note) = match &m.op {
        Op::Fork(w) => {
            let k = w.actor.unwrap_or(0);
            return Some(format!(
                "pipes({k}); r = os.fork(); forked({k}, r)  # Python: os.fork() runs the at-fork handlers (no socket call)"
            ));
        }
        Op::Sigaction(sig, dfl) => (
            format!(
                "signal.signal({}, signal.{})",
                val(sig),
                if *dfl { "SIG_DFL" } else { "SIG_IGN" }
            ),
            String::new(),
            "  # Python: rt_sigaction with SA_ONSTACK (and glibc's SA_RESTORER), the old action asked for",
        ),
        Op::Kill(w, sig) if w.actor.is_some() && !w.process => (
            format!(
                "signal.pthread_kill(ACTORS[{}].ident, {})",
                w.actor.unwrap_or(0),
                val(sig)
            ),
            String::new(),
            "  # Python: pthread_kill is tgkill(getpid(), TID, SIG)",
        ),
        Op::Kill(w, sig) => (
            format!("os.kill({}, {})", pid(w), val(sig)),
            String::new(),
            "",
        ),
        Op::Wait4(w, status, options, got) => {
            let target = if w.pid == -1 { "-1".into() } else { pid(w) };
            let mut then = format!(
                "; reaped(r){}",
                reaped_is(line, w, options.value, got.as_ref())
            );
            if let Some(s) = status {
                then.push_str(&format!(
                    "; status_is({line}, st, {s:?}) if r > 0 else None"
                ));
            }
            (
                format!("os.waitpid({target}, {})", wait_options(options)),
                then,
                "",
            )
        }
        Op::Exit(n) => return Some(format!("os._exit({n})")),
        Op::Thread(w, tid) => return Some(super::threads::python(line, w, *tid)),
        Op::Own(o) => return Some(super::own::python(line, o, &m.want)),
        _ => return None,
    };
    if let Want::Errno(e) = &m.want {
        return Some(format!(
            "want_errno({line}, errno.{e}, lambda: {call}){note}"
        ));
    }
    Some(match &m.op {
        Op::Wait4(..) => format!("r, st = {call}{then}{note}"),
        _ => format!("r = {call}{then}{note}"),
    })
}
