//! Looking at a socket while the program runs: `--show-state` (the TCP
//! state and queue depths after each syscall) and `--pause-before`,
//! `--pause-after`, `--step` (stop at a syscall boundary so `ss`, `tcpdump`
//! or `strace` can look).
//!
//! The state is read with syscalls too, made through `sys` and traced:
//! `getsockopt(fd, SOL_TCP, TCP_INFO)`, then `ioctl(fd, SIOCINQ)` and
//! `ioctl(fd, SIOCOUTQ)` (not on a listening socket, where they mean nothing).

use std::collections::HashSet;
use std::io::IsTerminal;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::output::Output;
use crate::sys::{Observer, Socket, Sys};
use crate::sys::{signals, untraced};
use crate::values::calls::{self, Syscall};
use crate::values::error::{Error, Result};

/// `CALL` or `CALL:SECS` from `--pause-before`/`--pause-after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub call: String,
    pub secs: Option<f64>,
}

pub fn parse_pause(s: &str) -> std::result::Result<Pause, String> {
    let (call, secs) = match s.split_once(':') {
        Some((call, secs)) => {
            let secs: f64 = secs
                .parse()
                .map_err(|_| format!("'{secs}' is not a number of seconds"))?;
            if !(secs.is_finite() && (0.0..=3600.0).contains(&secs)) {
                return Err(format!("{secs} seconds is out of range (0 to 3600)"));
            }
            (call, Some(secs))
        }
        None => (s, None),
    };
    if !calls::pausable().any(|name| name == call) {
        return Err(format!(
            "'{call}' is not a syscall socklab makes ({})",
            calls::pausable().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Pause {
        call: call.to_string(),
        secs,
    })
}

/// What to look at, and the TCP sockets seen so far.
#[derive(Debug, Default)]
pub struct Inspect {
    pub show_state: bool,
    pub pause_before: Vec<Pause>,
    pub pause_after: Vec<Pause>,
    pub step: bool,
    tcp: Mutex<HashSet<RawFd>>,
}

impl Inspect {
    pub fn new(
        show_state: bool,
        pause_before: Vec<Pause>,
        pause_after: Vec<Pause>,
        step: bool,
    ) -> Result<Inspect> {
        let waits_for_signal = pause_before
            .iter()
            .chain(&pause_after)
            .any(|p| p.secs.is_none())
            || step;
        if waits_for_signal && !std::io::stdin().is_terminal() {
            // Block SIGUSR1 now, so one sent before the pause is not lost:
            // the pause takes it with sigwait.
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR1);
            untraced::sigmask(SigmaskHow::SIG_BLOCK, &set).map_err(|e| {
                Error::Runtime(format!("sigprocmask: {}", crate::strace::errno_text(e)))
            })?;
        }
        Ok(Inspect {
            show_state,
            pause_before,
            pause_after,
            step,
            tcp: Mutex::new(HashSet::new()),
        })
    }

    pub fn is_active(&self) -> bool {
        self.show_state
            || self.step
            || !self.pause_before.is_empty()
            || !self.pause_after.is_empty()
    }

    /// This inspection as `sys`'s observer, None when nothing is asked for.
    pub fn observer(self) -> Option<Arc<dyn Observer>> {
        self.is_active()
            .then(|| Arc::new(self) as Arc<dyn Observer>)
    }

    /// Remember a TCP socket (from socket or accept4), or forget a closed one.
    pub fn track(&self, fd: RawFd, tcp: bool) {
        if let Ok(mut set) = self.tcp.lock() {
            if tcp {
                set.insert(fd);
            } else {
                set.remove(&fd);
            }
        }
    }

    pub fn is_tcp(&self, fd: RawFd) -> bool {
        self.tcp.lock().is_ok_and(|set| set.contains(&fd))
    }
}

impl Observer for Inspect {
    /// Before a syscall: `--step` and `--pause-before`. No pause once a
    /// stop signal has arrived: `sys` acts on it at the next blocking call.
    fn before(&self, sys: &Sys, call: &'static Syscall, fd: Option<Socket>) {
        if signals::pending().is_some() {
            return;
        }
        let call = call.name;
        let on = fd.map_or(String::new(), |s| format!(" on fd {s}"));
        if self.step {
            pause(sys, &format!("step: before {call}{on}"), None);
        } else if let Some(p) = self.pause_before.iter().find(|p| p.call == call) {
            pause(sys, &format!("paused before {call}{on}"), p.secs);
        }
    }

    /// After a syscall: `--show-state`, then `--pause-after` (none once a
    /// stop signal has arrived).
    fn after(
        &self,
        sys: &Sys,
        call: &'static Syscall,
        fd: Option<Socket>,
        ret: &std::result::Result<i64, nix::errno::Errno>,
    ) {
        let call = call.name;
        if self.show_state
            && let Some(s) = fd
            && call != "close"
            && self.is_tcp(s.fd())
        {
            // accept4's new connection first, then its listener's queue.
            if matches!(call, "accept4" | "accept")
                && let Ok(new) = ret
                && let Ok(new) = RawFd::try_from(*new)
            {
                show_state(sys, Socket::raw(new));
            }
            show_state(sys, s);
        }
        if signals::pending().is_some() {
            return;
        }
        if let Some(p) = self.pause_after.iter().find(|p| p.call == call) {
            let on = fd.map_or(String::new(), |s| format!(" on fd {s}"));
            pause(sys, &format!("paused after {call}{on}"), p.secs);
        }
    }

    /// A socket from socket (TCP or not) or accept4 (TCP when its
    /// listener is): `--show-state` looks at TCP sockets only.
    fn opened(&self, fd: Socket, from: Option<Socket>, tcp: bool) {
        let tcp = from.map_or(tcp, |l| self.is_tcp(l.fd()));
        self.track(fd.fd(), tcp);
    }

    fn closed(&self, fd: Socket) {
        self.track(fd.fd(), false);
    }

    /// `--pause-before CALL` now, ahead of a check that guards CALL (a
    /// UNIX server's newfstatat before its unlinkat), so that the check
    /// sees what changed during the pause. Returns the inspection left for
    /// CALL itself (that pause removed), or None if CALL has no pause.
    fn before_check(&self, sys: &Sys, call: &'static Syscall) -> Option<Option<Arc<dyn Observer>>> {
        let call = call.name;
        let p = self.pause_before.iter().find(|p| p.call == call)?;
        if signals::pending().is_none() {
            pause(sys, &format!("paused before {call}"), p.secs);
        }
        let rest = Inspect {
            show_state: self.show_state,
            pause_before: self
                .pause_before
                .iter()
                .filter(|p| p.call != call)
                .cloned()
                .collect(),
            pause_after: self.pause_after.clone(),
            step: self.step,
            tcp: Mutex::new(self.tcp.lock().map(|set| set.clone()).unwrap_or_default()),
        };
        Some(rest.observer())
    }
}

/// Wait SECS, or for Enter on a terminal, or for SIGUSR1, after a traced
/// getpid (the pid the message names). A stop signal
/// (in a program that catches them to clean up) ends the wait early; the
/// program's next blocking call then stops it (`sys`), and a call that
/// does not block is made, as it would be after a stop signal at any
/// other time (a UNIX server that has bound its file removes it on the
/// way out of its serving loop).
fn pause(sys: &Sys, what: &str, secs: Option<f64>) {
    // Traced: strace shows this getpid among the program's calls.
    let pid = sys.getpid().unwrap_or(0);
    let out = Output::new(sys.tracer().clone());
    match secs {
        Some(secs) => {
            out.say(&format!("{what} (pid {pid}): waiting {secs}s"));
            signals::sleep(Duration::from_secs_f64(secs));
        }
        None if std::io::stdin().is_terminal() => {
            out.say(&format!("{what} (pid {pid}): press Enter to go on"));
            signals::read_line();
        }
        None => {
            out.say(&format!(
                "{what} (pid {pid}): send SIGUSR1 to go on (kill -USR1 {pid})"
            ));
            signals::wait_for_sigusr1();
        }
    }
}

/// One line: the TCP state and the queues, from TCP_INFO, SIOCINQ, SIOCOUTQ
/// (strace prints them as FIONREAD, TIOCOUTQ: the same numbers).
fn show_state(sys: &Sys, s: Socket) {
    let Ok(info) = sys.tcp_info(s) else { return };
    let state = tcp_state_name(info.tcpi_state);
    let line = if tcp_state_name(info.tcpi_state) == "LISTEN" {
        // For a listener, the kernel reports the accept queue in these two.
        format!(
            "fd {s}: LISTEN, accept queue {} of {}",
            info.tcpi_unacked, info.tcpi_sacked
        )
    } else {
        let inq = sys
            .ioctl_queue(s, libc::FIONREAD, "FIONREAD")
            .map_or("?".into(), |n| n.to_string());
        let outq = sys
            .ioctl_queue(s, libc::TIOCOUTQ, "TIOCOUTQ")
            .map_or("?".into(), |n| n.to_string());
        format!(
            "fd {s}: {state}, rtt {:.3} ms, unacked {}, retransmits {}, inq {inq} outq {outq}",
            f64::from(info.tcpi_rtt) / 1000.0,
            info.tcpi_unacked,
            info.tcpi_total_retrans,
        )
    };
    Output::new(sys.tracer().clone()).note(&format!("[state {line}]"));
}

/// The kernel's TCP state names (include/net/tcp_states.h).
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}
