//! `socklab script` and `socklab shell` (src/script/): the issue's
//! examples, failures and errors, blocking calls, many calls, the shell
//! on a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod addresses;
mod blocking;
mod calls;
mod cmsg;
mod editing;
mod emit;
mod emit_allowed;
mod emit_compare;
mod emit_epoll;
mod emit_messages;
mod emit_mmsg;
mod emit_models;
mod emit_more;
mod emit_netset;
mod emit_procs;
mod emit_python_layout;
mod emit_readme;
mod emit_records;
mod emit_scripts;
mod emit_threads;
mod emit_trace;
mod emit_unix;
mod epoll_data;
mod examples;
mod files;
mod handlers;
mod history;
mod hosts;
mod mmsg;
mod more_calls;
mod options;
mod port_labels;
mod processes;
mod readme;
mod reaped;
mod records_epoll;
mod records_fork;
pub(crate) mod records_models;
mod shell;
mod shell_help;
mod signals;
mod tasks;
mod unreadable;
mod waits;
mod waits_any;

use crate::harness::{self, Outcome, socklab};

/// Run `socklab script -` (plus `args`) on `text`; its timeline
/// without the actors' `[pid N] ` and the runner's two notes
/// ([`script_raw`] keeps both; strace/script_own.rs checks the notes).
pub fn script(text: &str, args: &[&str]) -> Outcome {
    let mut o = script_raw(text, args);
    o.stdout = harness::untasked(&unnoted(&o.stdout));
    o
}

/// The runner's note before a script's first line and after its last
/// (src/script/own.rs): not the script's calls.
pub const RUNNER_NOTES: [&str; 2] = [
    "# not shown: the script runner's own calls: ",
    "# not shown: the end as strace -f prints it: ",
];

/// A script's stdout without [`RUNNER_NOTES`].
pub fn unnoted(stdout: &str) -> String {
    stdout
        .split_inclusive('\n')
        .filter(|l| !RUNNER_NOTES.iter().any(|n| l.starts_with(n)))
        .collect()
}

/// Run `socklab script -` (plus `args`) on `text`, as it prints.
pub fn script_raw(text: &str, args: &[&str]) -> Outcome {
    let mut all = vec!["script", "-"];
    all.extend_from_slice(args);
    harness::run(socklab(&all), text.as_bytes())
}

/// A line with its non-zero ports as `P` (ephemeral ports differ per run).
pub fn norm(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("htons(") {
        let (head, tail) = rest.split_at(i + "htons(".len());
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        out.push_str(if digits == "0" { "0" } else { "P" });
        rest = &tail[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// The stdout lines, normalised.
pub fn lines(o: &Outcome) -> Vec<String> {
    o.stdout.lines().map(norm).collect()
}
