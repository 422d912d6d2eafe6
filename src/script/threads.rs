//! The runner's side of a `clone3(...)` line (`birth.rs`): a new thread
//! actor, started by its parent actor's own pthread_create (the line's
//! call), named `NAME` (`NAME = clone3(...)`) or `pid N` for the written
//! result `= N`, so that strace -f's `[pid N]` lines are its lines (the
//! tid is a label, as a fork's pid is).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::actors::{self, Actor, Slot, Started};
use super::birth::Birth;
use super::call::Req;
use super::check::Step;
use super::run::Runner;
use crate::sys::untraced;

impl Runner {
    /// The request of a clone3 line made by actor `a`: a thread of this
    /// process, whose body is a new actor's loop.
    pub(super) fn conceive(&mut self, a: usize) -> std::result::Result<Req, String> {
        if self.actors.get(a).is_some_and(|x| x.pid.is_some()) {
            return Err(
                "a process actor cannot start a thread (clone3 from a thread actor)".into(),
            );
        }
        let slot = Arc::new(Mutex::new(Slot::default()));
        let sys = actors::actor_sys(&slot, self.inspector.clone());
        let (jobs, rx) = std::sync::mpsc::channel();
        let (tx_started, started) = std::sync::mpsc::channel();
        let (to_runner, thread_slot) = (self.tx.clone(), slot.clone());
        let on_fork = super::process::child;
        let birth = Birth::new(Box::new(move |ready| {
            let tid = untraced::gettid();
            let _ = tx_started.send(Started {
                proc: actors::Proc::open("/proc/thread-self"),
                tid,
                events: Vec::new(),
                entered: Ok(()),
            });
            let _ = ready.send(tid);
            actors::serve(&sys, &rx, &thread_slot, &to_runner, on_fork);
        }));
        let actor = Actor::with("", None, jobs, slot);
        self.threading = Some((actor, birth.clone(), started));
        Ok(Req::Thread(birth))
    }

    /// A clone3 returned `tid` (Err: it failed) for `step`: its thread
    /// is a new actor.
    pub(super) fn born(&mut self, step: &Step, tid: Option<i32>) {
        let Some((mut actor, birth, started)) = self.threading.take() else {
            return;
        };
        let Some(tid) = tid else { return };
        let name = step.child.clone().unwrap_or_else(|| format!("pid {tid}"));
        if let Ok(s) = started.recv_timeout(Duration::from_secs(5)) {
            actor.proc = s.proc;
        }
        actor.name = name.clone();
        actor.tid = tid;
        actor.worker = birth.worker();
        let index = self.actors.len();
        self.by_name.insert(name, index);
        self.actors.push(actor);
    }
}
