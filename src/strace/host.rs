//! The host of the lab network a thread is on (issue 16): a lab's side
//! that entered host `b` with setns (`LabNet::inside`) is tagged
//! `client@b` while it is there, as a script names an actor on a host,
//! so that the lab's timeline replays on the same hosts.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Mutex;

thread_local! {
    /// The host this thread is on, if it entered one.
    static HOST: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Every tag made, each leaked once (a few per run: the tracer keeps
/// `&'static str` sides).
static TAGS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// While it lives, this thread's lines are tagged `SIDE@HOST`.
pub struct OnHost(Option<&'static str>);

impl Drop for OnHost {
    fn drop(&mut self) {
        HOST.with(|h| h.set(self.0));
    }
}

/// This thread is on `host` (until the guard drops).
pub fn on_host(host: &str) -> OnHost {
    let host = intern(host);
    OnHost(HOST.with(|h| h.replace(Some(host))))
}

/// `side`, or `side@host` on a thread that is on a host.
pub(super) fn tagged(side: &'static str) -> &'static str {
    match HOST.with(Cell::get) {
        Some(host) => intern(&format!("{side}@{host}")),
        None => side,
    }
}

fn intern(s: &str) -> &'static str {
    let mut tags = match TAGS.lock() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    if let Some(t) = tags.get(s) {
        return t;
    }
    let t: &'static str = Box::leak(s.to_string().into_boxed_str());
    tags.insert(t);
    t
}
