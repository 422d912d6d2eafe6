//! `socklab bench`: a load generator for any server that answers each
//! message with one of the same length (socklab's servers and their C
//! twins, `socat ... PIPE`, the tutorial's Python server), for
//! `BENCHMARKS.md`.
//!
//! - `rr`: request/response on `--conns K` connections. One connection:
//!   blocking `sendto`, then `recvfrom` until the whole echo is back. More:
//!   non-blocking sockets and one `poll` over all of them; each connection
//!   has one request in flight.
//! - `stream`: one non-blocking connection, `sendto` of `--size` bytes at a
//!   time (`poll` for POLLOUT when the send buffer is full); then
//!   `shutdown(SHUT_WR)` and `recvfrom` until the server closes, so the
//!   time counts every byte the server read (pair with `--sink`).
//! - `connect`: per connection `socket`, `connect`, one exchange, `close`;
//!   `--conns K` threads do it side by side.
//! - `udp`: a connected datagram socket with `--window` datagrams in flight;
//!   replies are counted, the ones that do not come within `--wait` are lost;
//!   `--batch N`: sendmmsg and recvmmsg of up to N per call (`udp_batch.rs`);
//!   its result says how many syscalls each datagram cost.
//!
//! Every connection is made within `--connect-timeout` (`dial.rs`:
//! non-blocking connect, poll, SO_ERROR): a server that does not accept
//! ends the run with exit 1 and a message, not a connect that waits.
//!
//! `--source` binds each connection to one of several local addresses
//! before its connect (`source.rs`: one ephemeral port range per address).
//!
//! Each run first raises the soft `RLIMIT_NOFILE` to the hard limit
//! (`prlimit64`; above it when `--conns` needs more: `source.rs`), pins itself with `--pin` (`sched_setaffinity`), and reads
//! its CPU time with `getrusage` before and after. Content is not compared:
//! socklab's servers answer upper-cased.

mod args;
mod dial;
mod load;
mod rr;
mod source;
mod stats;
mod udp_batch;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::output::Output;
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub use args::BenchCommand;
pub use stats::{Latency, Report};

/// Which benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    Rr,
    Stream,
    Connect,
    Udp,
}

/// A run's parameters, from the command line.
#[derive(Clone, Debug)]
pub struct Opts {
    pub test: Test,
    pub addr: Addr,
    pub conns: usize,
    pub size: usize,
    /// Stop after this many transactions (rr, connect, udp) ...
    pub count: Option<u64>,
    /// ... or this many bytes (stream) ...
    pub bytes: Option<u64>,
    /// ... or after this long (the default: 2 s).
    pub duration: Duration,
    pub json: bool,
    pub pin: Option<usize>,
    /// udp: datagrams in flight.
    pub window: usize,
    /// udp: how long an unanswered datagram is waited for.
    pub wait: Duration,
    /// udp `--batch N`: sendmmsg and recvmmsg of up to N datagrams.
    pub batch: Option<usize>,
    /// How long a connect may take (a server that does not accept).
    pub connect_timeout: Duration,
    /// `--source`: the local addresses, round robin (none: the kernel's choice).
    pub source: Vec<Addr>,
}

/// Run one benchmark and print its report.
pub fn run(sys: &Sys, out: &Output, opts: &Opts) -> Result<()> {
    if let Some(cpu) = opts.pin {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(Error::Usage(format!(
                "--pin {cpu}: CPUs are numbered 0 to {}",
                cpus.saturating_sub(1)
            )));
        }
        sys.sched_setaffinity(cpu)?;
    }
    if opts.test == Test::Udp && opts.addr.is_unix() {
        return Err(Error::Usage(
            "bench udp needs a HOST:PORT address".to_string(),
        ));
    }
    source::check(&opts.source, &opts.addr)?;
    let at_once = match opts.test {
        Test::Rr | Test::Connect => opts.conns,
        Test::Stream | Test::Udp => 1,
    };
    source::nofile(sys, out, at_once)?;
    let before = sys.getrusage()?;
    let mut report = match opts.test {
        Test::Rr => rr::rr(sys, out, opts)?,
        Test::Stream => load::stream(sys, opts)?,
        Test::Connect => load::connect(sys, out, opts)?,
        Test::Udp => match opts.batch {
            Some(n) => udp_batch::udp(sys, opts, n)?,
            None => load::udp(sys, opts)?,
        },
    };
    let after = sys.getrusage()?;
    report.cpu.user = after.user - before.user;
    report.cpu.system = after.system - before.system;
    report.addr = opts.addr.to_string();
    report.conns = opts.conns;
    report.size = opts.size;
    if opts.json {
        out.say(&report.json());
    } else {
        out.say(report.text().trim_end());
    }
    Ok(())
}

/// When a run stops: after a count, or at a deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    count: Option<u64>,
    deadline: Instant,
}

impl Limit {
    fn new(opts: &Opts, count: Option<u64>) -> Limit {
        Limit {
            count,
            deadline: Instant::now() + opts.duration,
        }
    }

    /// May another transaction start, `done` having completed?
    fn more(&self, done: u64, now: Instant) -> bool {
        match self.count {
            Some(n) => done < n,
            None => now < self.deadline,
        }
    }
}

/// A once-a-second progress line on stderr when it is a terminal and the
/// run lasts more than a second; cleared at the end.
pub(crate) struct Progress {
    on: bool,
    start: Instant,
    next: Instant,
    shown: bool,
    label: &'static str,
}

impl Progress {
    fn new(label: &'static str) -> Progress {
        let now = Instant::now();
        Progress {
            on: std::io::stderr().is_terminal(),
            start: now,
            next: now + Duration::from_secs(1),
            shown: false,
            label,
        }
    }

    fn tick(&mut self, done: u64, now: Instant) {
        if !self.on || now < self.next {
            return;
        }
        self.next = now + Duration::from_secs(1);
        let secs = now.duration_since(self.start).as_secs_f64();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{:.0} s: {done} {}, {:.0}/s",
            secs,
            self.label,
            done as f64 / secs
        );
        let _ = err.flush();
        self.shown = true;
    }

    fn finish(&self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
