//! The C program's process and signal calls: a fork that makes a process
//! actor (its pipes first, then `fork()`, then the child serves its
//! lines), rt_sigaction as the raw call, kill (tgkill for a thread
//! actor), wait4 and exit_group.

use super::model::{Model, Op, Val, Who};

fn val(v: &Val) -> String {
    v.names.join("|")
}

/// The pid (or tid) of the actor a call names, or the number written.
fn pid(w: &Who) -> String {
    match w.actor {
        Some(k) => format!("actors[{k}].tid"),
        None => w.pid.to_string(),
    }
}

/// A wait status's text as a C string (c_more's `lit` would make the two
/// modules import each other).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// wait4's result checked: a blocking wait for one actor returns its
/// pid; else the pid the line shows is a label (pid_is: an actor's pid,
/// another bound by its first result, as socklab's labels.rs does).
fn reaped_is(line: usize, w: &Who, options: i64, got: Option<&Who>) -> String {
    let mut out = String::new();
    if w.pid != -1 && options == 0 {
        out = format!(" Is({line}, r, {});", pid(w));
    }
    match got {
        Some(Who { actor: Some(k), .. }) if out.is_empty() => {
            out = format!(" Is({line}, r, actors[{k}].tid);")
        }
        Some(g) if g.actor.is_none() => out += &format!(" PidIs({line}, {}, r);", g.pid),
        _ => {}
    }
    out
}

pub fn call(m: &Model) -> String {
    let line = m.line;
    match &m.op {
        Op::Fork(w) => {
            let k = w.actor.unwrap_or(0);
            format!("Pipes({k}); r = fork(); Forked({k}, r);")
        }
        Op::Sigaction(sig, dfl) => format!(
            "struct ksigaction k = {{{}, 0, NULL, 0}}; r = syscall(SYS_rt_sigaction, {}, &k, NULL, 8);",
            if *dfl { "SIG_DFL" } else { "SIG_IGN" },
            val(sig)
        ),
        Op::Handler(sig, flags) => format!(
            "struct sigaction act; memset(&act, 0, sizeof act); act.sa_handler = on_signal; act.sa_flags = {}; r = sigaction({}, &act, NULL);",
            if flags.is_empty() {
                "0".to_string()
            } else {
                flags.join("|")
            },
            val(sig)
        ),
        // A handled signal: the kill waits for its handler to have run
        // (a thread actor's count; a process actor's pending signals).
        Op::Kill(w, sig) if w.actor.is_some() && !w.process && w.handled => format!(
            "sig_atomic_t seen = Handled[{s}]; r = tgkill(getpid(), {}, {s}); if (r == 0) AwaitHandler({line}, {s}, seen);",
            pid(w),
            s = val(sig)
        ),
        Op::Kill(w, sig) if w.actor.is_some() && !w.process => {
            format!("r = tgkill(getpid(), {}, {});", pid(w), val(sig))
        }
        Op::Kill(w, sig) if w.handled => format!(
            "int st = StatusOf({}); r = kill({}, {s}); AwaitDelivered({line}, r == 0 ? st : -1, {s}); if (r != 0 && st >= 0) close(st);",
            w.actor.unwrap_or(0),
            pid(w),
            s = val(sig)
        ),
        Op::Kill(w, sig) => format!("r = kill({}, {});", pid(w), val(sig)),
        Op::Wait4(w, status, options, got) => {
            let target = if w.pid == -1 { "-1".into() } else { pid(w) };
            let opts = if options.names.is_empty() {
                "0".into()
            } else {
                val(options)
            };
            let check = status.as_ref().map_or(String::new(), |s| {
                format!(" if (r > 0) {{ StatusIs({line}, st, {}); }}", quoted(s))
            });
            let is = reaped_is(line, w, options.value, got.as_ref());
            let is = if is.is_empty() {
                is
            } else {
                format!(" if (r >= 0) {{{is} }}")
            };
            format!(
                "int st = 0; r = wait4({target}, &st, {opts}, NULL); Reaped(r);\n\t\t {is}{check}"
            )
        }
        Op::Exit(n) => format!("_exit({n});"),
        Op::Thread(w, tid) => super::threads::c(line, w, *tid),
        _ => String::new(),
    }
}
