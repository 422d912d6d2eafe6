//! The runner's waiting: for the calls that end by themselves
//! (`waits.rs`) before a line, for the calls a line woke to settle, for
//! any message; a line that cannot start.

use std::time::{Duration, Instant};

use super::actors::Actor;
use super::run::{LOOK_EVERY, Runner};
use crate::values::error::Result;

/// The runner's waiting: for calls that end by themselves, for woken
/// calls to settle, for any message.
impl Runner {
    /// Calls under way whose `<... resumed>` line stands before step
    /// `next` and that end by themselves (waits.rs): wait for their return.
    pub(super) fn join_resumed(&mut self, next: usize) {
        if self.keep_going {
            return;
        }
        let due: Vec<(usize, Duration)> = self
            .under
            .keys()
            .filter_map(|&j| {
                let step = self.steps.get(j)?;
                let by_itself = super::waits::ends_by_itself(step)?;
                (step.resumed_at? <= next).then_some((j, by_itself))
            })
            .collect();
        for (j, by_itself) in due {
            let deadline = Instant::now() + by_itself + self.timeout;
            while self.under.contains_key(&j) && self.wait_any(deadline) {}
        }
    }

    /// A line may have woken a blocked call (a connect, its accept): wait
    /// until every actor with a call under way is asleep in it again or
    /// has returned, so that what it woke prints next, not later.
    pub(super) fn settle(&mut self) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let running = self
                .under
                .values()
                .any(|u| u.unfinished && self.actors.get(u.actor).is_some_and(|a| !a.asleep()))
                || self.actors.iter().any(Actor::dying);
            if !running || Instant::now() >= deadline {
                return;
            }
            if let Ok(msg) = self.rx.recv_timeout(LOOK_EVERY) {
                self.take(msg, None);
            }
        }
    }

    /// Print step `id`'s call as unfinished.
    pub(super) fn unfinished(&mut self, id: usize) {
        let Some(u) = self.under.get_mut(&id) else {
            return;
        };
        u.unfinished = true;
        let a = u.actor;
        let Some(actor) = self.actors.get(a) else {
            return;
        };
        let name = actor.name.clone();
        if let Some((row, args)) = actor.entered() {
            self.side(&name).unfinished(row, &args);
        }
    }

    /// Wait for any call under way to return (or the shell's input, when
    /// `until` is None); false when `deadline` passed first.
    pub(super) fn wait_any(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(msg) => {
                self.take(msg, None);
                true
            }
            Err(_) => false,
        }
    }

    /// A line cannot start: what it waits for never came.
    pub(super) fn stuck(&mut self, id: usize, why: &str) -> Result<()> {
        let secs = self.timeout.as_secs_f64();
        self.fail(id, vec![format!("  cannot start after {secs}s: {why}")])
    }
}
