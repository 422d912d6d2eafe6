//! The runner's side of actors on the lab network's hosts (`hosts.rs`
//! reads them): such an actor's thread starts inside the host's network
//! namespace (`openat` of `/run/netns/N-HOST`, `setns`, `close`, on the
//! actor's own thread, traced and printed as its first lines), before
//! the script's first call, and its lines are tagged `NAME@HOST` so that
//! the timeline replays.

use std::path::Path;

use nix::errno::Errno;

use super::actors::Actor;
use super::run::Runner;
use crate::values::error::{Error, Result};

impl Runner {
    /// Start every actor on a host, each entering its host, before any
    /// of the script's calls: a host that is not there (the network is
    /// not up) fails the run before it began.
    pub fn enter_hosts(&mut self) -> Result<()> {
        let mut names: Vec<String> = Vec::new();
        for s in &self.steps {
            if s.host.is_some() && !names.contains(&s.actor) {
                names.push(s.actor.clone());
            }
        }
        for name in names {
            self.actor(&name)?;
        }
        Ok(())
    }

    /// The shell: start step `id`'s actor if it is on a host (the error
    /// if it cannot enter it; the session goes on).
    pub fn enter_host_of(&mut self, id: usize) -> Result<()> {
        match self.steps.get(id) {
            Some(s) if s.host.is_some() => {
                let name = s.actor.clone();
                self.actor(&name).map(drop)
            }
            _ => Ok(()),
        }
    }

    /// A new actor's thread: inside its host if it is on one, the calls
    /// that entered it printed first (on a failure too).
    pub(super) fn spawn(&mut self, name: &str) -> Result<Actor> {
        let on_fork = super::process::child;
        let (inspector, tx) = (self.inspector.clone(), self.tx.clone());
        let Some(host) = self.host_of(name) else {
            return Actor::spawn(name, inspector, tx, on_fork);
        };
        let names = crate::net::Names::new(Some(&self.net))?;
        let path = Path::new("/run/netns").join(names.host(&host)?);
        let (actor, events, entered) = Actor::spawn_in(name, Some(path), inspector, tx, on_fork)?;
        for ev in &events {
            self.print_event(name, ev);
        }
        match entered {
            Ok(()) => Ok(actor),
            Err(e) => Err(not_entered(&e, &host, &self.net)),
        }
    }

    /// The host actor `name` is on, if any (a fork's child: none, it is
    /// where its parent is).
    pub(super) fn host_of(&self, name: &str) -> Option<String> {
        self.steps
            .iter()
            .find(|s| s.actor == name)
            .and_then(|s| s.host.clone())
    }

    /// The tag of actor `name`'s lines: `NAME@HOST` on a host.
    pub(super) fn tag(&self, name: &str) -> String {
        match self.host_of(name) {
            Some(h) => format!("{name}@{h}"),
            None => name.to_string(),
        }
    }
}

/// Why an actor could not enter `host` of network `net`, in one line.
fn not_entered(e: &Error, host: &str, net: &str) -> Error {
    let up = match net {
        "socklab" => "socklab net up".to_string(),
        n => format!("socklab net up --name {n}"),
    };
    let ns = format!("/run/netns/{net}-{host}");
    Error::Runtime(match e.errno() {
        Some(Errno::ENOENT) => format!(
            "host {host} of the lab network '{net}' is not there ({ns}: no such namespace); \
             hint: bring the network up first: {up} (a network of another name: script --net NAME)"
        ),
        Some(Errno::EPERM | Errno::EACCES) => format!(
            "entering host {host} ({ns}) needs root (setns: CAP_SYS_ADMIN); hint: run it with sudo"
        ),
        _ => format!("cannot enter host {host} ({ns}): {e}; hint: {up}"),
    })
}
