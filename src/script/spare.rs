//! The shell's spare actors: a line that names no actor, typed while
//! its actor is blocked, runs on a thread that is not (`main-2`, ...),
//! so the prompt comes back. The shell's `save` writes such a line with
//! that actor's tag, so `socklab script` runs the saved file the same way.

use super::check::Step;
use super::run::Runner;
use crate::values::error::Result;

impl Runner {
    /// The actor for step `id`: its own; in the shell, a line that names
    /// no actor goes to a thread that is not blocked (a new one if need
    /// be), remembered in `moved` when that is not its own.
    pub(super) fn free_actor(&mut self, id: usize, step: &Step) -> Result<usize> {
        let a = self.actor(&step.actor)?;
        if !self.keep_going || step.tagged {
            return Ok(a);
        }
        for n in 1.. {
            // A name a script can tag a line with (`#` would start a comment).
            let name = if n == 1 {
                step.actor.clone()
            } else {
                format!("{}-{n}", step.actor)
            };
            let i = self.actor(&name)?;
            if self.actors.get(i).is_some_and(|x| x.busy.is_none()) {
                if n > 1 {
                    self.moved.insert(id, name);
                }
                return Ok(i);
            }
        }
        Ok(a)
    }

    /// The actor step `id` ran on when that was not its own (the shell).
    pub(super) fn moved_to(&self, id: usize) -> Option<&str> {
        self.moved.get(&id).map(String::as_str)
    }
}
