//! The signals under way to a script's handlers (handled.rs), kept by
//! the runner.

use std::collections::BTreeMap;
use std::fs::File;

/// A signal sent to an actor asleep in step `step`'s call, whose
/// handler will run.
pub(super) struct Kick {
    pub sig: i32,
    /// strace's `--- SIG {...} ---` line.
    pub line: String,
    /// The handler's runs before (a thread actor's).
    pub before: u64,
    /// A process actor's /proc status (its pending signals) and flags.
    pub process: Option<(Option<File>, u64)>,
}

/// The signals under way to handlers, and process actors' handlers.
#[derive(Default)]
pub(super) struct Kicks {
    pub pending: BTreeMap<usize, Kick>,
    /// (pid, signal) -> sa_flags of a process actor's handler.
    pub procs: BTreeMap<(i32, i32), u64>,
    /// The SIGCHLD handler's runs already shown (a thread actor's
    /// handler: the kernel's signal when a process actor ends).
    pub children_shown: u64,
}
