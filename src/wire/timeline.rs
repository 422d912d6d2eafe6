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
//! Lines are printed once nothing earlier can still arrive: when no call
//! that started before them is still running, and they are older than
//! [`GRACE`] (a packet is read by the capture thread some time after the
//! kernel stamped it). At the end everything left is printed.
//!
//! TCP sequence numbers are printed as tcpdump prints them without `-S`:
//! the first packet of a connection with ACK set (the SYN-ACK) and every
//! SYN shows absolute numbers and records both directions' bases; later
//! ones are relative to them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::decode::{Packet, TCP_ACK, TCP_SYN};
use crate::trace::json_str;

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
        call: &'static str,
        line: String,
    },
    Resumed {
        end: SystemTime,
        line: String,
    },
    Packet {
        ts: SystemTime,
        line: String,
    },
}

impl Item {
    fn key(&self) -> SystemTime {
        match self {
            Item::Call { start, .. } => *start,
            Item::Resumed { end, .. } => *end,
            Item::Packet { ts, .. } => *ts,
        }
    }
}

#[derive(Default)]
struct State {
    next_token: u64,
    open: BTreeMap<u64, SystemTime>,
    items: Vec<Item>,
    ports: HashSet<u16>,
    seq: SeqTracker,
}

/// The timeline shared by the tracer (syscall lines) and the capture
/// thread (packet lines).
pub struct Timeline {
    state: Mutex<State>,
    sink: Sink,
    json: bool,
}

impl Timeline {
    pub fn new(sink: Sink, json: bool) -> Timeline {
        Timeline {
            state: Mutex::new(State::default()),
            sink,
            json,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Packets to or from `port` belong to the program.
    pub fn watch_port(&self, port: u16) {
        self.lock().ports.insert(port);
    }

    /// Whether a decoded packet is the program's (its ports, or the ports
    /// an ICMP error quotes, include a watched port).
    pub fn is_ours(&self, p: &Packet) -> bool {
        let st = self.lock();
        p.ports()
            .is_some_and(|(a, b)| st.ports.contains(&a) || st.ports.contains(&b))
    }

    /// Add a packet (already known to be ours) stamped `ts`.
    pub fn packet(&self, ts: SystemTime, p: &Packet) {
        let mut st = self.lock();
        let rel = st.seq.relative(p);
        let text = p.tcpdump(rel);
        let line = if self.json {
            format!(
                "{{\"time\":{:.6},\"side\":\"wire\",\"packet\":{}}}",
                secs(ts),
                json_str(&text)
            )
        } else {
            format!("{WIRE_PREFIX}{text}")
        };
        st.items.push(Item::Packet { ts, line });
    }

    /// Print what can be printed now; with `all`, everything.
    pub fn flush(&self, all: bool) {
        let mut st = self.lock();
        let now = SystemTime::now();
        let horizon = if all {
            None
        } else {
            let settled = now.checked_sub(GRACE).unwrap_or(UNIX_EPOCH);
            // A call still running, or one whose packets may not all be in
            // yet, holds back everything after its start.
            let held = st.items.iter().filter_map(|i| match i {
                Item::Call { start, end, .. } if *end >= settled => Some(*start),
                _ => None,
            });
            Some(
                st.open
                    .values()
                    .copied()
                    .chain(held)
                    .chain([settled])
                    .min()
                    .unwrap_or(settled),
            )
        };
        let mut out = Vec::new();
        while let Some(i) = (0..st.items.len()).min_by_key(|&i| st.items[i].key()) {
            if horizon.is_some_and(|h| st.items[i].key() >= h) {
                break;
            }
            match st.items.remove(i) {
                Item::Call {
                    start,
                    end,
                    prefix,
                    call,
                    line,
                } => {
                    let interrupted = !self.json
                        && st.items.iter().any(
                            |p| matches!(p, Item::Packet { ts, .. } if *ts > start && *ts < end),
                        );
                    match (interrupted, line.rfind(") = ")) {
                        (true, Some(at)) => {
                            out.push(format!("{prefix}{} <unfinished ...>", &line[..at]));
                            st.items.push(Item::Resumed {
                                end,
                                line: format!("{prefix}<... {call} resumed>{}", &line[at..]),
                            });
                        }
                        _ => out.push(format!("{prefix}{line}")),
                    }
                }
                Item::Resumed { line, .. } | Item::Packet { line, .. } => out.push(line),
            }
        }
        drop(st);
        if !out.is_empty() {
            let mut w = match self.sink.lock() {
                Ok(w) => w,
                Err(p) => p.into_inner(),
            };
            for line in out {
                let _ = writeln!(w, "{line}");
            }
            let _ = w.flush();
        }
    }
}

impl crate::trace::Timeline for Timeline {
    fn enter(&self) -> u64 {
        let mut st = self.lock();
        st.next_token += 1;
        let token = st.next_token;
        st.open.insert(token, SystemTime::now());
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
        call: &'static str,
        line: String,
    ) {
        self.lock().items.push(Item::Call {
            start,
            end,
            prefix,
            call,
            line,
        });
    }

    fn watch_port(&self, port: u16) {
        Timeline::watch_port(self, port);
    }
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// One end of a TCP connection.
type End = (IpAddr, u16);

/// tcpdump's relative sequence numbers (print-tcp.c without `-S`): per
/// connection, the base of each direction, set by its first packet with
/// ACK or by any SYN-ACK; that packet itself shows absolute numbers.
#[derive(Default)]
pub struct SeqTracker {
    /// Keyed by the two ends in a fixed order; the bases of (first, second).
    conns: HashMap<(End, End), (u32, u32)>,
}

impl SeqTracker {
    /// The (seq, ack) to print for `p`, None to print its own.
    pub fn relative(&mut self, p: &Packet) -> Option<(u32, u32)> {
        let (ip, t) = p.tcp()?;
        if t.flags & TCP_ACK == 0 {
            return None;
        }
        let (src, dst) = ((ip.src, t.sport), (ip.dst, t.dport));
        // tcpdump's collating order: the lower port first, then the lower address.
        let forward = t.sport < t.dport || (t.sport == t.dport && ip.src <= ip.dst);
        let key = if forward { (src, dst) } else { (dst, src) };
        match self.conns.get(&key) {
            Some(&(a, b)) if t.flags & TCP_SYN == 0 => {
                let (mine, theirs) = if forward { (a, b) } else { (b, a) };
                Some((t.seq.wrapping_sub(mine), t.ack.wrapping_sub(theirs)))
            }
            _ => {
                let (mine, theirs) = (t.seq, t.ack.wrapping_sub(1));
                self.conns.insert(
                    key,
                    if forward {
                        (mine, theirs)
                    } else {
                        (theirs, mine)
                    },
                );
                None
            }
        }
    }
}
