//! The retries of a call in timeout and non-blocking mode (see the module
//! doc of `io`): the poll before a call, the poll after an EAGAIN, the
//! deadline and the back-off.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;

use super::wait::Wait;
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// Before a call in timeout mode: `poll(events, ms left)`; 0 means timeout.
pub(super) fn ready(
    sys: &Sys,
    s: Socket,
    events: PollFlags,
    deadline: Option<Instant>,
    wait: Wait,
    call: &str,
) -> Result<()> {
    let (Some(deadline), Wait::Timeout(limit)) = (deadline, wait) else {
        return Ok(());
    };
    if sys.poll(s, events, ms_left(deadline))?.is_empty() {
        return Err(timed_out(s, call, limit));
    }
    Ok(())
}

/// The time left until `deadline` in whole milliseconds, rounded up as
/// CPython rounds a poll's interval.
fn ms_left(deadline: Instant) -> i32 {
    let left = deadline.saturating_duration_since(Instant::now());
    i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
}

fn timed_out(s: Socket, call: &str, limit: Duration) -> Error {
    Error::timeout(format!("{call}({s}, ...)"), limit.as_secs_f64())
}

/// The longest back-off between two tries of a call that poll calls ready
/// and the kernel refuses with EAGAIN.
const BACKOFF_MAX_MS: i32 = 1000;

/// The retries of one call in timeout or non-blocking mode: its deadline,
/// whether the last `poll` said the fd was ready, and the back-off.
///
/// A poll that says ready is not always about this call: on an unconnected
/// UNIX datagram socket `POLLOUT` tells that the sender's own buffer has
/// room, while `sendto` waits for the peer's receive queue, full when the
/// peer does not read (net.unix.max_dgram_qlen). Trusting poll there is a
/// busy loop. So when poll said ready and the call still said EAGAIN, the
/// next try waits first in `poll(fd, events=0, ms)` (only an error or a
/// hang-up ends it early), 1 ms, then 2, 4... up to 1 s, all in the trace;
/// and in timeout mode the deadline is checked after every EAGAIN,
/// whatever poll says.
pub(super) struct Retry {
    deadline: Option<Instant>,
    /// The last poll on the fd said it was ready (timeout mode polls
    /// before every call).
    polled_ready: bool,
    /// The next back-off, in ms (0: none yet).
    backoff_ms: i32,
}

impl Retry {
    pub(super) fn new(wait: Wait) -> Retry {
        Retry {
            deadline: wait.deadline(),
            polled_ready: false,
            backoff_ms: 0,
        }
    }

    /// Before the call: in timeout mode, `poll(events, ms left)`.
    pub(super) fn ready(
        &mut self,
        sys: &Sys,
        s: Socket,
        events: PollFlags,
        wait: Wait,
        call: &str,
    ) -> Result<()> {
        ready(sys, s, events, self.deadline, wait, call)?;
        self.polled_ready |= matches!(wait, Wait::Timeout(_));
        Ok(())
    }

    /// After the call failed with `e`: should it be made again? In timeout
    /// mode an EAGAIN is a spurious wake-up (poll again, as CPython) until
    /// the deadline; in non-blocking mode it means "wait": `poll` without a
    /// limit first. Either way, after an EAGAIN that followed a poll that
    /// said ready, back off first (see [`Retry`]).
    pub(super) fn again(
        &mut self,
        sys: &Sys,
        s: Socket,
        events: PollFlags,
        wait: Wait,
        call: &str,
        e: &Error,
    ) -> Result<bool> {
        if e.errno() != Some(Errno::EAGAIN) || wait == Wait::Blocking {
            return Ok(false);
        }
        let limit_ms = match (self.deadline, wait) {
            (Some(deadline), Wait::Timeout(limit)) => {
                if Instant::now() >= deadline {
                    return Err(timed_out(s, call, limit));
                }
                ms_left(deadline)
            }
            _ => i32::MAX,
        };
        if self.polled_ready {
            self.backoff_ms = (self.backoff_ms * 2).clamp(1, BACKOFF_MAX_MS);
            sys.poll(s, PollFlags::empty(), self.backoff_ms.min(limit_ms))?;
        }
        if wait == Wait::NonBlocking {
            self.polled_ready = !sys.poll(s, events, -1)?.is_empty();
        }
        Ok(true)
    }

    /// The call made progress (sendall's partial send): the next EAGAIN
    /// starts the back-off afresh; the deadline stays.
    pub(super) fn progress(&mut self) {
        self.polled_ready = false;
        self.backoff_ms = 0;
    }
}

/// Run `op` in the socket's wait mode (see the module doc).
pub(super) fn waiting<T>(
    sys: &Sys,
    s: Socket,
    events: PollFlags,
    wait: Wait,
    call: &str,
    mut op: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut retry = Retry::new(wait);
    loop {
        retry.ready(sys, s, events, wait, call)?;
        match op() {
            Err(e) if retry.again(sys, s, events, wait, call, &e)? => continue,
            r => return r,
        }
    }
}
