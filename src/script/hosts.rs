//! Actors on the hosts of the lab network (issue 16, `socklab net`):
//! `client@b | connect(...)`. The check pass takes `@HOST` off each
//! actor's name and fixes the actor's host at its first line
//! ([`split`]); the runner starts such an actor's thread inside the
//! host's network namespace (`openat` of `/run/netns/N-HOST`, `setns`,
//! `close`, on the actor's own thread, traced and printed as its first
//! lines), before the script's first call, and tags its lines
//! `NAME@HOST` so that the timeline replays.

use std::collections::BTreeMap;
use std::path::Path;

use nix::errno::Errno;

use super::actors::Actor;
use super::ast::{self, ExprKind, Outcome, ParseError};
use super::run::Runner;
use crate::values::error::{Error, Result};

/// The hosts of the lab network.
pub const HOSTS: [&str; 2] = ["a", "b"];

/// Where an actor was first seen: its host (None: socklab's own
/// namespace) and that line's number.
struct First {
    host: Option<String>,
    line: usize,
}

/// What [`split`] keeps while it reads the lines.
#[derive(Default)]
struct Seen {
    first: BTreeMap<String, First>,
    /// Each fork's child: its parent's host (a child is where its parent is).
    children: BTreeMap<String, Option<String>>,
    /// The fd a host actor's `openat` of `/run/netns/...` returned, while
    /// its entry lines last.
    entry_fd: BTreeMap<String, Option<i64>>,
    /// The actors whose own calls began.
    started: std::collections::BTreeSet<String>,
}

/// The lines with `@HOST` taken off their actors' names, and the host of
/// each actor on one. Errors: an unknown host; a host other than the one
/// the actor's first line fixed (no host there included); a fork's child
/// on a host other than its parent's. The lines by which a timeline shows
/// a host actor entering its host (`openat` of `/run/netns/...`, `setns`,
/// the `close` of that fd, before its first call) are left out: the
/// runner makes them itself.
pub fn split(
    lines: &[ast::Line],
    errors: &mut Vec<ParseError>,
) -> (Vec<ast::Line>, BTreeMap<String, String>) {
    let mut seen = Seen::default();
    let mut hosts: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for line in lines {
        let tag = line.actor.clone().unwrap_or_else(|| "main".to_string());
        let (name, host) = match tag.split_once('@') {
            Some((n, h)) => (n.to_string(), Some(h.to_string())),
            None => (tag.clone(), None),
        };
        if let Some(h) = &host
            && let Some(e) = placed(&mut seen, &mut hosts, line, &name, h)
        {
            errors.push(e);
        }
        seen.first.entry(name.clone()).or_insert(First {
            host: host.clone(),
            line: line.no,
        });
        if matches!(line.call.name.as_str(), "clone" | "fork")
            && let Some(child) = child_of(line)
        {
            seen.children.insert(child, hosts.get(&name).cloned());
        }
        if hosts.contains_key(&name) && entry_line(&mut seen, &name, line) {
            continue;
        }
        seen.started.insert(name.clone());
        let mut l = line.clone();
        if line.actor.is_some() {
            l.actor = Some(name);
        }
        out.push(l);
    }
    (out, hosts)
}

/// Check `NAME@HOST` on `line`; the host recorded if it is the actor's
/// first line. The error, if any.
fn placed(
    seen: &mut Seen,
    hosts: &mut BTreeMap<String, String>,
    line: &ast::Line,
    name: &str,
    host: &str,
) -> Option<ParseError> {
    let at = |msg: String| {
        let col = line
            .text
            .find(&format!("{name}@"))
            .and_then(|i| line.text.get(..i))
            .map_or(1, |before| {
                before.chars().count() + name.chars().count() + 2
            });
        Some(ParseError {
            line: line.no,
            col,
            msg,
        })
    };
    if !HOSTS.contains(&host) {
        return at(format!(
            "unknown host '{}': the lab network's hosts are a and b (socklab net up)",
            crate::values::error::printable(host)
        ));
    }
    if let Some(parent) = seen.children.get(name) {
        return match parent.as_deref() {
            Some(p) if p == host => None,
            Some(p) => at(format!(
                "'{name}' is a fork's child: it is on its parent's host, {p}, not {host}"
            )),
            None => at(format!(
                "'{name}' is a fork's child: it is where its parent is, not on host {host} \
                 (its parent's first line names no host)"
            )),
        };
    }
    match seen.first.get(name) {
        None => {
            hosts.insert(name.to_string(), host.to_string());
            None
        }
        Some(First { host: Some(h), .. }) if h == host => None,
        Some(First {
            host: Some(h),
            line,
        }) => at(format!(
            "'{name}' is on host {h} (line {line}): an actor's host is fixed at its first line"
        )),
        Some(First { host: None, line }) => at(format!(
            "'{name}' ran line {line} in socklab's own network namespace: an actor's host is \
             fixed at its first line (write '{name}@{host} | ' there)"
        )),
    }
}

/// A fork's child named by its line: `NAME = fork()`, or `pid N` for a
/// written result (as check.rs names it).
fn child_of(line: &ast::Line) -> Option<String> {
    if let Some((name, _)) = &line.bind {
        return Some(name.clone());
    }
    match &line.call.result {
        Some(ast::Expect {
            value: Outcome::Value(n),
            ..
        }) => Some(format!("pid {n}")),
        _ => None,
    }
}

/// Is `line` one of the lines that show host actor `name` entering its
/// host, before its first call? (`openat(AT_FDCWD, "/run/netns/...",
/// O_RDONLY|O_CLOEXEC) = N`, `setns(N, CLONE_NEWNET) = 0`, `close(N) = 0`.)
fn entry_line(seen: &mut Seen, name: &str, line: &ast::Line) -> bool {
    if seen.started.contains(name) {
        return false;
    }
    let args = &line.call.args;
    match line.call.name.as_str() {
        "openat" => {
            let netns = matches!(
                args.get(1).map(|a| &a.kind),
                Some(ExprKind::Str { bytes, .. }) if bytes.starts_with(b"/run/netns/")
            );
            if netns {
                let fd = match &line.call.result {
                    Some(ast::Expect {
                        value: Outcome::Value(n),
                        ..
                    }) => Some(*n),
                    _ => None,
                };
                seen.entry_fd.insert(name.to_string(), fd);
            }
            netns
        }
        "setns" => seen.entry_fd.contains_key(name),
        "close" => {
            let fd = match args.first().map(|a| &a.kind) {
                Some(ExprKind::Int(n)) => Some(*n),
                _ => None,
            };
            let entry = seen.entry_fd.get(name).copied().flatten();
            if fd.is_some() && fd == entry {
                seen.entry_fd.remove(name);
                return true;
            }
            false
        }
        _ => false,
    }
}

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
