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
/// without the actors' `[pid N] ` ([`script_raw`] keeps them).
pub fn script(text: &str, args: &[&str]) -> Outcome {
    let mut o = script_raw(text, args);
    o.stdout = harness::untasked(&o.stdout);
    o
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
