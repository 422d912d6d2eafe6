//! Lines whose call ends by itself (rule 5's one exception): the next
//! line waits for such a call to return instead of starting as soon as
//! its actor is seen asleep in it.
//!
//! A line written whole (`name(args) = result`, not `name(args
//! <unfinished ...>`) says the call returned before anything else
//! happened: strace -f and socklab's timelines split a call that another
//! line interleaved with. When the call returns by itself, the next line
//! waits for it, so that it cannot change what the call returns (a
//! `poll(..., 300) = 0 (Timeout)` that the next line's connect would
//! otherwise wake). Such a call is:
//! - `poll` with a timeout >= 0, `epoll_wait` with a timeout >= 0: it
//!   returns at the latest when its timeout runs out;
//! - any call whose line expects `-1 EAGAIN` (`EWOULDBLOCK`) or `-1
//!   EINPROGRESS`: a non-blocking socket returns at once, and a blocking
//!   one says so only when its `SO_RCVTIMEO` / `SO_SNDTIMEO` ran out (a
//!   `recvfrom` on a socket with a receive timeout that another line's
//!   send would otherwise answer).
//!
//! Written as an `<unfinished ...>` / `<... resumed>` pair, such a call
//! says it returned where its resumed line stands: the line after that
//! one waits for it to return (a `poll(..., 300 <unfinished ...>` whose
//! `<... poll resumed>) = 0 (Timeout)` comes before another actor's
//! connect).
//!
//! A blocking call without a timeout keeps the rule: asleep in it, the
//! next line starts. If a waiting call has not returned after its own
//! timeout plus `--timeout`, it is taken as blocked (unfinished) and
//! the next line starts. `socklab shell` does not wait: its prompt comes
//! back at once.

use std::time::Duration;

use super::ast::{ExprKind, Outcome};
use super::check::Step;

/// Whether the next line waits for `step`'s call to return, and how long
/// the call may take by itself (on top of `--timeout`); None: it does not.
pub(super) fn waits_for_return(step: &Step) -> Option<Duration> {
    if !step.whole {
        return None;
    }
    ends_by_itself(step)
}

/// How long the call may take by itself, if it ends by itself.
pub(super) fn ends_by_itself(step: &Step) -> Option<Duration> {
    let timeout = match step.row.name {
        "poll" => step.args.get(2),
        "epoll_wait" => step.args.get(3),
        _ => None,
    };
    if let Some(ExprKind::Int(ms)) = timeout.map(|e| &e.kind)
        && let Ok(ms) = u64::try_from(*ms)
    {
        return Some(Duration::from_millis(ms));
    }
    match step.result.as_ref().map(|r| &r.value) {
        Some(Outcome::Errno(e))
            if matches!(e.as_str(), "EAGAIN" | "EWOULDBLOCK" | "EINPROGRESS") =>
        {
            Some(Duration::ZERO)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(line: &str) -> Step {
        let mut steps = crate::script::prepare(line, "t").unwrap();
        steps.pop().unwrap()
    }

    #[test]
    fn whole_calls_with_a_timeout_or_an_eagain_wait() {
        let wait = |l: &str| waits_for_return(&step(l));
        assert_eq!(
            wait("poll([{fd=0, events=POLLIN}], 1, 300) = 0 (Timeout)"),
            Some(Duration::from_millis(300))
        );
        assert_eq!(wait("epoll_wait(0, [], 4, 0) = 0"), Some(Duration::ZERO));
        assert_eq!(
            wait(
                "recvfrom(0, ..., 10, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            wait("connect(0, 127.0.0.1:1) = -1 EINPROGRESS"),
            Some(Duration::ZERO)
        );
        // A blocking call without a timeout, and an unfinished line: no.
        assert_eq!(wait("poll([{fd=0, events=POLLIN}], 1, -1) = 1"), None);
        assert_eq!(wait("recvfrom(0, ..., 10, 0, NULL, NULL) = 5"), None);
        assert_eq!(
            wait("poll([{fd=0, events=POLLIN}], 1, 300 <unfinished ...>"),
            None
        );
    }
}
