//! The end of a run: the calls still under way get `--timeout` to
//! return (one still blocked then fails the run if its line expects a
//! result), every fd the script left open is closed and every socket
//! file its binds made is removed, then every directory its mkdirat made,
//! deepest first (each a traced line), and a failure is reported: the file, the line, expected vs got, each actor's last calls.

use std::time::Instant;

use nix::errno::Errno;

use std::sync::mpsc::Receiver;

use super::actors::{Actor, Msg};
use super::call::{Made, Req};
use super::run::Runner;
use crate::values::error::Result;

/// The id of the end's calls (not a step's).
pub(super) const END: usize = usize::MAX;

impl Runner {
    /// Wait for the calls under way, then clean up.
    pub fn end(&mut self) -> Result<()> {
        // After a failure, nothing more is checked: no wait.
        let wait = if self.failure.is_some() {
            std::time::Duration::ZERO
        } else {
            self.timeout
        };
        let deadline = Instant::now() + wait;
        while !self.under.is_empty() && self.wait_any(deadline) {}
        let stuck: Vec<usize> = self.under.keys().copied().collect();
        for id in stuck {
            let Some(step) = self.steps.get(id) else {
                continue;
            };
            if step.result.is_some() {
                let secs = self.timeout.as_secs_f64();
                self.fail(
                    id,
                    vec![format!("  still blocked after {secs}s (--timeout)")],
                )?;
            }
        }
        self.unheld();
        self.end_processes()?;
        self.clean_up()
    }

    /// Close what is still open, remove the socket files, each through
    /// its own actor's tag, on a thread of its own (an actor may still
    /// be blocked).
    fn clean_up(&mut self) -> Result<()> {
        let open = self.labels.still_open();
        if open.is_empty() && self.files.is_empty() && self.dirs.is_empty() {
            return Ok(());
        }
        let mut end = None;
        let mut reqs: Vec<(String, Req)> = open
            .iter()
            .map(|&fd| {
                let who = self
                    .owner
                    .get(&fd)
                    .cloned()
                    .unwrap_or_else(|| "main".into());
                (who, Req::Close(fd))
            })
            .collect();
        let first = self
            .actors
            .first()
            .map_or_else(|| "main".to_string(), |a| a.name.clone());
        for (path, id) in std::mem::take(&mut self.files) {
            match id {
                Some((dev, ino)) => reqs.push((first.clone(), Req::Unlink(path, dev, ino))),
                None => self.print_text(
                    &first,
                    &format!(
                        "# {}: gone before socklab looked after the bind: nothing to remove",
                        path.display()
                    ),
                ),
            }
        }
        reqs.extend(self.dirs_to_remove(&first));
        for (who, req) in reqs {
            let left = match &req {
                Req::Unlink(path, dev, ino) => Some(format!(
                    "# {}: not the socket file the bind made (st_dev={dev}, st_ino={ino}): left alone",
                    path.display()
                )),
                Req::Rmdir(path, dev, ino) => Some(format!(
                    "# {}: not the directory the mkdirat made (st_dev={dev}, st_ino={ino}): left alone",
                    path.display()
                )),
                _ => None,
            };
            let full = match &req {
                Req::Rmdir(path, ..) => Some(format!(
                    "# {}: not empty (it holds what socklab did not make): left alone",
                    path.display()
                )),
                _ => None,
            };
            let Some(made) = self.at_end(&mut end, &who, req)? else {
                break;
            };
            match (left, full, made.ret) {
                (Some(note), _, Some(Ok(0))) => self.print_text(&who, &note),
                (_, Some(note), Some(Err(Errno::ENOTEMPTY | Errno::EEXIST))) => {
                    self.print_text(&who, &note)
                }
                _ => {}
            }
            if let Some(fd) = made.closed {
                self.labels.closed(fd);
            }
        }
        join(end);
        Ok(())
    }

    /// Make `req` for actor `who` at the end, on the thread that strace
    /// -f then shows making it: `who`'s own if it is a thread actor that
    /// is not blocked in a call; else the end's thread (`end`, started
    /// on first use), its line tagged `who` with that thread's `[pid
    /// N]`. What it made (None: no answer).
    pub(super) fn at_end(
        &mut self,
        end: &mut Option<(Actor, Receiver<Msg>)>,
        who: &str,
        req: Req,
    ) -> Result<Option<Made>> {
        let own = self.by_name.get(who).copied().filter(|&i| {
            self.actors
                .get(i)
                .is_some_and(|a| a.pid.is_none() && a.busy.is_none() && a.tid != 0)
        });
        if let Some(i) = own {
            return Ok(self.in_child(i, req));
        }
        let (thread, rx) = match end {
            Some(e) => e,
            None => {
                let (tx, rx) = std::sync::mpsc::channel();
                let a = Actor::spawn("end", None, tx, super::process::child)?;
                end.insert((a, rx))
            }
        };
        thread.start(END, req)?;
        let Ok(Msg::Done { made, events, .. }) = rx.recv() else {
            return Ok(None);
        };
        let side = self.side(who).with_task(thread.tid);
        for ev in &events {
            side.emit(&ev.event(), None);
        }
        Ok(Some(made))
    }

    /// The end's removal of the directories the script's mkdirat made
    /// (and it did not remove itself): deepest first, so that one made
    /// inside another goes before it; each through `first`'s tag.
    fn dirs_to_remove(&mut self, first: &str) -> Vec<(String, Req)> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        let mut reqs = Vec::new();
        for (path, id) in dirs {
            match id {
                Some((dev, ino)) => reqs.push((first.to_string(), Req::Rmdir(path, dev, ino))),
                None => self.print_text(
                    first,
                    &format!(
                        "# {}: gone before socklab looked after the mkdirat: nothing to remove",
                        path.display()
                    ),
                ),
            }
        }
        reqs
    }

    /// The failure report: `FILE:LINE: the line`, what was expected and
    /// what came, each actor's last calls.
    pub fn report(&self) -> Option<String> {
        let f = self.failure.as_ref()?;
        let step = self.steps.get(f.step)?;
        let mut out = Vec::new();
        for (i, line) in step.text.lines().enumerate() {
            match i {
                0 => out.push(format!("{}:{}: {line}", self.file, step.no)),
                _ => out.push(format!("  {line}")),
            }
        }
        out.extend(f.lines.iter().cloned());
        let shown: Vec<&Actor> = self
            .actors
            .iter()
            .filter(|a| !a.history.is_empty())
            .collect();
        if !shown.is_empty() {
            out.push("  last calls:".to_string());
            for a in shown {
                for line in &a.history {
                    out.push(format!("    {:>6} | {line}", self.tag(&a.name)));
                }
            }
        }
        Some(out.join("\n"))
    }
}

/// The end's thread, if one was started: joined.
pub(super) fn join(end: Option<(Actor, Receiver<Msg>)>) {
    if let Some((thread, _)) = end {
        thread.join();
    }
}
