//! The check pass, before any call is made: each line becomes a [`Step`]
//! (its call table row, its arguments in C order with the short forms
//! expanded, an `<unfinished ...>` line joined with its `<... resumed>`
//! line), and every error is collected: an unknown call, a wrong number
//! of arguments, an unknown constant or errno, a name or an fd used
//! before a line binds it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::ast::{self, Expect, Expr, ExprKind, Form, ParseError};
use super::expand::err;
pub use super::expand::expand;
use super::resolve::is_constant;
use crate::values::calls::{self, Dir, Kind, Syscall};
use crate::values::xlat;

/// One call to make: a call line, or an unfinished line with its resumed one.
#[derive(Debug, Clone)]
pub struct Step {
    /// The line that makes the call.
    pub no: usize,
    /// The line(s) as written, for messages.
    pub text: String,
    pub actor: String,
    /// The lab network's host the actor is on (`NAME@HOST`, hosts.rs).
    pub host: Option<String>,
    /// Whether the line named its actor (the timeline is then tagged).
    pub tagged: bool,
    pub delay: Option<Duration>,
    pub bind: Option<String>,
    pub row: &'static Syscall,
    /// One per argument of the row (fcntl: 2 or 3).
    pub args: Vec<Expr>,
    pub result: Option<Expect>,
    /// A fork's child actor: `NAME = fork()`'s NAME, or `pid N` for a
    /// result `= N` (strace -f's `[pid N]` lines are its).
    pub child: Option<String>,
    /// tgkill's target: the actor whose lines carry `[pid TID]` (strace
    /// -f's, or a timeline's `NAME | [pid TID]`), so that a recorded
    /// tgkill replays to the same actor (its pid and tid are labels).
    pub to: Option<String>,
    /// Written as one line (`name(args) = result`), not as an
    /// `<unfinished ...>` line (see `waits.rs`).
    pub whole: bool,
    /// Written as a pair: the number of calls whose lines come before its
    /// `<... resumed>` line (see `waits.rs`).
    pub resumed_at: Option<usize>,
}

/// Does the call return a new fd?
pub fn returns_fd(row: &Syscall) -> bool {
    matches!(
        row.name,
        "socket" | "accept" | "accept4" | "dup" | "dup2" | "epoll_create1" | "openat"
    )
}

/// The steps of a script, or every error in it.
pub fn check(lines: &[ast::Line]) -> Result<Vec<Step>, Vec<ParseError>> {
    let mut errors = Vec::new();
    let (mut lines, hosts) = super::hosts::split(lines, &mut errors);
    first_task_is_main(&mut lines);
    let lines = lines.as_slice();
    let tagged = lines.iter().any(|l| l.actor.is_some());
    // Join each unfinished line with its actor's next resumed line.
    let mut steps: Vec<(ast::Line, Option<(ast::Line, usize)>)> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    // A call a handler interrupted (`= ? ERESTARTSYS`), and whether the
    // actor's rt_sigreturn said the kernel restarts it (`= NR`, not
    // `= -1 EINTR`): its next line of the same call is that call resumed.
    let mut restart: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for line in lines {
        let actor = line.actor.clone().unwrap_or_else(|| "main".to_string());
        if line.call.name == "rt_sigreturn" {
            if let Some(r) = restart.get_mut(&actor) {
                r.1 = matches!(
                    line.call.result.as_ref().map(|e| &e.value),
                    Some(ast::Outcome::Value(_))
                );
            }
            continue;
        }
        let resumes = match restart.remove(&actor) {
            Some((i, true)) if line.call.form != Form::Resumed => steps
                .get(i)
                .filter(|(u, _)| u.call.name == line.call.name)
                .map(|_| i),
            _ => None,
        };
        match (line.call.form, resumes) {
            (Form::Unfinished, Some(i)) => {
                open.insert(actor, i);
            }
            (Form::Whole, Some(i)) => {
                if let Some(s) = steps.get_mut(i) {
                    s.0.call.args = line.call.args.clone();
                    s.0.call.result = line.call.result.clone();
                    s.1 = None;
                }
            }
            (Form::Whole, None) => steps.push((line.clone(), None)),
            (Form::Unfinished, None) => {
                open.insert(actor, steps.len());
                steps.push((line.clone(), None));
            }
            (Form::Resumed, _) => match open.remove(&actor) {
                Some(i)
                    if steps
                        .get(i)
                        .is_some_and(|(u, _)| u.call.name == line.call.name) =>
                {
                    let calls_before = steps.len();
                    if let Some(s) = steps.get_mut(i) {
                        s.1 = Some((line.clone(), calls_before));
                    }
                    if matches!(line.call.result.as_ref().map(|e| &e.value),
                        Some(ast::Outcome::Unknown(Some(c))) if c.starts_with("ERESTART"))
                    {
                        restart.insert(actor, (i, false));
                    }
                }
                _ => errors.push(err(
                    line.call.name_span,
                    format!(
                        "'<... {} resumed>' without its unfinished line",
                        line.call.name
                    ),
                )),
            },
        }
    }
    let mut out = Vec::new();
    let mut scope = Scope {
        actors: lines.iter().filter_map(|l| l.actor.clone()).collect(),
        tasks: tasks_of(lines),
        ..Scope::default()
    };
    for (first, resumed) in steps {
        let mut call = first.call.clone();
        let mut text = first.text.clone();
        if let Some((r, _)) = &resumed {
            call.args.extend(r.call.args.iter().cloned());
            call.result = r.call.result.clone();
            text = format!("{text}\n{}", r.text);
        }
        let (row, args) = match expand(&call) {
            Ok(x) => x,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some((name, span)) = &first.bind
            && !returns_fd(row)
            && !(row.new_task || row.name == "socketpair")
        {
            errors.push(err(
                *span,
                format!("'{name} = ' names an fd, and {} returns none", row.name),
            ));
        }
        let child = match (&first.bind, &call.result) {
            _ if !row.new_task => None,
            (Some((name, _)), _) => Some(name.clone()),
            // The actor whose lines carry `[pid N]` (a timeline's tag
            // before them), else `pid N`.
            (
                None,
                Some(Expect {
                    value: ast::Outcome::Value(n),
                    ..
                }),
            ) => Some(
                scope
                    .tasks
                    .get(n)
                    .cloned()
                    .unwrap_or_else(|| format!("pid {n}")),
            ),
            _ => None,
        };
        let actor = first.actor.clone().unwrap_or_else(|| "main".to_string());
        let to = scope.tgkill_target(row, &args, &mut errors);
        let step = Step {
            child,
            to,
            no: first.no,
            text,
            host: hosts.get(&actor).cloned(),
            actor,
            tagged,
            delay: first.delay,
            bind: first.bind.as_ref().map(|(n, _)| n.clone()),
            row,
            args,
            result: call.result.clone(),
            whole: first.call.form == Form::Whole,
            resumed_at: resumed.as_ref().map(|(_, at)| *at),
        };
        scope.check(&step, &mut errors);
        scope.bind(&step);
        out.push(step);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| (e.line, e.col));
        Err(errors)
    }
}

/// What is bound so far, in file order.
struct Scope {
    /// The actors lines name (`kill(NAME, SIG)` may name one).
    actors: BTreeSet<String>,
    fds: BTreeSet<i64>,
    names: BTreeSet<String>,
    pairs: BTreeSet<String>,
    /// Task ids (`[pid N]`) seen so far, and whose lines they were.
    tasks: BTreeMap<i64, String>,
}

impl Default for Scope {
    fn default() -> Scope {
        Scope {
            actors: BTreeSet::new(),
            fds: BTreeSet::from([0, 1, 2]),
            names: BTreeSet::new(),
            pairs: BTreeSet::new(),
            tasks: BTreeMap::new(),
        }
    }
}

/// strace -f (and a record) prints the first task's lines without a
/// prefix while it is alone, then as `[pid N]` while another task lives:
/// a `[pid N]` that no clone or clone3 line returned, in a script with
/// lines of no actor, is that first task's, the actor `main` (when only
/// one such N appears).
fn first_task_is_main(lines: &mut [ast::Line]) {
    let children: BTreeSet<i64> = lines
        .iter()
        .filter(|l| calls::by_name(&l.call.name).is_some_and(|r| r.new_task))
        .filter_map(|l| match l.call.result.as_ref().map(|e| &e.value) {
            Some(ast::Outcome::Value(n)) => Some(*n),
            _ => None,
        })
        .collect();
    let untagged = |l: &ast::Line, t: i64| l.actor.as_deref() == Some(format!("pid {t}").as_str());
    let roots: BTreeSet<i64> = lines
        .iter()
        .filter_map(|l| l.task.filter(|t| untagged(l, *t) && !children.contains(t)))
        .collect();
    let plain = lines.iter().any(|l| l.actor.is_none() && l.task.is_none());
    let (Some(&root), 1, true) = (roots.first(), roots.len(), plain) else {
        return;
    };
    for l in lines.iter_mut() {
        if l.task == Some(root) && untagged(l, root) {
            l.actor = None;
        }
    }
}

/// Which actor each `[pid TID]` names, from every line of the script: a
/// timeline prints the prefix only once a second task has made a call, so
/// the tgkill may come before the target's first prefixed line.
fn tasks_of(lines: &[ast::Line]) -> BTreeMap<i64, String> {
    let mut tasks = BTreeMap::new();
    for l in lines {
        if let Some(t) = l.task {
            let actor = l.actor.clone().unwrap_or_else(|| "main".to_string());
            tasks.entry(t).or_insert(actor);
        }
    }
    tasks
}

impl Scope {
    /// `tgkill(PID, TID, SIG)`: the actor TID names (bound by its
    /// `[pid TID]` lines, anywhere in the script); PID is that actor's process (this one
    /// for a thread actor: any pid written there stands for it).
    fn tgkill_target(
        &self,
        row: &Syscall,
        args: &[Expr],
        errors: &mut Vec<ParseError>,
    ) -> Option<String> {
        if row.name != "tgkill" {
            return None;
        }
        let tid = args.get(1)?;
        match &tid.kind {
            ExprKind::Int(n) if self.tasks.contains_key(n) => self.tasks.get(n).cloned(),
            ExprKind::Name(n) if self.actors.contains(n) => Some(n.clone()),
            _ => {
                errors.push(err(
                    tid.span,
                    "tgkill's tid names no actor: a tid is bound by that actor's lines with \
                     `[pid TID]` (strace -f); or write kill(ACTOR, SIG)",
                ));
                None
            }
        }
    }

    fn check(&self, step: &Step, errors: &mut Vec<ParseError>) {
        // fork's and pthread_create's arguments are glibc's (written as
        // strace shows them).
        if step.row.new_task {
            return;
        }
        for (i, (arg, e)) in step.row.args.iter().zip(&step.args).enumerate() {
            if (step.row.name == "kill" && i == 0 || step.row.name == "tgkill" && i < 2)
                && matches!(&e.kind, ExprKind::Name(n) if self.actors.contains(n))
            {
                continue;
            }
            // dup2's new fd is any number the line picks.
            let fd_here =
                arg.kind == Kind::Fd && arg.dir == Dir::In && !(step.row.name == "dup2" && i == 1);
            // Inputs name fds that must be open; outputs bind them.
            let input = arg.dir == Dir::In || step.row.name == "poll";
            self.expr(e, fd_here, input, errors);
            // An address to give is read now: a bad one makes no call run.
            let given = match (&e.kind, step.row.name) {
                _ if arg.kind == Kind::Sockaddr && arg.dir == Dir::In => Some(e),
                (ExprKind::Struct(f), "sendmsg") => f
                    .iter()
                    .find(|x| x.name.as_deref() == Some("msg_name"))
                    .map(|x| &x.value),
                _ => None,
            };
            if let Some(a) = given
                && let Err(why) = super::resolve::addr(a, &mut Default::default())
            {
                errors.push(err(a.span, why));
            }
        }
        if let Some((span, why)) = super::epoll_data::check(step.row.name, &step.args) {
            errors.push(err(span, why));
        }
        if let Some(Expect {
            value: ast::Outcome::Errno(name),
            span,
            ..
        }) = &step.result
            && xlat::errno(name).is_none()
        {
            errors.push(err(*span, format!("unknown errno '{name}'")));
        }
    }

    fn expr(&self, e: &Expr, fd: bool, input: bool, errors: &mut Vec<ParseError>) {
        match &e.kind {
            ExprKind::Int(n) if fd && input && !self.fds.contains(n) => errors.push(err(
                e.span,
                format!("fd {n} is never opened by an earlier line (a result '= {n}' binds it)"),
            )),
            ExprKind::Name(n) if self.names.contains(n) => {}
            ExprKind::Name(n) if fd && n == "AT_FDCWD" => {}
            ExprKind::Name(n) if fd => errors.push(err(
                e.span,
                format!("'{n}' is used before a line binds it ('{n} = socket(...)')"),
            )),
            ExprKind::Name(n) if !is_constant(n) => {
                errors.push(err(e.span, format!("unknown constant '{n}'")))
            }
            ExprKind::Index(n, _) if !self.pairs.contains(n) => errors.push(err(
                e.span,
                format!("'{n}' is used before a line binds it ('{n} = socketpair(...)')"),
            )),
            ExprKind::Flags(items) | ExprKind::Array(items) => {
                for i in items {
                    self.expr(i, fd, input, errors);
                }
            }
            ExprKind::InOut(a, b) => {
                self.expr(a, fd, input, errors);
                self.expr(b, fd, false, errors);
            }
            ExprKind::Func(_, items) => {
                for i in items {
                    self.expr(i, false, input, errors);
                }
            }
            ExprKind::Struct(fields) => {
                for f in fields {
                    let fd = match f.name.as_deref() {
                        Some("fd") => true,
                        Some("cmsg_data") => super::cmsgs::data_is_fds(fields),
                        _ => false,
                    };
                    self.expr(&f.value, fd, input, errors);
                }
            }
            _ => {}
        }
    }

    /// What a step binds: its fd result, a socketpair's two fds, its name.
    fn bind(&mut self, step: &Step) {
        if let Some(Expect {
            value: ast::Outcome::Value(n),
            ..
        }) = &step.result
            && returns_fd(step.row)
        {
            self.fds.insert(*n);
        }
        for (arg, e) in step.row.args.iter().zip(&step.args) {
            if arg.dir != Dir::In {
                fds_in(e, arg.kind == Kind::FdPair, &mut self.fds);
            }
        }
        if let Some(name) = &step.bind {
            if step.row.name == "socketpair" {
                self.pairs.insert(name.clone());
            } else {
                self.names.insert(name.clone());
            }
        }
    }
}

/// The fds an output shows: a socketpair's `[3, 4]`, SCM_RIGHTS' `cmsg_data=[5]`.
fn fds_in(e: &Expr, fd: bool, out: &mut BTreeSet<i64>) {
    match &e.kind {
        ExprKind::Int(n) if fd => {
            out.insert(*n);
        }
        ExprKind::Array(items) => items.iter().for_each(|i| fds_in(i, fd, out)),
        ExprKind::InOut(_, b) => fds_in(b, fd, out),
        ExprKind::Struct(fields) => {
            for f in fields {
                let cmsg = f.name.as_deref() == Some("cmsg_data");
                fds_in(
                    &f.value,
                    fd || (cmsg && super::cmsgs::data_is_fds(fields)),
                    out,
                );
            }
        }
        _ => {}
    }
}
