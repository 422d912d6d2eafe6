//! A timeline's calls (a lab's, a script's, `--record`'s file), normalised
//! as `make compare` normalises traces, for the round trip (issue 14):
//! one `actor | call(...) = result` per call, in the order the calls
//! started.

use std::collections::HashMap;

use super::normalize::Normalizer;
use super::rules::replace_all;

/// The calls of timeline `text`, each actor's `[pid N] ` dropped: lines that are not calls (comments,
/// notes `actor | # ...`, program output `actor > text`, lab headers)
/// left out; an `<unfinished ...>` line joined with its actor's `<...
/// NAME resumed>` line, at the unfinished line's place; then, on each
/// call without its actor tag, its fds named as labels ([`Fds`]), then
/// the rules of [`Normalizer::call_line`] (ports and autobind names by
/// first appearance, pointers, poll's timeout, queue depths).
pub fn timeline_calls(text: &str) -> Vec<String> {
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let (actor, call) = match line.split_once(" | ") {
            Some((a, c)) if is_actor(a.trim()) => (a.trim().to_string(), c),
            _ => (String::new(), line),
        };
        // A lab network's link change (`net | set SPEC`): compared too.
        if actor == "net" && call.starts_with("set ") {
            calls.push((actor, call.to_string()));
            continue;
        }
        // A timeline's `[pid N] ` after the tag (which task made it):
        // the round trip compares the calls.
        let call = crate::harness::untask(call);
        if let Some(rest) = call.strip_prefix("<... ") {
            let Some((_, rest)) = rest.split_once(" resumed>") else {
                continue;
            };
            if let Some(i) = open.remove(&actor)
                && let Some(entry) = calls.get_mut(i)
            {
                let head = entry.1.trim_end_matches(" <unfinished ...>").to_string();
                entry.1 = format!("{head}{rest}");
            }
            continue;
        }
        let named = call
            .split_once(" = ")
            .is_some_and(|(n, rest)| is_actor(n) && is_call(rest));
        if !is_call(call) && !named {
            continue;
        }
        if call.ends_with(" <unfinished ...>") {
            open.insert(actor.clone(), calls.len());
        }
        calls.push((actor, call.to_string()));
    }
    let mut n = Normalizer::new(&HashMap::new());
    let mut fds = Fds::default();
    calls
        .into_iter()
        .map(|(actor, call)| {
            let call = n.call_line(&fds.rename(&call));
            if actor.is_empty() {
                call
            } else {
                format!("{actor} | {call}")
            }
        })
        .collect()
}

/// fds as labels, the way a script reads them (issue 14, rule 3): a
/// number returned by a call that opens an fd gets a new name (`FD1`,
/// `FD2`...), a number used later means that name until its `close`.
/// (By first appearance alone, as `make compare` numbers a program's
/// fds, a timeline whose kernel reused another number would differ.)
#[derive(Default)]
struct Fds {
    names: HashMap<String, String>,
    next: usize,
    /// pids (a fork's result, wait4's) by first appearance: `PID1`...
    pids: HashMap<String, String>,
}

impl Fds {
    fn name(&mut self, fd: &str) -> String {
        if let Some(n) = self.names.get(fd) {
            return n.clone();
        }
        self.fresh(fd)
    }

    fn fresh(&mut self, fd: &str) -> String {
        self.next += 1;
        let name = format!("FD{}", self.next);
        self.names.insert(fd.to_string(), name.clone());
        name
    }

    /// The line with its fds named: the first argument of a call on an
    /// fd, poll's `fd=N`, the fd a call returns, socketpair's pair,
    /// SCM_RIGHTS' `cmsg_data=[...]`.
    fn rename(&mut self, line: &str) -> String {
        // A script's fork names its child: `ign = clone(...) = PID`.
        if let Some((name, rest)) = line.split_once(" = ")
            && is_actor(name)
            && is_call(rest)
        {
            return format!("{name} = {}", self.rename(rest));
        }
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let Some(open) = line.find('(') else {
            return line.to_string();
        };
        let call = &line[..open];
        let mut out = line.to_string();
        let on_fd = !matches!(
            call,
            "socket"
                | "socketpair"
                | "kill"
                | "unlink"
                | "getrandom"
                | "clone"
                | "wait4"
                | "exit_group"
                | "rt_sigaction"
                | "tgkill"
        );
        let n = digits(&out[open + 1..]);
        let mut closed = None;
        if on_fd && n > 0 {
            let fd = out[open + 1..open + 1 + n].to_string();
            out.replace_range(open + 1..open + 1 + n, &self.name(&fd));
            if call == "close" {
                closed = Some(fd);
            }
        }
        out = replace_all(&out, "fd=", |rest| {
            let n = digits(rest);
            (n > 0).then(|| (self.name(&rest[..n]), n))
        });
        let pair = |me: &mut Fds, rest: &str| {
            let end = rest.find(']')?;
            let names: Vec<String> = rest[..end]
                .split(", ")
                .map(|fd| match digits(fd) == fd.len() && !fd.is_empty() {
                    true => me.fresh(fd),
                    false => fd.to_string(),
                })
                .collect();
            Some((names.join(", "), end))
        };
        if call == "socketpair" {
            out = replace_all(&out, ", [", |rest| pair(self, rest));
        }
        out = replace_all(&out, "cmsg_data=[", |rest| pair(self, rest));
        let opens = [
            "socket",
            "accept",
            "accept4",
            "dup",
            "dup2",
            "epoll_create1",
            "openat",
        ];
        if opens.contains(&call)
            && let Some((head, ret)) = out.rsplit_once(" = ")
            && !ret.is_empty()
            && digits(ret) == ret.len()
        {
            out = format!("{head} = {}", self.fresh(ret));
        }
        if let Some(fd) = closed {
            self.names.remove(&fd);
        }
        if matches!(call, "clone" | "wait4" | "kill") {
            out = self.pids(&out, call, open);
        }
        out
    }

    /// A fork's pid (its result), wait4's and kill's (their first
    /// argument, wait4's result) as labels.
    fn pids(&mut self, line: &str, call: &str, open: usize) -> String {
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let mut out = line.to_string();
        let name = |me: &mut Fds, pid: &str| {
            let next = format!("PID{}", me.pids.len() + 1);
            me.pids.entry(pid.to_string()).or_insert(next).clone()
        };
        let n = digits(&out[open + 1..]);
        if call != "clone" && n > 0 {
            let pid = out[open + 1..open + 1 + n].to_string();
            out.replace_range(open + 1..open + 1 + n, &name(self, &pid));
        }
        if call != "kill"
            && let Some((head, ret)) = out.rsplit_once(" = ")
            && !ret.is_empty()
            && digits(ret) == ret.len()
        {
            out = format!("{head} = {}", name(self, ret));
        }
        out
    }
}

/// An actor's name as a timeline tags it.
fn is_actor(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '#' | ' ' | '@'))
}

/// `name(...`: a call (not a comment, a note, a header, program output).
fn is_call(s: &str) -> bool {
    let name: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    !name.is_empty()
        && s[name.len()..].starts_with('(')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// The program's calls in a raw `strace -f -y -o` trace of a program
/// with threads (issue 17's emitted twins, `socklab script`): each
/// `<unfinished ...>` line joined with its thread's `<... NAME resumed>`
/// line at the unfinished line's place (the order the calls started, as
/// a script's lines run), then the rules of `make compare` (only the
/// program's own calls, fds by first appearance, ports, pointers).
pub fn strace_calls(raw: &str) -> Vec<String> {
    strace_calls_with(raw, |c| Some(c.to_string()))
}

/// [`strace_calls`] with each joined raw call first rewritten by `map`
/// (None: left out) before the rules number fds and ports.
pub fn strace_calls_with(raw: &str, mut map: impl FnMut(&str) -> Option<String>) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for line in raw.lines() {
        let (pid, call) = line.split_once(' ').unwrap_or(("", line));
        let call = call.trim_start();
        if call.starts_with("???(") {
            // `???( <detached ...>`: a thread that exited under strace.
            continue;
        }
        if let Some(rest) = call.strip_prefix("<... ") {
            if let Some((_, rest)) = rest.split_once(" resumed>")
                && let Some(i) = open.remove(pid)
                && let Some(entry) = calls.get_mut(i)
            {
                let head = entry.trim_end_matches(" <unfinished ...>").to_string();
                *entry = format!("{head}{rest}");
            }
            continue;
        }
        if call.ends_with(" <unfinished ...>") {
            open.insert(pid.to_string(), calls.len());
        }
        calls.push(call.to_string());
    }
    let mut n = Normalizer::new(&HashMap::new());
    calls
        .into_iter()
        .filter_map(|c| map(&c))
        .filter_map(|c| n.trace_line(&c))
        .collect()
}
