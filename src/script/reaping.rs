//! What the runner knows of process actors' ends beside waitid, kept
//! by the runner (reaped.rs uses it).

use std::collections::BTreeMap;

use crate::sys::untraced::Ended;
use crate::values::calls::Syscall;

/// A process actor's end whose status is not known yet (its actor, the
/// call it was in).
type Held = (usize, Option<(usize, &'static Syscall, String)>);

/// What the runner knows of process actors' ends beside waitid.
#[derive(Default)]
pub(super) struct Reaping {
    /// pid -> the end the runner asked for (Exit(N), SIGKILL).
    pub told: BTreeMap<i32, Ended>,
    /// pid -> the status a wait4 line returned.
    pub statuses: BTreeMap<i32, Ended>,
    /// pid -> the SIGCHLD's si_uid, si_utime, si_stime (waitid's).
    pub info: BTreeMap<i32, [i64; 3]>,
    /// Ends waitid could not see, until the wait4 that reaped them returns.
    pub held: Vec<Held>,
    /// The end of the run (end_processes): its exits and kills.
    pub ending: bool,
    /// Children whose SIGCHLD came while their parent was in a wait4:
    /// shown after that wait4's line.
    pub into_wait: std::collections::BTreeSet<i32>,
}
