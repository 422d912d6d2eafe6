//! The timeline a tracer's lines may go through instead of its sink
//! (`--wire`'s, src/wire/timeline/; a lab's): the trait the tracer sees
//! it through, and a call under way in it.

use std::sync::Arc;
use std::time::SystemTime;

use crate::values::addr::Addr;
use crate::values::calls::Syscall;

/// `--wire` (src/wire/timeline.rs): syscall lines go to a timeline that
/// orders them with packet lines by time, instead of straight to the sink.
pub trait Timeline: Send + Sync {
    /// A call starts now (nothing after this may print before it); returns
    /// a token for [`Timeline::leave`].
    fn enter(&self) -> u64;
    fn leave(&self, token: u64);
    /// A finished call: its entry and return times, the side prefix, its
    /// row, its whole line, and the address it names or learns.
    fn call(
        &self,
        start: SystemTime,
        end: SystemTime,
        prefix: String,
        call: &'static Syscall,
        line: String,
        addr: Option<Addr>,
    );
    /// A port of the program's own: packets to or from it are shown.
    fn watch_port(&self, port: u16);
    /// A comment line (`--show-state`, a lab's `# ...`) at time `at`.
    fn note(&self, at: SystemTime, line: String);
    /// A signal's or an end's line at time `at` (`--- SIGCHLD {...} ---`,
    /// `exit_group(0) = ?`, `+++ killed by SIGTERM +++`): `prefix`, the
    /// `--trace-time` stamp strace gives it, then `text`.
    fn signal(&self, at: SystemTime, prefix: String, text: String) {
        self.note(at, format!("{prefix}{text}"));
    }
    /// A line of the program's stdout at time `at`, printed there at its
    /// place among the trace's lines (after the call that made it).
    fn say(&self, at: SystemTime, line: Vec<u8>);
    /// This task's call under way, as strace prints its entry (the
    /// `<unfinished ...>` line, if it blocks while others print).
    fn entering(&self, _prefix: String, _text: String) {}
    /// Before a fork: every lock a line goes through, held (in the order
    /// the timeline takes them), so that the child cannot inherit one
    /// the capture thread holds at that instant (it would wait forever).
    fn hold_for_fork(&self) -> Vec<Box<dyn ForkHeld + '_>>;
    /// The parent forked: print every line so far now, its clone's too
    /// (a child's lines go straight out: it has no capture thread).
    fn forked(&self);
}

/// A lock guard held across a fork (see [`Timeline::hold_for_fork`]).
pub trait ForkHeld {}
impl<T> ForkHeld for T {}

/// A call under way in the timeline (see [`Tracer::enter`]).
pub struct Entered {
    pub(super) timeline: Arc<dyn Timeline>,
    pub(super) token: u64,
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.timeline.leave(self.token);
    }
}
