//! What the two io_uring loops do alike (uring.rs: the stream server,
//! uring_dgram.rs: the datagram server): queue an SQE into a ring whose
//! submission queue may be full, and one turn of the loop, its one
//! `io_uring_enter`.

use crate::sys::{Cqe, Ring, Sqe, Sys};
use crate::values::error::Result;

/// Queue an SQE, its `--trace` text given by `text` (`Ring::push_described`:
/// an SQE pointing to memory only the model can read) or else written by
/// the ring; a full SQ is submitted first (no wait), its CQEs kept in
/// `later` for the next turn.
pub(super) fn push(
    sys: &Sys,
    ring: &mut Ring,
    later: &mut Vec<Cqe>,
    s: Sqe,
    text: Option<&dyn Fn() -> String>,
) -> Result<()> {
    loop {
        let queued = match text {
            Some(t) => ring.push_described(s, t),
            None => ring.push(s),
        };
        if queued {
            return Ok(());
        }
        let mut got = Vec::new();
        sys.uring_submit(ring, false, &mut got)?;
        later.append(&mut got);
    }
}

/// One turn of a loop: `io_uring_enter` submits every queued SQE and reaps
/// the CQEs, waiting for one unless some were kept in `later`; then
/// `batch` (empty) holds the kept ones followed by the new. `cqes` and
/// `batch` are the loop's, reused every turn: no allocation per turn once
/// they have grown.
pub(super) fn turn(
    sys: &Sys,
    ring: &mut Ring,
    later: &mut Vec<Cqe>,
    cqes: &mut Vec<Cqe>,
    batch: &mut Vec<Cqe>,
) -> Result<()> {
    sys.uring_submit(ring, later.is_empty(), cqes)?;
    std::mem::swap(batch, later);
    batch.append(cqes);
    Ok(())
}
