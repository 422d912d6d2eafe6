//! A call returned: its line is printed (whole, or `<... NAME resumed>`
//! after an `<unfinished ...>`), with the call table's hint in the
//! shell; the fds it opened or closed and the name it binds are
//! recorded; it is checked against its line (`expect.rs`).

use std::os::fd::RawFd;

use super::Done;
use super::actors::Owned;
use super::call::Made;
use super::check::{Step, returns_fd};
use super::expect::{self, Mismatch};
use super::run::Runner;

impl Runner {
    /// Notes after an actor's call: `--show-state` lines, and sys's note
    /// of an ignored SIGPIPE with the writer's pid (the actor's process).
    pub(super) fn print_notes(&mut self, actor: usize, name: &str, notes: &[String]) {
        let pid = self.actors.get(actor).and_then(|a| a.pid);
        for n in notes {
            match crate::sys::sigpipe::with_pid(n, pid.unwrap_or(self.pid)) {
                Some(n) => self.print_text(name, &n),
                None => self.print_text(name, n),
            }
        }
    }

    /// Step `id`'s call returned: print it, check it, bind its labels.
    pub(super) fn finish(&mut self, id: usize, made: Made, events: Vec<Owned>, notes: Vec<String>) {
        let Some(under) = self.under.remove(&id) else {
            return;
        };
        let Some(step) = self.steps.get(id).cloned() else {
            return;
        };
        let name = self
            .actors
            .get(under.actor)
            .map_or_else(|| step.actor.clone(), |a| a.name.clone());
        let reaped = match (made.ret, step.row.name, events.last()) {
            (Some(Ok(pid)), "wait4", Some(ev)) if pid > 0 => {
                // The child's end lines first, as strace -f shows them
                // (its parent still in this wait4).
                self.reaped_first(pid as i32, &ev.args);
                Some(pid as i32)
            }
            _ => {
                self.signalled_first(&name);
                None
            }
        };
        if let Some(a) = self.actors.get_mut(under.actor) {
            a.busy = None;
        }
        let mut text = String::new();
        let child = step.bind.as_ref().filter(|_| step.row.new_task);
        for (i, ev) in events.iter().enumerate() {
            if i == 0 && under.unfinished && !self.tracer.is_json() {
                self.side(&name).resumed(&ev.event());
            } else if let Some(child) = child.filter(|_| !self.tracer.is_json()) {
                // The child's name, so that the timeline replays; `-T`'s
                // time taken as strace -T prints it after a clone.
                let took = crate::strace::stamp::stamps()
                    .map_or_else(String::new, |s| s.suffix(ev.duration));
                self.print_task_text(&name, &format!("{child} = {}{took}", ev.line()), false);
            } else {
                self.print_event(&name, ev);
            }
            text = ev.line();
            if let Some(a) = self.actors.get_mut(under.actor) {
                a.remember(&text);
            }
        }
        self.print_notes(under.actor, &name, &notes);
        if let Some(pid) = reaped {
            self.chld_after_wait4(&name, pid);
        }
        let ret = made.ret.unwrap_or(Err(nix::errno::Errno::UnknownErrno));
        self.interrupted(id, &name, &ret);
        self.installed(&step, under.actor, &ret);
        if self.keep_going
            && ret.is_err()
            && let Some(hint) = &made.hint
        {
            self.print_text(&name, &format!("  hint: {hint}"));
        }
        self.fds_of(under.actor, &name, &made);
        match (step.row.name, &ret) {
            ("clone", Ok(pid)) => self.adopt(&step, under.actor, *pid as i32),
            ("clone", Err(_)) => self.forking = None,
            ("clone3", Ok(tid)) => self.born(&step, Some(*tid as i32)),
            ("clone3", Err(_)) => self.born(&step, None),
            ("wait4", Ok(pid)) if *pid > 0 => {
                self.reaped.insert(*pid as i32);
            }
            (_, Ok(_)) if let Some(to) = under.signal_to => {
                let from = self.actors.get(under.actor).and_then(|a| a.pid);
                self.senders.insert(to, from.unwrap_or(self.pid));
            }
            _ => {}
        }
        self.bind_name(&step, &ret, &made);
        if let (Some(path), Ok(_)) = (under.bind_path, &ret) {
            self.files.push((path, made.file));
        }
        if let (Some(path), Ok(_)) = (&under.unlink_path, &ret) {
            self.files.retain(|(p, _)| p != path);
        }
        if let (Some(path), Ok(_)) = (&made.dir, &ret) {
            match step.row.name {
                "mkdirat" => self.dirs.push((path.to_path_buf(), made.file)),
                _ => self.dirs.retain(|(p, _)| p != path.as_path()),
            }
        }
        self.done.push(Done {
            line_no: step.no,
            actor: name,
            call: step.row.name,
            ret,
            out: made.out.clone(),
            text: text.clone(),
            took: events.iter().map(|e| e.duration).sum(),
        });
        if let Some(why) = made.failure {
            self.fail(id, vec![format!("  {why}")]).ok();
            return;
        }
        let args = events.last().map_or("", |e| e.args.as_str());
        let note = events.last().map_or("", |e| e.note.as_str());
        if let Err(m) = expect::check(&step, &ret, args, note, &made.out, &mut self.labels) {
            let Mismatch {
                what,
                expected,
                got,
            } = m;
            let lines = vec![
                format!("  expected {what}: {expected}"),
                format!("  got      {what}: {got}"),
                format!("  the call: {text}"),
            ];
            self.fail(id, lines).ok();
        }
    }

    /// The fds a call opened and closed: this process's (the labels'
    /// open fds), or a process actor's own.
    fn fds_of(&mut self, actor: usize, name: &str, made: &Made) {
        if let Some(a) = self.actors.get_mut(actor)
            && a.pid.is_some()
        {
            a.open.extend(made.opened.iter().copied());
            if let Some(fd) = made.closed {
                a.open.remove(&fd);
                self.labels.closed_elsewhere(fd);
            }
            return;
        }
        for &fd in &made.opened {
            self.labels.opened(fd);
            self.owner.insert(fd, name.to_string());
        }
        if let Some(fd) = made.closed {
            self.labels.closed(fd);
            self.owner.remove(&fd);
        }
    }

    /// `NAME = call(...)`: the name means the returned fd (a pair's two).
    fn bind_name(
        &mut self,
        step: &Step,
        ret: &std::result::Result<i64, nix::errno::Errno>,
        made: &Made,
    ) {
        let Some(name) = &step.bind else { return };
        match (step.row.name, made.opened.as_slice()) {
            ("socketpair", &[a, b]) => self.labels.bind_pair(name, [a, b]),
            _ if returns_fd(step.row) => {
                if let Ok(fd) = ret {
                    self.labels.bind_name(name, *fd as RawFd);
                }
            }
            _ => {}
        }
    }
}
