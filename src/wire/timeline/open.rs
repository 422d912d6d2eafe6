//! Calls still running. A call holds back every line after its start
//! (its own line comes first); one blocked for long on one task (a
//! thread model's accept4 while a worker serves a client) would hold
//! every other task's lines, stdout's too, until it returns. After
//! [`PATIENCE`], with lines waiting behind it, its `<unfinished ...>`
//! line is printed at its place, as strace -f prints it when another
//! task's line comes, and its `<... NAME resumed>` rest at its return.

use super::*;

/// How long a running call may hold back the lines after it.
const PATIENCE: Duration = Duration::from_millis(200);

/// A call under way: when it started, on which task, and its
/// `<unfinished ...>` line's prefix and text (a program's text trace).
pub(super) struct Open {
    pub(super) start: SystemTime,
    tid: i32,
    entry: Option<(String, String)>,
    /// Its unfinished line is in the items: it holds nothing back.
    pub(super) shown: bool,
}

impl Open {
    pub(super) fn new(start: SystemTime) -> Open {
        Open {
            start,
            tid: crate::strace::tasks::tid(),
            entry: None,
            shown: false,
        }
    }
}

/// This task's call under way (the newest), if any.
fn this_task(st: &mut State) -> Option<&mut Open> {
    let tid = crate::strace::tasks::tid();
    st.open.values_mut().rev().find(|o| o.tid == tid)
}

impl Timeline {
    /// This task's call under way: its entry as strace prints it.
    pub(super) fn entering(&self, prefix: String, text: String) {
        if let Some(o) = this_task(&mut self.lock()) {
            o.entry = Some((prefix, text));
        }
    }

    /// Whether this task's returning call had its unfinished line printed
    /// (its line is then only the resumed rest).
    pub(super) fn was_shown(st: &mut State) -> bool {
        this_task(st).is_some_and(|o| o.shown)
    }

    /// Calls running past [`PATIENCE`] with lines waiting after their
    /// start: their unfinished lines go in the items (at their start).
    pub(super) fn show_blocked(&self, st: &mut State, now: SystemTime) {
        let Some(due) = now.checked_sub(PATIENCE) else {
            return;
        };
        let mut lines = Vec::new();
        for o in st.open.values_mut() {
            if o.shown || o.start > due || !st.items.iter().any(|i| i.key() > o.start) {
                continue;
            }
            if let Some((prefix, text)) = &o.entry {
                o.shown = true;
                let line = format!("{prefix}{}{text}", self.stamp(o.start));
                lines.push(Item::Note { at: o.start, line });
            }
        }
        st.items.extend(lines);
    }
}
