//! Actors on the hosts of the lab network (issue 16, `socklab net`):
//! `client@b | connect(...)`. The check pass takes `@HOST` off each
//! actor's name and fixes the actor's host at its first line
//! ([`split`]); the runner's side is `entering.rs`.

use std::collections::BTreeMap;

use super::ast::{self, ExprKind, Outcome, ParseError};

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
    for (i, line) in lines.iter().enumerate() {
        let tag = line.actor.clone().unwrap_or_else(|| "main".to_string());
        let (name, host) = match tag.split_once('@') {
            Some((n, h)) => (n.to_string(), Some(h.to_string())),
            None if !seen.first.contains_key(&tag) && !seen.children.contains_key(&tag) => {
                let host = entered(lines, i, line.actor.as_deref());
                (tag.clone(), host)
            }
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

/// The host an actor with no `@HOST` enters by its own first two lines,
/// as `strace -f` shows a thread of a program entering it (the emitted
/// twins' `EnterHost`): `[pid N] openat(AT_FDCWD, "/run/netns/NET-HOST",
/// ...) = FD`, then `[pid N] setns(FD, CLONE_NEWNET) = 0`. Replayed, the
/// actor is on HOST of this run's network, as if written `pid N@HOST`.
fn entered(lines: &[ast::Line], i: usize, actor: Option<&str>) -> Option<String> {
    let line = lines.get(i)?;
    if line.call.name != "openat" {
        return None;
    }
    let Some(ExprKind::Str { bytes, .. }) = line.call.args.get(1).map(|a| &a.kind) else {
        return None;
    };
    let namespace = std::str::from_utf8(bytes.strip_prefix(b"/run/netns/")?).ok()?;
    let host = namespace.rsplit_once('-')?.1;
    let fd = match &line.call.result {
        Some(ast::Expect {
            value: Outcome::Value(n),
            ..
        }) => *n,
        _ => return None,
    };
    let next = lines
        .iter()
        .skip(i + 1)
        .find(|l| l.actor.as_deref() == actor)?;
    let setns = next.call.name == "setns"
        && matches!(next.call.args.first().map(|a| &a.kind), Some(ExprKind::Int(n)) if *n == fd);
    (setns && HOSTS.contains(&host)).then(|| host.to_string())
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
