//! SIGCHLD and the runner's own threads. A thread actor may install a
//! SIGCHLD handler (the fork model's record); the kernel signals the
//! thread that forked the process actor that ended, unless that thread
//! cannot take it then (under `strace -f` it may be in a ptrace stop),
//! when it picks another thread of socklab's: a runner thread's handler
//! would take it and the actor's call would not see it. So while a run
//! lasts, the runner's thread blocks SIGCHLD (the threads it starts
//! inherit the mask: the process actors' pipe threads, the end's
//! thread), and each actor's thread unblocks it as it starts, so that
//! only actors take the signal. Untraced (socklab's plumbing, as its
//! pipes: `strace -f` shows these rt_sigprocmask calls); a process
//! actor forked from an actor's thread starts with that thread's mask.

use std::cell::Cell;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::sys::untraced;

thread_local! {
    /// Whether this thread's run blocked SIGCHLD in it.
    static BLOCKED: Cell<bool> = const { Cell::new(false) };
}

fn chld() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set
}

/// SIGCHLD blocked in the runner's thread for as long as it lives (a
/// mask that already held it is left as it was).
pub(super) struct Blocked(bool);

impl Blocked {
    pub(super) fn new() -> Blocked {
        let done = match untraced::sigmask(SigmaskHow::SIG_BLOCK, &chld()) {
            Ok(old) => !old.contains(Signal::SIGCHLD),
            Err(_) => false,
        };
        BLOCKED.with(|b| b.set(done));
        Blocked(done)
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        if self.0 {
            let _ = untraced::sigmask(SigmaskHow::SIG_UNBLOCK, &chld());
            BLOCKED.with(|b| b.set(false));
        }
    }
}

/// Whether an actor started from this thread must unblock SIGCHLD.
pub(super) fn blocked_here() -> bool {
    BLOCKED.with(Cell::get)
}

/// In an actor's thread, first: take SIGCHLD again, as before the run.
pub(super) fn unblock_in_actor() {
    let _ = untraced::sigmask(SigmaskHow::SIG_UNBLOCK, &chld());
}
