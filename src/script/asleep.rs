//! An actor's thread as the runner sees it in /proc (asleep in its
//! call, or not).

use std::fs::File;
use std::os::fd::RawFd;
use std::os::unix::fs::FileExt;

/// fds above the ones a script gets, for the runner's own /proc files
/// (kept open, so that looking at /proc never takes the number a socket
/// call of another actor is about to get).
pub(super) const HIGH_FD: RawFd = 900;

/// An actor thread's /proc/thread-self/stat and syscall, read with pread.
pub struct Proc {
    stat: File,
    syscall: File,
}

impl Proc {
    /// Open a thread's files in `dir` (None if /proc is not there).
    pub(super) fn open(dir: &str) -> Option<Proc> {
        let open = |name: &str| File::open(format!("{dir}/{name}")).ok().map(high);
        Some(Proc {
            stat: open("stat")?,
            syscall: open("syscall")?,
        })
    }

    /// The thread's state letter (S: asleep; None: it is gone).
    pub(super) fn state(&self) -> Option<char> {
        let mut buf = [0u8; 512];
        let n = self.stat.read_at(&mut buf, 0).ok()?;
        let stat = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]));
        let rest = stat.get(stat.rfind(')')? + 1..)?;
        rest.split_whitespace().next()?.chars().next()
    }

    /// Is the thread asleep (state S) in syscall `nr`?
    pub(super) fn asleep_in(&self, nr: i64) -> bool {
        let mut buf = [0u8; 512];
        let Ok(n) = self.stat.read_at(&mut buf, 0) else {
            return false;
        };
        let stat = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]));
        // The state follows the command name in parentheses (which may hold spaces).
        let state = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .and_then(|rest| rest.split_whitespace().next());
        if state != Some("S") {
            return false;
        }
        let Ok(n) = self.syscall.read_at(&mut buf, 0) else {
            return false;
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]));
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            == Some(nr)
    }
}

fn high(f: File) -> File {
    crate::sys::untraced::above(f, HIGH_FD)
}
