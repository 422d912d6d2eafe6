//! The link's decisions, packet by packet, for one direction: pure
//! functions of the properties, the seed and the packets seen so far (no
//! clock read here: the forwarder passes the time), so one seed gives the
//! same decisions for the same packets, every run.
//!
//! ARP, neighbour discovery and multicast frames (the hosts' own
//! chatter, at times no seed decides) pass at once unless the link is
//! `down`, and draw nothing. For the others, in order: `down`,
//! `blackhole` (the peer is still found, its packets vanish), `mtu` (too big: an ICMP goes back),
//! the `drop=` counters, `loss`, the queue limit; then the departure
//! time: behind the packets before it at `rate`, plus `delay` and a
//! `jitter` drawn in [-jitter, +jitter]; `reorder` holds a packet back
//! one more delay (at least 1 ms) so the next ones pass it; `dup` sends
//! it twice. Four numbers are drawn per packet whatever happens, so a
//! change of one property does not shift the others' draws.

use std::collections::BTreeMap;
use std::time::Duration;

use super::spec::{Filter, Props};

/// The packets a link holds at once when `queue=` is not given.
pub const DEFAULT_QUEUE: usize = 10_000;

/// What the link does with one packet.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Dropped, and why (`loss 2%`, `blackhole`, ...).
    Drop(String),
    /// Bigger than the MTU: dropped, an ICMP (when one is due) goes back.
    TooBig { mtu: usize },
    /// Not a decision: the ICMP the link's router sent (for `--wire`).
    Router,
    /// Sent after `after`, `copies` times (2 with dup); `note` says why
    /// it waits, if it does (`delayed 50 ms`).
    Send {
        after: Duration,
        copies: usize,
        note: String,
    },
}

/// What the link needs to know of a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kind {
    /// The IP packet's length (0 for ARP and other frames).
    pub ip_len: usize,
    pub tcp: bool,
    pub syn: bool,
    pub tcp_data: bool,
    pub udp: bool,
    pub icmp: bool,
    /// IPv4 with DF set, or IPv6 (never fragmented on the way).
    pub dont_fragment: bool,
    /// ARP or IPv6 neighbour discovery (ICMPv6 133 to 137): a blackhole
    /// lets them through, so the hosts still find each other.
    pub neighbour: bool,
    /// To a multicast or broadcast MAC (ARP requests, MLD, router
    /// solicitations): the hosts' own chatter, sent at times no seed
    /// decides.
    pub multicast: bool,
}

impl Kind {
    /// Read an Ethernet frame's headers (never panics: short frames are
    /// "other").
    pub fn of(frame: &[u8]) -> Kind {
        let b = |i: usize| frame.get(i).copied().unwrap_or(0) as usize;
        let ethertype = b(12) << 8 | b(13);
        let multicast = b(0) & 1 != 0;
        let (ip_len, proto, l4, df) = match ethertype {
            0x0800 => {
                let ihl = (b(14) & 0x0f) * 4;
                (b(16) << 8 | b(17), b(23), 14 + ihl, b(20) & 0x40 != 0)
            }
            0x86dd => (40 + (b(18) << 8 | b(19)), b(20), 54, true),
            0x0806 => {
                return Kind {
                    neighbour: true,
                    multicast,
                    ..Kind::default()
                };
            }
            _ => {
                return Kind {
                    multicast,
                    ..Kind::default()
                };
            }
        };
        let mut k = Kind {
            ip_len,
            dont_fragment: df,
            multicast,
            ..Kind::default()
        };
        match proto {
            6 => {
                k.tcp = true;
                let flags = b(l4 + 13);
                k.syn = flags & 0x02 != 0;
                let hdr = (b(l4 + 12) >> 4) * 4;
                let ip_hdr = l4 - 14;
                k.tcp_data = ip_len > ip_hdr + hdr;
            }
            17 => k.udp = true,
            1 => k.icmp = true,
            58 => {
                k.icmp = true;
                k.neighbour = (133..=137).contains(&b(l4));
            }
            _ => {}
        }
        k
    }

    fn matches(&self, f: Filter) -> bool {
        match f {
            Filter::All => true,
            Filter::Syn => self.syn,
            Filter::TcpData => self.tcp_data,
            Filter::Tcp => self.tcp,
            Filter::Udp => self.udp,
            Filter::Icmp => self.icmp,
        }
    }
}

/// splitmix64: small, seedable, the same numbers everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A number in [0, 1).
    pub fn draw(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of the link: its properties, draws and counters.
#[derive(Clone, Debug)]
pub struct Direction {
    pub props: Props,
    rng: Rng,
    /// Packets seen, per `drop=` (same order as props.drops) and in all.
    matched: Vec<u64>,
    /// When the last packet queued for the rate has left (since start).
    busy_until: Duration,
    /// Packets waiting in the link now.
    pub queued: usize,
    pub forwarded: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub icmp_sent: u64,
    pub dropped: BTreeMap<String, u64>,
}

impl Direction {
    pub fn new(props: Props, seed: u64) -> Direction {
        let n = props.drops.len();
        Direction {
            props,
            rng: Rng::new(seed),
            matched: vec![0; n],
            busy_until: Duration::ZERO,
            queued: 0,
            forwarded: 0,
            duplicated: 0,
            delayed: 0,
            icmp_sent: 0,
            dropped: BTreeMap::new(),
        }
    }

    /// New properties (`net set`): the draws and counters go on.
    pub fn set(&mut self, props: Props) {
        self.matched.resize(props.drops.len(), 0);
        self.props = props;
    }

    /// `set seed=N`: the draws and the `drop=` counts start again, so
    /// the packets after it meet the same decisions every run.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
        self.matched.iter_mut().for_each(|m| *m = 0);
    }

    /// The verdict on a frame of `len` bytes arriving at `now`.
    pub fn decide(&mut self, kind: Kind, len: usize, now: Duration) -> Verdict {
        if kind.neighbour || kind.multicast {
            return self.chatter();
        }
        let draws = [
            self.rng.draw(),
            self.rng.draw(),
            self.rng.draw(),
            self.rng.draw(),
        ];
        let v = self.judge(kind, len, now, draws);
        match &v {
            Verdict::Drop(why) => *self.dropped.entry(why.clone()).or_default() += 1,
            Verdict::TooBig { mtu } => *self.dropped.entry(format!("mtu {mtu}")).or_default() += 1,
            Verdict::Router => {}
            Verdict::Send { after, copies, .. } => {
                self.queued += copies;
                self.forwarded += 1;
                self.duplicated += (*copies as u64).saturating_sub(1);
                self.delayed += u64::from(!after.is_zero());
            }
        }
        v
    }

    /// ARP, neighbour discovery, multicast: at once (only `down` stops
    /// them), no draw, no `drop=` count, so the hosts' chatter, whose
    /// timing no seed decides, leaves the seeded decisions alone.
    fn chatter(&mut self) -> Verdict {
        if self.props.down {
            *self.dropped.entry("link down".into()).or_default() += 1;
            return Verdict::Drop("link down".into());
        }
        self.queued += 1;
        self.forwarded += 1;
        Verdict::Send {
            after: Duration::ZERO,
            copies: 1,
            note: String::new(),
        }
    }

    fn judge(&mut self, kind: Kind, len: usize, now: Duration, d: [f64; 4]) -> Verdict {
        let p = &self.props;
        if p.down {
            return Verdict::Drop("link down".into());
        }
        if p.blackhole {
            return Verdict::Drop("blackhole".into());
        }
        if let Some(mtu) = p.mtu
            && kind.ip_len > mtu
        {
            return Verdict::TooBig { mtu };
        }
        for (i, drop) in p.drops.iter().enumerate() {
            if kind.matches(drop.filter) {
                let seen = self.matched.get(i).copied().unwrap_or(0) + 1;
                if let Some(m) = self.matched.get_mut(i) {
                    *m = seen;
                }
                match drop.nth {
                    None => return Verdict::Drop(format!("drop={}", drop.filter.name())),
                    Some(n) if n == seen => {
                        return Verdict::Drop(match drop.filter {
                            Filter::All => format!("drop={n}"),
                            f => format!("drop={n}:{}", f.name()),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        if d[0] < p.loss {
            return Verdict::Drop(format!("loss {}%", p.loss * 100.0));
        }
        if self.queued >= p.queue.unwrap_or(DEFAULT_QUEUE) {
            return Verdict::Drop("queue full".into());
        }
        let mut at = now;
        if let Some(rate) = p.rate {
            let tx = Duration::from_nanos((len as u64 * 8).saturating_mul(1_000_000_000) / rate);
            self.busy_until = self.busy_until.max(now) + tx;
            at = self.busy_until;
        }
        let jitter = p.jitter.as_secs_f64() * (2.0 * d[3] - 1.0);
        let mut delay = Duration::from_secs_f64((p.delay.as_secs_f64() + jitter).max(0.0));
        let reordered = d[2] < p.reorder;
        if reordered {
            delay += p.delay.max(Duration::from_millis(1));
        }
        let after = at.saturating_sub(now) + delay;
        let mut note = String::new();
        if !after.is_zero() {
            note = format!("delayed {:.1} ms", after.as_secs_f64() * 1e3);
        }
        if reordered {
            note.push_str(" (reordered)");
        }
        let copies = if d[1] < p.dup { 2 } else { 1 };
        if copies == 2 {
            note.push_str(" (duplicated)");
        }
        Verdict::Send {
            after,
            copies,
            note: note.trim().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::Link;
    use super::*;

    fn udp_frame() -> Vec<u8> {
        let mut f = vec![0u8; 14 + 28 + 10];
        f[12] = 0x08;
        f[14] = 0x45;
        f[17] = 38;
        f[23] = 17;
        f
    }

    /// Every decision (lost, delayed, reordered, duplicated), packet by
    /// packet: the seed's (tests/suite/net's pcap test compares only what
    /// leaves the link, whose order the arrival times also decide).
    #[test]
    fn the_same_seed_gives_the_same_drops() {
        let run = |seed| {
            let spec = format!("loss=30%,dup=10%,reorder=10%,delay=1ms,jitter=1ms,seed={seed}");
            let l = Link::parse(&spec).unwrap();
            let mut d = Direction::new(l.ab, l.seed);
            let k = Kind::of(&udp_frame());
            (0..200)
                .map(|i| d.decide(k, 52, Duration::from_millis(i)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        let lost = run(5)
            .iter()
            .filter(|v| matches!(v, Verdict::Drop(_)))
            .count();
        assert!((30..90).contains(&lost), "{lost}");
        let noted = |what: &str| {
            run(5)
                .iter()
                .filter(|v| matches!(v, Verdict::Send { note, .. } if note.contains(what)))
                .count()
        };
        assert!(noted("(reordered)") > 0 && noted("(duplicated)") > 0);
    }

    #[test]
    fn nth_drop_mtu_and_delay() {
        let l = Link::parse("drop=2:udp,mtu=600,delay=20ms").unwrap();
        let mut d = Direction::new(l.ab, 1);
        let k = Kind::of(&udp_frame());
        assert!(matches!(
            d.decide(k, 52, Duration::ZERO),
            Verdict::Send { .. }
        ));
        assert_eq!(
            d.decide(k, 52, Duration::ZERO),
            Verdict::Drop("drop=2:udp".into())
        );
        let big = Kind { ip_len: 1000, ..k };
        assert_eq!(
            d.decide(big, 1014, Duration::ZERO),
            Verdict::TooBig { mtu: 600 }
        );
        match d.decide(k, 52, Duration::ZERO) {
            Verdict::Send { after, note, .. } => {
                assert_eq!(after, Duration::from_millis(20));
                assert_eq!(note, "delayed 20.0 ms");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn classifies_tcp_syn_and_data() {
        let mut f = vec![0u8; 14 + 20 + 20 + 5];
        f[12] = 0x08;
        f[14] = 0x45;
        f[17] = 45;
        f[23] = 6;
        f[34 + 12] = 0x50;
        f[34 + 13] = 0x18;
        let k = Kind::of(&f);
        assert!(k.tcp && k.tcp_data && !k.syn);
        assert_eq!(Kind::of(&[0, 2]), Kind::default());
    }
}
