//! The C program's layout: the helpers it uses (`c_runtime.rs`), the
//! script's labels as variables, `script()`: the script in its order,
//! one call per line with the script line as a comment above it, each
//! guarded by `Turn(ACTOR, LINE)` (every actor's thread runs it and
//! makes its own lines only); the steps' table, `main` (start the
//! actors, run the turns, end), and the runner.

use std::fmt::Write as _;

use super::Plan;
use super::c::{call, result, with_result};
use super::c_more::{lit, var};
use super::c_runtime;
use super::model::Fd;

/// The whole program.
pub fn program(plan: &Plan) -> String {
    let mut own = labels(plan);
    own.push_str(&script(plan));
    own.push_str(&tables(plan));
    let main = main(plan, &own);
    own.push_str(&main);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* {}: written by `socklab script {0} --emit c`.\n * Build: cc -Wall -Wextra -Werror -pthread x.c -o x */",
        plan.file.replace("*/", "* /")
    );
    // The link changes' tables and runtime_link.h ("" if none): they use
    // helpers too (Net, quit), so they are scanned with the program's code.
    let link = super::link::c(plan);
    let (helpers, runner) = c_runtime::runtime(&format!("{link}{own}"));
    out.push_str(&helpers);
    out.push_str(&link);
    out.push_str(&own);
    out.push_str(&runner);
    out
}

/// The script's fd labels and port labels.
fn labels(plan: &Plan) -> String {
    let mut out =
        String::from("\n/* The script's labels: its fds and the ports its results bind. */\n");
    for n in &plan.names {
        let _ = writeln!(out, "static int {} = -1;", var(&Fd::Name(n.clone())));
    }
    for n in &plan.pairs {
        let v = var(&Fd::Name(n.clone()));
        let _ = writeln!(out, "static int {v}[2] = {{-1, -1}};");
    }
    for n in &plan.fd_labels {
        let _ = writeln!(out, "static int fd{n} = -1;");
    }
    let forks = plan.forked_by.iter().any(Option::is_some);
    if !plan.ports.is_empty() && forks {
        out.push_str("/* Ports: in memory shared with the process actors (main maps it). */\nstatic int *Ports;\n");
    } else if !plan.ports.is_empty() {
        let unbound = vec!["-1"; plan.ports.len()].join(", ");
        let _ = writeln!(
            out,
            "/* Ports: -1 until a result binds one. */\nstatic int Ports[] = {{{unbound}}};"
        );
    }
    for (k, p) in plan.ports.iter().enumerate() {
        let _ = writeln!(out, "#define port_{p} (Ports[{k}])");
    }
    out
}

/// `script()`: each line, its call and its checks, in the script's order.
fn script(plan: &Plan) -> String {
    let mut body = String::new();
    for ((step, m), &a) in plan.steps.iter().zip(&plan.actor) {
        let text = step.text.lines().next().unwrap_or("").trim_start();
        let opens = super::super::check::returns_fd(step.row);
        let who = plan.actors.get(a).map_or("", String::as_str);
        let _ = write!(
            body,
            "\n\t/* {} */\n\tif (Turn({}, {})) {{\n",
            text.replace("*/", "* /"),
            lit(who.as_bytes()),
            m.line,
        );
        for statement in one_call_a_line(&with_result(&call(m), &result(m, opens))) {
            let _ = writeln!(body, "\t\t{statement}");
        }
        body.push_str("\t}\n");
    }
    let ids = c_runtime::identifiers(&body);
    let mut locals = String::from("\tlong r; /* each call's result */\n");
    if ids.contains("sa") {
        locals.push_str("\tstruct sockaddr_storage sa; /* an address given or got */\n");
    }
    if ids.contains("n") {
        locals.push_str("\tsocklen_t n; /* its length */\n");
    }
    format!(
        "\n/* The script, in its order. Every actor's thread runs it and makes\n * its own lines only, each when its turn comes (Turn: main gives the\n * turns, by socklab's rule; the runner is at the end). */\nstatic void script(void)\n{{\n{locals}\n\t(void)r;\n{body}}}\n"
    )
}

/// A line's statements as the program shows them: what prepares the
/// call, the call (`r = NAME(...);`), then its checks, each on its own
/// line (and each line of one written on several).
fn one_call_a_line(text: &str) -> Vec<String> {
    let starts = |i: usize| {
        text.get(i..).is_some_and(|t| t.starts_with("r = "))
            && (i == 0 || text[..i].ends_with([' ', '\t', '{']))
    };
    let Some(at) = (0..text.len()).find(|&i| text.is_char_boundary(i) && starts(i)) else {
        return text.lines().map(|t| t.trim().to_string()).collect();
    };
    let end = text[at..].find(");").map_or(text.len(), |j| at + j + 2);
    [&text[..at], &text[at..end], &text[end..]]
        .iter()
        .flat_map(|t| t.lines())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The steps' table and the actors: what main's runner goes by.
fn tables(plan: &Plan) -> String {
    let mut out = format!(
        "\n/* The script's file, for messages. */\nstatic const char *const SCRIPT = {};\n",
        lit(plan.file.as_bytes())
    );
    // Whether a process may die in a step: a column only with a fork.
    let forks = plan.forked_by.iter().any(Option::is_some);
    out.push_str(if forks {
        "\n/* The steps in file order: line, actor, the syscall its thread sleeps in,\n * how long a call that ends by itself may take (ms; -1: none), 1 + the step\n * whose result opens an fd it uses, +SECS in ms, whether a result is\n * expected, whether its process may die in it (0 yes, 1 of SIGPIPE only,\n * 2 no), the line. */\n"
    } else {
        "\n/* The steps in file order: line, actor, the syscall its thread sleeps in,\n * how long a call that ends by itself may take (ms; -1: none), 1 + the step\n * whose result opens an fd it uses, +SECS in ms, whether a result is\n * expected, the line. */\n"
    });
    out.push_str("static const struct step STEPS[] = {\n");
    for (i, (step, m)) in plan.steps.iter().enumerate() {
        let waits = plan.waits_ms(i);
        let after = plan.after.get(i).copied().flatten().map_or(0, |a| a + 1);
        let delay = step.delay.map_or(0, |d| d.as_millis());
        let cut = if forks {
            format!(" {},", super::cut(step))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\t{{{}, {}, SYS_{}, {waits}, {after}, {delay}, {},{cut} {}}},",
            m.line,
            plan.actor.get(i).copied().unwrap_or(0),
            step.row.name,
            i32::from(step.result.is_some()),
            lit(step.text.replace('\n', " ").as_bytes())
        );
    }
    out.push_str("};\n\nstatic struct actor ACTORS[] = {");
    let born = super::threads::born(plan);
    let names: Vec<String> = plan
        .actors
        .iter()
        .zip(&plan.forked_by)
        .zip(&plan.hosts)
        .enumerate()
        .map(|(k, ((a, f), h))| match (f, h) {
            (Some(_), _) => format!("{{.name = {}, .process = 1}}", lit(a.as_bytes())),
            _ if born.contains(&k) => format!("{{.name = {}, .born = 1}}", lit(a.as_bytes())),
            (None, Some(h)) => format!(
                "{{.name = {}, .host = {}, .enter = EnterHost}}",
                lit(a.as_bytes()),
                lit(h.as_bytes())
            ),
            (None, None) => format!("{{.name = {}}}", lit(a.as_bytes())),
        })
        .collect();
    out.push_str(&names.join(", "));
    let _ = writeln!(out, "}};\nstatic int DONE[{}];", plan.steps.len().max(1));
    out
}

/// `main`: the actors started, each line's turn, the end; only the
/// parts of the end the script needs (`own`: the program's own code).
fn main(plan: &Plan, own: &str) -> String {
    let ids = c_runtime::identifiers(own);
    let hosts = plan.hosts.iter().any(Option::is_some) || !plan.links.is_empty();
    let mut out = String::new();
    if hosts {
        out.push_str("\n/* ./x [NET]: the lab network of the actors' hosts (socklab script --net). */\nint main(int argc, char **argv)\n{\n\tif (argc > 1)\n\t\tNet = argv[1];\n");
    } else {
        out.push_str("\nint main(void)\n{\n");
    }
    let forks = plan.forked_by.iter().any(Option::is_some);
    if !plan.ports.is_empty() && forks {
        let _ = writeln!(out, "\tPorts = Shared({});", plan.ports.len());
    }
    if forks && chld_handler(plan) {
        out.push_str("\tBlockChld(); /* SIGCHLD for the actors only, as socklab's runner */\n");
    }
    out.push_str("\tStart(); /* each thread actor's thread, running script() */\n\tRun(); /* each line's turn, in file order */\n");
    if forks {
        out.push_str(
            "\tEndProcesses(); /* one still in a call killed, the others told to end */\n",
        );
    }
    out.push_str("\tCloseLeft(); /* what the script left open, in the order opened */\n");
    if ids.contains("SocketFile") {
        out.push_str("\tRemoveSocketFiles(); /* the socket files its binds made */\n");
    }
    if ids.contains("DirMade") {
        out.push_str("\tRemoveDirs(); /* the directories its mkdirats made */\n");
    }
    out.push_str("\treturn 0;\n}\n");
    out
}

/// Whether an actor installs a SIGCHLD handler (the fork model's): then
/// only the actors' threads may take SIGCHLD (runtime_fork.h's BlockChld).
fn chld_handler(plan: &Plan) -> bool {
    plan.steps
        .iter()
        .any(|(_, m)| matches!(&m.op, super::model::Op::Handler(sig, _) if sig.value == i64::from(libc::SIGCHLD)))
}
