//! How a socket's calls wait: Python's three modes (blocking, timeout,
//! non-blocking).

use std::time::{Duration, Instant};

/// How a socket's calls wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// The default: calls block until they can complete.
    Blocking,
    /// Python's `settimeout(secs)`: non-blocking fd plus `poll` before each call.
    Timeout(Duration),
    /// Python's `setblocking(False)`: EAGAIN, then `poll`, then again.
    NonBlocking,
}

impl Wait {
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::Blocking | Wait::NonBlocking => None,
            Wait::Timeout(d) => Some(Instant::now() + *d),
        }
    }

    /// Python's `gettimeout()`: `None`, `0.0` or the seconds.
    pub fn gettimeout(&self) -> String {
        match self {
            Wait::Blocking => "None".to_string(),
            Wait::NonBlocking => "0.0".to_string(),
            Wait::Timeout(d) => format!("{:?}", d.as_secs_f64()),
        }
    }
}
