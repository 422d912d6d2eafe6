//! A traced program's own end, as `strace -f` shows it (issue 15): after
//! its last call, `exit_group(N) = ?` and `+++ exited with N +++`, N the
//! exit code the user sees. `run` names the program's `Sys` here
//! ([`traced_by`]) once it is about to make calls; `exit_code` ends
//! through it ([`exit`]), the one place the outcome becomes the code.
//! A usage error (exit 2, found before any call) and a run without a
//! trace end as before: no line, `main` returns the code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

use super::args::{Cli, Command};
use crate::strace::RECORD_COMMENT;
use crate::sys::Sys;

/// The traced program's `Sys`, if a program is running with a trace.
static TRACED: OnceLock<Sys> = OnceLock::new();

/// The program traced through `sys` ends through it (not demo, whose
/// trace is its own timeline, as a lab's). Its end lines go to a
/// `--record` file as `#` comments: a replayed script has no main
/// actor's `exit_group` (the runner ends the replay), and a record
/// joined with others must not end there.
pub(super) fn traced_by(sys: &Sys, cli: &Cli) {
    if !sys.tracer().enabled() || matches!(cli.command, Command::Demo) {
        return;
    }
    let sys = match cli.record.is_some() {
        true => sys.retraced(sys.tracer().record_tagged(RECORD_COMMENT)),
        false => sys.clone(),
    };
    let _ = TRACED.set(sys);
}

/// End the process with `code`: through the traced `exit_group` when a
/// traced program ran (stdout and stderr flushed first: the program's
/// output is all out before its end line), else returned to `main`.
pub(super) fn exit(code: u8) -> ExitCode {
    if let Some(sys) = TRACED.get() {
        // Untraced: the program's own output (std's buffers; most lines
        // went out whole already, so usually no write at all).
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        sys.exit_group(i32::from(code));
    }
    ExitCode::from(code)
}
