//! One finished syscall, and its line as strace prints it.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use nix::errno::Errno;

use super::{errno_text, octal_mode};
use crate::values::addr::Addr;
use crate::values::calls::{Ret, Syscall};

/// One finished syscall.
pub struct Event<'a> {
    pub call: &'static Syscall,
    pub args: &'a str,
    pub ret: &'a Result<i64, Errno>,
    /// strace's comment after the return value, e.g. `(Timeout)` for poll;
    /// for an EINTR, the kernel's restart code when a handler interrupted
    /// the call (`ERESTARTSYS (To be restarted if SA_RESTART is set)`).
    pub ret_note: &'a str,
    /// The address the call names or learns (bind, connect, sendto's
    /// destination, getsockname's result), typed: the wire learns the
    /// program's ports from it when the row says `own_port`.
    pub addr: Option<&'a Addr>,
    pub start: SystemTime,
    pub duration: Duration,
}

impl Event<'_> {
    /// The line exactly as strace prints it, without its alignment padding.
    pub fn strace_line(&self) -> String {
        let mut line = format!("{}({}) = ", self.call.name, self.args);
        match self.ret {
            Ok(v) => {
                // umask returns a mode: strace prints it in octal (`= 022`).
                let _ = match self.call.ret {
                    Ret::Mode => write!(line, "{}", octal_mode(*v as u32)),
                    // C's %#x: `0x802`, and `0` for zero.
                    Ret::FlagsHex if *v != 0 && self.ret_note.starts_with("(flags ") => {
                        write!(line, "{v:#x}")
                    }
                    Ret::Addr => write!(line, "{v:#x}"),
                    _ => write!(line, "{v}"),
                };
                if !self.ret_note.is_empty() {
                    let _ = write!(line, " {}", self.ret_note);
                }
            }
            // Interrupted by a signal handler: the kernel's restart code
            // (the row's `restart`), which strace shows as `? CODE`.
            Err(Errno::EINTR) if !self.ret_note.is_empty() => {
                let _ = write!(line, "? {}", self.ret_note);
            }
            Err(e) => {
                let _ = write!(line, "-1 {}", errno_text(*e));
            }
        }
        line
    }
}
