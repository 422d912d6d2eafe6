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
        Op::Wait4(w, status) => {
            let k = w.actor.unwrap_or(0);
            let mut then = format!("; reaped({k}); want({line}, r, {})", pid(w));
            if let Some(s) = status {
                then.push_str(&format!("; status_is({line}, st, {s:?})"));
            }
            (format!("os.waitpid({}, 0)", pid(w)), then, "")
        }
        Op::Exit(n) => return Some(format!("os._exit({n})")),
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
