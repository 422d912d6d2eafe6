//! The `--wire` timeline: syscall lines and packet lines in one stream,
//! ordered by time.
//!
//! Both clocks are CLOCK_REALTIME: a syscall's entry time (`SystemTime::now()`
//! just before the call) and its return time; a packet's kernel receive
//! timestamp (SCM_TIMESTAMPNS).
//!
//! The rule: a syscall line stands at its entry time. When packets were
//! timestamped while the call was running (connect's handshake, the SYN
//! that wakes accept4), the call is split as strace splits a call that
//! another thread interrupts: `connect(3, {...}, 16 <unfinished ...>` at
//! entry, the packets, then `<... connect resumed>) = 0` at its return.
//! A call that returned before its packets were timestamped (send, close:
//! loopback delivers them a moment later) is printed whole, before them.
//!
//! Which packets are the program's is decided when they are printed, by
//! port: the ports named on the command line, the port a server prints in
//! `listening on`, and the ports in the addresses of its traced bind,
//! getsockname, connect and sendto calls (not the peers accept4 and
//! recvfrom report: a client's ephemeral port can be shared by another
//! connection to another server), each in the family its address names
//! (a UDP server's port on 127.0.0.1 does not make a TCP connection over
//! ::1 on the same number the program's); ICMP errors by
//! the ports of the datagram they quote. By then every call that started
//! before the packet has returned and named its ports (see below). Other
//! loopback traffic is dropped, and never written to the pcap file.
//!
//! Lines are printed once nothing earlier can still arrive: when no call
//! that started before them is still running, and they are older than
//! [`GRACE`] (a packet is read by the capture thread some time after the
//! kernel stamped it). At the end everything left is printed.
//!
//! A forked child of a process model (`--model fork`, `prefork:N`) has
//! no capture thread: its lines are printed at once, not merged by time.
//!
//! TCP sequence numbers are printed as tcpdump prints them without `-S`:
//! the first packet of a connection with ACK set (the SYN-ACK) and every
//! SYN shows absolute numbers and records both directions' bases; later
//! ones are relative to them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod open;
mod printing;

use crate::strace::json_str;
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::calls::Syscall;
use crate::wire::bpf;
use crate::wire::decode::{Packet, decode};
use crate::wire::pcap::Writer;
use crate::wire::ports::{V4, V6, key, matches, own_port};
use crate::wire::refilter::Refilter;
use crate::wire::seq::SeqTracker;

/// The most packets one run keeps (shown and written).
pub const MAX_PACKETS: u64 = 100_000;

/// How long after its timestamp a packet line waits before printing.
pub const GRACE: Duration = Duration::from_millis(100);

/// How the packet lines are marked in the text timeline.
pub const WIRE_PREFIX: &str = "  wire: ";

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

enum Item {
    Call {
        start: SystemTime,
        end: SystemTime,
        /// `server | ` in `socklab demo`, else empty.
        prefix: String,
        call: &'static Syscall,
        line: String,
        /// Its `<unfinished ...>` line is out (`open.rs`): only the rest.
        shown: bool,
    },
    /// The rest of a call printed as unfinished, or a signal's or an
    /// end's line (`Timeline::signal`): its prefix, then (at print time)
    /// its `--trace-time` stamp, then `text`.
    Resumed {
        end: SystemTime,
        prefix: String,
        text: String,
    },
    /// A captured frame; whether it is the program's is decided when it
    /// is printed (by then every call that started before it has
    /// returned and named its ports).
    Packet {
        ts: SystemTime,
        frame: Vec<u8>,
        orig_len: usize,
    },
    /// A `# ...` line of a lab, or a `--show-state` line.
    Note { at: SystemTime, line: String },
    /// A line of a program's stdout (`listening on ADDR`), printed there
    /// at its place: after the call that made it.
    Say { at: SystemTime, line: Vec<u8> },
}

impl Item {
    fn key(&self) -> SystemTime {
        match self {
            Item::Call { start, .. } => *start,
            Item::Resumed { end, .. } => *end,
            Item::Packet { ts, .. } => *ts,
            Item::Note { at, .. } | Item::Say { at, .. } => *at,
        }
    }
}

/// A frame of unknown ports: its time, bytes, real length and ports.
type Limbo = (SystemTime, Vec<u8>, usize, (u16, u16, u8));

#[derive(Default)]
struct State {
    next_token: u64,
    open: BTreeMap<u64, open::Open>,
    items: Vec<Item>,
    /// Frames waiting in `items`.
    pending: usize,
    /// Frames whose ports are not (yet) the program's: a connect's SYN is
    /// read before connect returns and names its port. The newest
    /// [`LIMBO`] are kept; a call that names their port moves them in.
    limbo: VecDeque<Limbo>,
    /// The program's ports, each with the families it is watched in
    /// ([`V4`], [`V6`] bits).
    ports: HashMap<u16, u8>,
    seq: SeqTracker,
    pcap: Option<Writer>,
    pcap_error: Option<String>,
    stats: Stats,
}

/// What the timeline kept and dropped.
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    /// The program's packets (shown and written).
    pub kept: u64,
    /// Frames not kept: the buffer was full, or MAX_PACKETS were kept.
    pub over_limit: u64,
}

/// The most frames waiting to be sorted at once (other programs' loopback
/// traffic included: it is dropped when it is printed).
pub const MAX_PENDING: usize = 20_000;

/// How many frames of unknown ports wait for a call to name their port.
pub const LIMBO: usize = 4096;

/// The timeline shared by the tracer (syscall lines) and the capture
/// thread (packet lines).
pub struct Timeline {
    state: Mutex<State>,
    /// The capture's socket and a layer to re-attach the kernel filter
    /// with when the program names a new port (`refilter.rs`).
    refilter: Mutex<Option<Refilter>>,
    sink: Sink,
    /// A program's stdout, when it is not `sink` (a lab's one stream).
    out: Option<Sink>,
    /// Printed to its end ([`Timeline::close`]): later lines go straight out.
    closed: AtomicBool,
    json: bool,
    /// `--wire`: print the packets (else only `--pcap`).
    show: bool,
    /// `--trace-time`: the stamps of the call lines, given as they print.
    stamps: Option<Arc<crate::strace::stamp::Stamps>>,
    /// Held by whoever prints (the capture thread, a parent that forked:
    /// [`crate::strace::Timeline::forked`]), so that two flushes do not
    /// interleave their lines.
    printing: Mutex<()>,
}

impl Timeline {
    pub fn new(sink: Sink, out: Option<Sink>, json: bool, show: bool) -> Timeline {
        Timeline {
            state: Mutex::new(State::default()),
            refilter: Mutex::new(None),
            sink,
            out,
            closed: AtomicBool::new(false),
            json,
            show,
            stamps: crate::strace::stamp::stamps().filter(|_| !json),
            printing: Mutex::new(()),
        }
    }

    /// The program's ports known so far, sorted.
    pub fn ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.lock().ports.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Where to re-attach the kernel filter (see `capture.rs`, step 4).
    pub fn set_refilter(&self, sys: &Sys, s: Socket) {
        *crate::strace::lock(&self.refilter) = Some(Refilter::new(sys, s, self.json));
    }

    /// Attach the filter for the current ports, on the thread whose call
    /// (its line's `prefix`; none: this task's) named a new one; its line
    /// comes next on the timeline, as the capture's (`Refilter::head`). A failure keeps the old filter (user
    /// space still decides); it is not fatal.
    fn refilter(&self, prefix: Option<String>) {
        let guard = crate::strace::lock(&self.refilter);
        let Some(r) = guard.as_ref() else {
            return;
        };
        let Some(shown) = r.attach(&bpf::program(&self.ports())) else {
            return;
        };
        let prefix = match self.json {
            true => String::new(),
            false => r.head(prefix.as_deref()),
        };
        if self.direct(&format!("{prefix}{}", shown.line)) {
            return;
        }
        self.lock().items.push(Item::Call {
            start: shown.start,
            end: shown.end,
            prefix,
            call: shown.call,
            line: shown.line,
            shown: false,
        });
    }

    /// `--pcap`: write the program's packets there as they are decided.
    pub fn set_pcap(&self, w: Writer) {
        self.lock().pcap = Some(w);
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// A failure to write the pcap file, if any.
    pub fn pcap_error(&self) -> Option<String> {
        let mut st = self.lock();
        if let Some(w) = st.pcap.as_mut()
            && let Err(e) = w.flush()
        {
            st.pcap_error.get_or_insert(e.to_string());
        }
        st.pcap_error.clone()
    }

    /// A note line at time `at` (see [`Item::Note`]).
    pub fn note(&self, at: SystemTime, line: String) {
        if self.direct(&line) {
            return;
        }
        self.lock().items.push(Item::Note { at, line });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::strace::lock(&self.state)
    }

    /// Packets to or from `port` belong to the program.
    pub fn watch_port(&self, port: u16) {
        let mut st = self.lock();
        // The kernel's filter is by port number: a known port (one
        // family more) needs no new one.
        let known = st.ports.contains_key(&port);
        let new = Timeline::add_port(&mut st, port, V4 | V6, None) && !known;
        drop(st);
        if new {
            self.refilter(None);
        }
    }

    /// Add a captured frame stamped `ts` (its real length `orig_len`):
    /// to the timeline if its ports are the program's, else to the limbo.
    pub fn frame(&self, ts: SystemTime, frame: &[u8], orig_len: usize) {
        let Some(k) = key(&decode(frame)) else {
            return;
        };
        let mut st = self.lock();
        if matches(&st.ports, k) {
            push_frame(&mut st, ts, frame.to_vec(), orig_len);
        } else {
            if st.limbo.len() >= LIMBO {
                st.limbo.pop_front();
            }
            st.limbo.push_back((ts, frame.to_vec(), orig_len, k));
        }
    }

    /// A port of the program's, in the families `fam`: frames in the
    /// limbo with it move in, those stamped from `since` on (the start of
    /// the call that named it; None: all). True if something is new.
    fn add_port(st: &mut State, port: u16, fam: u8, since: Option<SystemTime>) -> bool {
        let bits = st.ports.entry(port).or_insert(0);
        if *bits & fam == fam {
            return false;
        }
        *bits |= fam;
        let limbo = std::mem::take(&mut st.limbo);
        for (ts, frame, orig_len, k) in limbo {
            let fresh = since.is_none_or(|t| ts >= t);
            if fresh && matches(&st.ports, k) {
                push_frame(st, ts, frame, orig_len);
            } else {
                st.limbo.push_back((ts, frame, orig_len, k));
            }
        }
        true
    }
}

impl crate::strace::Timeline for Timeline {
    fn enter(&self) -> u64 {
        let mut st = self.lock();
        st.next_token += 1;
        let token = st.next_token;
        st.open.insert(token, open::Open::new(SystemTime::now()));
        token
    }

    fn leave(&self, token: u64) {
        self.lock().open.remove(&token);
    }

    fn call(
        &self,
        start: SystemTime,
        end: SystemTime,
        prefix: String,
        call: &'static Syscall,
        line: String,
        addr: Option<Addr>,
    ) {
        if self.direct(&format!("{prefix}{line}")) {
            return;
        }
        let mut st = self.lock();
        let mut new = false;
        // Its own sockets' ports and the ports it sends to (the row's
        // `own_port`); not the peers accept4 and recvfrom report: a
        // client's ephemeral port may be shared by another connection to
        // another server (Linux lets connects share a local port when the
        // 4-tuples differ).
        if call.own_port
            && let Some((port, fam)) = addr.as_ref().and_then(own_port)
        {
            let known = st.ports.contains_key(&port);
            new |= Timeline::add_port(&mut st, port, fam, Some(start)) && !known;
        }
        let shown = Timeline::was_shown(&mut st);
        st.items.push(Item::Call {
            start,
            end,
            prefix: prefix.clone(),
            call,
            line,
            shown,
        });
        drop(st);
        if new {
            self.refilter(Some(prefix));
        }
    }

    fn hold_for_fork(&self) -> Vec<Box<dyn crate::strace::ForkHeld + '_>> {
        // `printing` first (flush takes it before the others), then
        // `refilter` then `state` (as watch_port takes them), then the
        // sink (taken alone elsewhere).
        let mut held: Vec<Box<dyn crate::strace::ForkHeld + '_>> = vec![
            Box::new(crate::strace::lock(&self.printing)),
            Box::new(crate::strace::lock(&self.refilter)),
            Box::new(self.lock()),
            Box::new(crate::strace::lock(&self.sink)),
        ];
        // The program's stdout after the sink (as `flush` takes them).
        if let Some(out) = &self.out {
            held.push(Box::new(crate::strace::lock(out)));
        }
        held
    }

    fn note(&self, at: SystemTime, line: String) {
        Timeline::note(self, at, line);
    }

    fn entering(&self, prefix: String, text: String) {
        Timeline::entering(self, prefix, text);
    }

    fn say(&self, at: SystemTime, line: Vec<u8>) {
        self.say_line(at, line);
    }

    fn signal(&self, at: SystemTime, prefix: String, text: String) {
        self.signal_line(at, prefix, text);
    }

    fn forked(&self) {
        self.flush(true);
    }

    fn watch_port(&self, port: u16) {
        Timeline::watch_port(self, port);
    }
}

fn push_frame(st: &mut State, ts: SystemTime, frame: Vec<u8>, orig_len: usize) {
    if st.pending >= MAX_PENDING {
        st.stats.over_limit += 1;
        return;
    }
    st.pending += 1;
    st.items.push(Item::Packet {
        ts,
        frame,
        orig_len,
    });
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}
