#![doc = include_str!("reference.md")]

use std::time::Duration;

use crate::strace::{Format, Stream, Tracer};
use crate::values::error::{Error, Result};

mod actors;
mod asleep;
pub mod ast;
mod awaiting;
mod batch;
mod birth;
mod call;
pub mod check;
mod chld_mask;
mod cmsgs;
mod ctl_calls;
mod editing;
pub mod emit;
mod end;
mod entering;
mod epoll_data;
mod expand;
mod expect;
mod files;
mod forks;
mod frame;
mod handled;
mod hosts;
mod kicks;
mod labels;
pub mod link;
mod own;
pub mod parse;
mod process;
mod procs;
mod reaped;
mod reaping;
mod request;
mod resolve;
mod returned;
mod run;
pub mod shell;
mod spare;
#[cfg(test)]
mod tests;
mod threads;
mod waits;

/// How a script runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The timeline's format: text (strace's lines) or JSON Lines.
    pub trace: Format,
    /// `--show-state`: each TCP socket's state after each call.
    pub show_state: bool,
    /// `--timeout`: how long calls still blocked at the end may take.
    pub timeout: Duration,
    /// `--wire`, `--pcap`: the packets of the script's ports among its
    /// lines (`run_file` only; a lab has its own capture).
    pub wire: crate::wire::Options,
    /// The file's name in messages (`-` for stdin).
    pub file_name: String,
    /// `--net N`: the lab network whose hosts `NAME@HOST` actors enter.
    pub net: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            trace: Format::Text,
            show_state: false,
            timeout: Duration::from_secs(5),
            wire: crate::wire::Options::default(),
            file_name: "-".into(),
            net: "socklab".into(),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// Every expectation held.
    pub pass: bool,
    /// Each call made, in the order it returned.
    pub lines: Vec<Done>,
    /// The failure report (FILE:LINE: ..., expected, got, last calls).
    pub failure: Option<String>,
    /// How each process actor ended, in the order they did.
    pub ends: Vec<(String, crate::sys::untraced::Ended)>,
}

/// One call made.
#[derive(Debug, Clone)]
pub struct Done {
    pub line_no: usize,
    pub actor: String,
    pub call: &'static str,
    pub ret: std::result::Result<i64, nix::errno::Errno>,
    /// Bytes received, if any.
    pub out: Vec<u8>,
    /// The strace line printed.
    pub text: String,
    /// From the call's entry to its return (a lab's verdict may time it).
    pub took: Duration,
}

/// The steps of a script, or each error as `FILE:LINE:COL: message`.
pub fn prepare(text: &str, file: &str) -> std::result::Result<Vec<check::Step>, Vec<String>> {
    let (_, mut errors) = link::directives(text);
    let (lines, _) = ctl_calls::exchanges(parsed(text, &mut errors));
    match check::check(&lines) {
        Ok(steps) if errors.is_empty() => return Ok(steps),
        Ok(_) => {}
        Err(more) => errors.extend(more),
    }
    errors.sort_by_key(|e| (e.line, e.col));
    Err(errors
        .iter()
        .map(|e| format!("{file}:{}:{}: {}", e.line, e.col, e.msg))
        .collect())
}

/// The call lines of `text` (not its `net | set` lines), and their errors.
fn parsed(text: &str, errors: &mut Vec<ast::ParseError>) -> Vec<ast::Line> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if link::directive(i + 1, line).is_some() {
            continue;
        }
        match parse::parse_line(i + 1, line) {
            Ok(Some(l)) => lines.push(l),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    lines
}

/// Every link change of `text`, by line: its `net | set SPEC` lines and
/// the control exchanges a traced program made (ctl_calls.rs), each
/// (line, SPEC).
pub(crate) fn link_changes(text: &str) -> Vec<(usize, String)> {
    let (mut found, _) = link::directives(text);
    found.extend(ctl_calls::exchanges(parsed(text, &mut Vec::new())).1);
    found.sort();
    found
}

/// Run a script, its timeline on stdout. Errors in the script are
/// printed on stderr (no call is made) and returned as a usage error.
pub fn run_file(text: &str, opts: &Options) -> Result<Outcome> {
    let tracer = Tracer::new(opts.trace, Box::new(Stream::stdout()));
    match prepare(text, &opts.file_name) {
        Ok(steps) if opts.wire.active() => {
            // --wire, --pcap: the packets of the script's ports, among
            // its lines (the timeline learns the ports from the calls).
            let (tracer, timeline) = crate::wire::timeline(tracer, &opts.wire);
            let sys = crate::sys::Sys::new(tracer.clone());
            let wire = crate::wire::start(&sys, timeline, &opts.wire, &[])?;
            own::print(&tracer, own::START);
            let outcome = run_steps(steps, text, opts, &tracer);
            let stopped = wire.stop(&sys);
            let outcome = outcome?;
            stopped.map(|()| ended(&tracer, outcome))
        }
        Ok(steps) => {
            own::print(&tracer, own::START);
            run_steps(steps, text, opts, &tracer).map(|o| ended(&tracer, o))
        }
        Err(lines) => {
            let n = lines.len();
            crate::strace::write_line(&mut std::io::stderr().lock(), &lines.join("\n"));
            Err(Error::Usage(format!(
                "{}: {n} error{} in the script; no call was made",
                opts.file_name,
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

/// After a run's last line (and `--wire`'s stop): how strace -f ends
/// it (own.rs; the runner's note before its first line is `START`).
fn ended(tracer: &Tracer, outcome: Outcome) -> Outcome {
    own::print(tracer, &own::end(if outcome.pass { 0 } else { 1 }));
    outcome
}

/// Run a script with its timeline through `tracer` (a lab's: actor tags
/// are its sides). Errors in the script: a usage error with every line.
pub fn run_with(text: &str, opts: &Options, tracer: &Tracer) -> Result<Outcome> {
    match prepare(text, &opts.file_name) {
        Ok(steps) => run_steps(steps, text, opts, tracer),
        Err(lines) => Err(Error::Usage(lines.join("\n"))),
    }
}

/// Run `steps` (of `text`, whose `net | set SPEC` lines change the link
/// between them, `link.rs`).
fn run_steps(
    steps: Vec<check::Step>,
    text: &str,
    opts: &Options,
    tracer: &Tracer,
) -> Result<Outcome> {
    let links = link_changes(text);
    if !links.is_empty() {
        link::check_up(&opts.net)?;
    }
    // Each link change runs before the first step written after it.
    let before: Vec<usize> = steps.iter().map(|s| s.no).collect();
    let mut links = links.into_iter().peekable();
    let n = steps.len();
    // Dropped after the runner (its actors joined): see chld_mask.rs.
    let _chld = chld_mask::Blocked::new();
    let mut runner = run::Runner::new(steps, opts, tracer.clone());
    runner.enter_hosts()?;
    for (id, no) in before.iter().enumerate().take(n) {
        while let Some((at, spec)) = links.next_if(|(at, _)| at < no) {
            runner.before_link(id);
            link::set(tracer, &opts.net, at, &spec)?;
        }
        runner.run_step(id)?;
        if runner.failed() {
            break;
        }
    }
    if !runner.failed() {
        for (at, spec) in links {
            runner.before_link(n);
            link::set(tracer, &opts.net, at, &spec)?;
        }
    }
    runner.end()?;
    let failure = runner.report();
    Ok(Outcome {
        pass: failure.is_none(),
        lines: std::mem::take(&mut runner.done),
        failure,
        ends: std::mem::take(&mut runner.ends),
    })
}
