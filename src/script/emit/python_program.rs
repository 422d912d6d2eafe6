//! The Python program's layout, as the C twin's (`c_program.rs`): the
//! helpers it uses (`python_runtime.rs`), the script's labels as
//! globals, `script()`: the script in its order, one statement per line
//! with the script line as a comment above it, each line guarded by
//! `turn(ACTOR, LINE)` (every actor's thread runs it and makes its own
//! lines only; a forked child goes on in it); the steps' table, `main()`
//! (start the actors, run the turns, end), and the runner.

use std::fmt::Write as _;

use super::Plan;
use super::model::Fd;
use super::python::var;
use super::python_main::statement;
use super::python_runtime;

/// The whole program, or the lines Python cannot write.
pub fn program(plan: &Plan) -> Result<String, Vec<String>> {
    let mut own = labels(plan);
    own.push_str(&script(plan)?);
    own.push_str(&tables(plan));
    let main = main(plan, &own);
    own.push_str(&main);
    let mut out = format!(
        "#!/usr/bin/env python3\n# {}: written by `socklab script {0} --emit python`.\n",
        plan.file.replace('\n', " ")
    );
    // The link changes' runtime_link.py and tables ("" if none): they use
    // helpers too (NET, quit), so they are scanned with the program's code.
    // So are sendmmsg/recvmmsg's ctypes part and the clone3 lines' part
    // (whole files, each only when a line needs it).
    let link = format!(
        "{}{}{}",
        super::link::python(plan),
        super::python_mmsg::runtime(plan),
        super::threads::python_runtime(plan)
    );
    let (helpers, runner) = python_runtime::runtime(&format!("{link}{own}"));
    out.push_str(helpers.trim_end_matches('\n'));
    out.push('\n');
    out.push_str(&link);
    out.push_str(&own);
    out.push_str(&runner);
    out.push_str("\n\nif __name__ == \"__main__\":\n    main()\n");
    Ok(out)
}

/// The script's label names, as globals of the program.
fn globals(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan
        .names
        .iter()
        .chain(&plan.pairs)
        .map(|n| var(&Fd::Name(n.clone())))
        .collect();
    out.extend(plan.fd_labels.iter().map(|n| format!("fd{n}")));
    out
}

fn labels(plan: &Plan) -> String {
    let mut out = String::from("\n\n# The script's labels: its sockets (fds).\n");
    for g in globals(plan) {
        let _ = writeln!(out, "{g} = None");
    }
    out
}

/// `script()`: each line, its call and its checks, in the script's order.
fn script(plan: &Plan) -> Result<String, Vec<String>> {
    let mut body = String::new();
    let mut errors = Vec::new();
    for ((step, m), &a) in plan.steps.iter().zip(&plan.actor) {
        let text = step.text.lines().next().unwrap_or("").trim_start();
        let who = plan.actors.get(a).map_or("", String::as_str);
        match statement(m) {
            Ok(s) => {
                let _ = writeln!(
                    body,
                    "\n    # {text}\n    if turn({}, {}):",
                    py_str(who),
                    m.line
                );
                for l in one_statement_a_line(&s) {
                    let _ = writeln!(body, "        {l}");
                }
            }
            Err(why) => errors.push(format!("{}:{}: cannot emit: {why}", plan.file, m.line)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let globals = globals(plan);
    let global = if globals.is_empty() {
        String::new()
    } else {
        format!("    global {}\n", globals.join(", "))
    };
    Ok(format!(
        "\n\ndef script():\n    \"\"\"The script, in its order. Every actor's thread runs it and makes its\n    own lines only, each when its turn comes (turn: main gives the turns,\n    by socklab's rule; the runner is at the end).\"\"\"\n{global}{body}"
    ))
}

/// A line's statements as the program shows them, one a line: the
/// comment on the calls Python adds goes on the call's line (after what
/// prepares it), and a result no check reads is not kept (`s.bind(...)`).
fn one_statement_a_line(s: &str) -> Vec<String> {
    let (code, comment) = split_comment(s);
    let mut lines: Vec<String> = split_top(code, ';')
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    for i in 0..lines.len() {
        let rest = lines[i + 1..].join("\n");
        if let Some(call) = lines[i].strip_prefix("r = ")
            && !python_runtime::identifiers(&rest).contains("r")
        {
            lines[i] = call.to_string();
        }
    }
    let prepares = |l: &String| {
        ["p = select.poll()", "p.register(", "buf = ", "pipes("]
            .iter()
            .any(|p| l.starts_with(p))
    };
    if let Some(c) = comment {
        let at = lines.iter().position(|l| !prepares(l)).unwrap_or(0);
        if let Some(l) = lines.get_mut(at) {
            l.push_str("  ");
            l.push_str(c);
        }
    }
    lines
}

/// The code and its trailing `# ...` comment (outside strings).
fn split_comment(s: &str) -> (&str, Option<&str>) {
    match split_top(s, '#').as_slice() {
        [code, ..] if code.len() < s.len() => (code.trim_end(), Some(&s[code.len()..])),
        _ => (s, None),
    }
}

/// `s` cut at each `sep` outside strings and brackets.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut escaped, mut start) = (0i32, None, false, 0);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, _) if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
                if sep == '#' {
                    break;
                }
            }
            _ => {}
        }
    }
    if sep != '#' || out.is_empty() {
        out.push(&s[start..]);
    }
    out
}

fn py_str(s: &str) -> String {
    format!("{s:?}")
}

/// The steps' table, their lines' text and the script's file.
fn tables(plan: &Plan) -> String {
    // Whether a process may die in a step: a column only with a fork.
    let forks = plan.forked_by.iter().any(Option::is_some);
    let mut out = String::from(if forks {
        "\n\n# The steps in file order: line, actor, the syscall its thread sleeps in,\n# how long a call that ends by itself may take (ms; -1: none), the step\n# whose result opens an fd it uses, +SECS in ms, whether a result is expected,\n# whether its process may die in it (0 yes, 1 of SIGPIPE only, 2 no).\nSTEPS = [\n"
    } else {
        "\n\n# The steps in file order: line, actor, the syscall its thread sleeps in,\n# how long a call that ends by itself may take (ms; -1: none), the step\n# whose result opens an fd it uses, +SECS in ms, whether a result is expected.\nSTEPS = [\n"
    });
    for (i, (step, _)) in plan.steps.iter().enumerate() {
        let nr = match step.row.name {
            "accept" => crate::values::calls::by_name("accept4").map_or(step.row.nr, |r| r.nr),
            _ => step.row.nr,
        };
        let after = plan.after.get(i).copied().flatten();
        let cut = if forks {
            format!(", {}", super::cut(step))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "    ({}, {}, {nr}, {}, {}, {}, {}{cut}),",
            step.no,
            plan.actor.get(i).copied().unwrap_or(0),
            plan.waits_ms(i),
            after.map_or("None".to_string(), |a| a.to_string()),
            step.delay.map_or(0, |d| d.as_millis()),
            if step.result.is_some() {
                "True"
            } else {
                "False"
            },
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
    let _ = writeln!(out, "}}\nFILE = {}", py_str(&plan.file));
    if plan.forked_by.iter().any(Option::is_some) {
        let nr = crate::values::calls::by_name("exit_group").map_or(231, |r| r.nr);
        let _ = writeln!(out, "EXIT_GROUP = {nr}  # a process actor's own end");
    }
    out
}

/// `main()`: the actors started, each line's turn, the end; only the
/// parts of the end the script needs (`own`: the program's own code).
fn main(plan: &Plan, own: &str) -> String {
    let ids = python_runtime::identifiers(own);
    let actors: Vec<String> = plan
        .actors
        .iter()
        .zip(&plan.forked_by)
        .zip(&plan.hosts)
        .map(|((a, f), h)| match (f, h) {
            (Some(_), _) => format!("Proc({})", py_str(a)),
            (None, Some(h)) => format!("Actor({}, enter_host, {})", py_str(a), py_str(h)),
            (None, None) => format!("Actor({})", py_str(a)),
        })
        .collect();
    let mut out = String::from(
        "\n\ndef main():\n    \"\"\"Start the actors, give each line its turn, end.\"\"\"\n",
    );
    let forks = plan.forked_by.iter().any(Option::is_some);
    if !plan.ports.is_empty() && forks {
        let written: Vec<String> = plan.ports.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(
            out,
            "    global ports\n    ports = SharedPorts([{}])  # in memory the process actors share",
            written.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "    start([{}])  # each thread actor's thread, running script()",
        actors.join(", ")
    );
    if plan.links.is_empty() {
        out.push_str("    run()  # each line's turn, in file order\n");
    } else {
        out.push_str("    run()  # each line's turn, in file order; the link changes between\n");
    }
    if forks {
        out.push_str("    end_processes()  # one still in a call killed, the others told to end\n");
    }
    out.push_str("    close_left()  # what the script left open, in the order opened\n");
    if ids.contains("socket_file") {
        out.push_str("    remove_socket_files()  # the socket files its binds made\n");
    }
    if ids.contains("dir_made") {
        out.push_str("    remove_dirs()  # the directories its mkdirats made\n");
    }
    out.push_str("    os._exit(0)  # the actors' threads wait for ever: end them\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_a_line_puts_the_comment_on_the_call() {
        let got = one_statement_a_line(
            "p = select.poll(); p.register(c, 1); ev = p.poll(5); want(3, len(ev), 1)  # Python: x",
        );
        assert_eq!(
            got,
            [
                "p = select.poll()",
                "p.register(c, 1)",
                "ev = p.poll(5)  # Python: x",
                "want(3, len(ev), 1)"
            ]
        );
        let got = one_statement_a_line("r = s.send(b\"a; # b\"); want(4, r, 6)");
        assert_eq!(got, ["r = s.send(b\"a; # b\")", "want(4, r, 6)"]);
        assert_eq!(
            one_statement_a_line("r = s.bind(('127.0.0.1', 0))"),
            ["s.bind(('127.0.0.1', 0))"]
        );
    }
}
