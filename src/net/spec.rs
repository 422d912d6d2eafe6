//! The link SPEC: comma-separated properties, each for both directions or,
//! with an `a>b:` / `b>a:` prefix, for one.
//!
//! `delay=50ms`, `jitter=5ms`, `loss=2%`, `drop=N` (the Nth packet),
//! `drop=FILTER` (every packet the filter matches: `syn`, `tcp-data`,
//! `tcp`, `udp`, `icmp`), `drop=N:FILTER` (the Nth packet the filter
//! matches), `dup=1%`, `reorder=1%`, `rate=10mbit` (bit, kbit, mbit,
//! gbit), `queue=N` (packets waiting for the rate), `mtu=1400`,
//! `blackhole` / `blackhole=off` (IP packets vanish; ARP and neighbour
//! discovery pass, so a connect times out), `down` / `up` (nothing
//! passes: the hosts lose each other), `seed=N` (both
//! directions), `clear` (every property back to its default).

use std::fmt;
use std::time::Duration;

use crate::values::error::{Error, Result};

/// Which packets a `drop=` counts and drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    Syn,
    TcpData,
    Tcp,
    Udp,
    Icmp,
}

impl Filter {
    fn parse(s: &str) -> Option<Filter> {
        Some(match s {
            "syn" => Filter::Syn,
            "tcp-data" => Filter::TcpData,
            "tcp" => Filter::Tcp,
            "udp" => Filter::Udp,
            "icmp" => Filter::Icmp,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Filter::All => "packet",
            Filter::Syn => "syn",
            Filter::TcpData => "tcp-data",
            Filter::Tcp => "tcp",
            Filter::Udp => "udp",
            Filter::Icmp => "icmp",
        }
    }
}

/// One `drop=`: the Nth matching packet, or every one (`nth` None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drop {
    pub nth: Option<u64>,
    pub filter: Filter,
}

/// One direction's properties.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Props {
    pub delay: Duration,
    pub jitter: Duration,
    /// Fractions (0.02 for 2%).
    pub loss: f64,
    pub dup: f64,
    pub reorder: f64,
    pub drops: Vec<Drop>,
    /// Bits per second.
    pub rate: Option<u64>,
    pub queue: Option<usize>,
    pub mtu: Option<usize>,
    pub blackhole: bool,
    pub down: bool,
}

/// Both directions and the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub ab: Props,
    pub ba: Props,
    pub seed: u64,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            ab: Props::default(),
            ba: Props::default(),
            seed: 1,
        }
    }
}

fn bad(token: &str, why: &str) -> Error {
    Error::Usage(format!("bad link property '{token}': {why}"))
}

fn duration(v: &str, token: &str) -> Result<Duration> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num
        .parse()
        .map_err(|_| bad(token, "a time such as 50ms, 1s, 200us"))?;
    let secs = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        _ => return Err(bad(token, "a time such as 50ms, 1s, 200us")),
    };
    if !(0.0..=60.0).contains(&secs) {
        return Err(bad(token, "between 0 and 60 s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn percent(v: &str, token: &str) -> Result<f64> {
    let n: f64 = v
        .strip_suffix('%')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad(token, "a percentage such as 2%"))?;
    if !(0.0..=100.0).contains(&n) {
        return Err(bad(token, "between 0% and 100%"));
    }
    Ok(n / 100.0)
}

fn rate(v: &str, token: &str) -> Result<u64> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| bad(token, "a rate such as 10mbit"))?;
    let scale = match unit {
        "bit" => 1,
        "kbit" => 1_000,
        "mbit" => 1_000_000,
        "gbit" => 1_000_000_000,
        _ => return Err(bad(token, "a rate such as 10mbit (bit, kbit, mbit, gbit)")),
    };
    match n.checked_mul(scale) {
        Some(r) if r >= 8000 => Ok(r),
        _ => Err(bad(token, "from 8kbit to 1000gbit")),
    }
}

fn count(v: &str, token: &str, min: u64, max: u64) -> Result<u64> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(token, &format!("a number from {min} to {max}"))),
    }
}

fn drop(v: &str, token: &str) -> Result<Drop> {
    let (nth, filter) = match v.split_once(':') {
        Some((n, f)) => (Some(n), Some(f)),
        None if v.bytes().all(|b| b.is_ascii_digit()) => (Some(v), None),
        None => (None, Some(v)),
    };
    let nth = nth.map(|n| count(n, token, 1, u64::MAX)).transpose()?;
    let filter = match filter {
        None => Filter::All,
        Some(f) => Filter::parse(f).ok_or_else(|| {
            bad(
                token,
                "drop=N, drop=FILTER or drop=N:FILTER (syn, tcp-data, tcp, udp, icmp)",
            )
        })?,
    };
    Ok(Drop { nth, filter })
}

/// Apply one property (no prefix) to one direction.
fn apply(p: &mut Props, prop: &str, token: &str) -> Result<()> {
    let (key, value) = match prop.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (prop, None),
    };
    let need = || value.ok_or_else(|| bad(token, &format!("{key}= needs a value")));
    match key {
        "delay" => p.delay = duration(need()?, token)?,
        "jitter" => p.jitter = duration(need()?, token)?,
        "loss" => p.loss = percent(need()?, token)?,
        "dup" => p.dup = percent(need()?, token)?,
        "reorder" => p.reorder = percent(need()?, token)?,
        "drop" => p.drops.push(drop(need()?, token)?),
        "rate" => p.rate = Some(rate(need()?, token)?),
        "queue" => p.queue = Some(count(need()?, token, 1, 1_000_000)? as usize),
        "mtu" => p.mtu = Some(count(need()?, token, 576, 65535)? as usize),
        "blackhole" => {
            p.blackhole = match value {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => return Err(bad(token, "blackhole or blackhole=off")),
            }
        }
        "down" | "up" if value.is_none() => p.down = key == "down",
        "clear" if value.is_none() => *p = Props::default(),
        _ => {
            return Err(bad(
                token,
                "unknown (delay, jitter, loss, drop, dup, reorder, rate, queue, mtu, blackhole, down, up, seed, clear)",
            ));
        }
    }
    Ok(())
}

impl Link {
    /// Apply SPEC over the current properties (`net set` changes only
    /// what it names). A bad token: a usage error naming it.
    pub fn apply(&mut self, spec: &str) -> Result<()> {
        let mut next = self.clone();
        for token in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(seed) = token.strip_prefix("seed=") {
                next.seed = count(seed, token, 0, u64::MAX)?;
                continue;
            }
            match token.split_once(':') {
                Some(("a>b", prop)) => apply(&mut next.ab, prop, token)?,
                Some(("b>a", prop)) => apply(&mut next.ba, prop, token)?,
                Some((pre, _)) if pre.contains('>') => {
                    return Err(bad(token, "the direction is a>b: or b>a:"));
                }
                _ => {
                    apply(&mut next.ab, token, token)?;
                    apply(&mut next.ba, token, token)?;
                }
            }
        }
        *self = next;
        Ok(())
    }

    pub fn parse(spec: &str) -> Result<Link> {
        let mut l = Link::default();
        l.apply(spec)?;
        Ok(l)
    }
}

impl fmt::Display for Props {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.down {
            parts.push("down".into());
        }
        if self.blackhole {
            parts.push("blackhole".into());
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay={:?}", self.delay));
        }
        if !self.jitter.is_zero() {
            parts.push(format!("jitter={:?}", self.jitter));
        }
        for (name, v) in [
            ("loss", self.loss),
            ("dup", self.dup),
            ("reorder", self.reorder),
        ] {
            if v > 0.0 {
                parts.push(format!("{name}={}%", v * 100.0));
            }
        }
        for d in &self.drops {
            parts.push(match (d.nth, d.filter) {
                (Some(n), Filter::All) => format!("drop={n}"),
                (Some(n), f) => format!("drop={n}:{}", f.name()),
                (None, f) => format!("drop={}", f.name()),
            });
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate={}kbit", r / 1000));
        }
        if let Some(q) = self.queue {
            parts.push(format!("queue={q}"));
        }
        if let Some(m) = self.mtu {
            parts.push(format!("mtu={m}"));
        }
        if parts.is_empty() {
            parts.push("perfect".into());
        }
        write!(f, "{}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_and_prefixes() {
        let l = Link::parse("delay=50ms,a>b:loss=2%,drop=3:tcp-data,seed=7,mtu=1400").unwrap();
        assert_eq!(l.ab.delay, Duration::from_millis(50));
        assert_eq!(l.ba.delay, Duration::from_millis(50));
        assert_eq!(l.ab.loss, 0.02);
        assert_eq!(l.ba.loss, 0.0);
        assert_eq!(l.seed, 7);
        assert_eq!(
            l.ab.drops,
            vec![Drop {
                nth: Some(3),
                filter: Filter::TcpData
            }]
        );
        assert_eq!(
            l.ab.to_string(),
            "delay=50ms,loss=2%,drop=3:tcp-data,mtu=1400"
        );
    }

    #[test]
    fn a_bad_token_is_named() {
        for (spec, token) in [
            ("delay=5", "delay=5"),
            ("loss=2", "loss=2"),
            ("delay=1ms,bogus", "bogus"),
            ("c>d:loss=1%", "c>d:loss=1%"),
            ("drop=x:y", "drop=x:y"),
            ("rate=10", "rate=10"),
        ] {
            match Link::parse(spec) {
                Err(Error::Usage(m)) => assert!(m.contains(&format!("'{token}'")), "{m}"),
                other => panic!("{spec}: {other:?}"),
            }
        }
    }

    #[test]
    fn set_changes_only_what_it_names_and_fails_whole() {
        let mut l = Link::parse("delay=10ms,loss=5%").unwrap();
        l.apply("b>a:down").unwrap();
        assert!(l.ba.down && !l.ab.down);
        assert_eq!(l.ab.loss, 0.05);
        assert!(l.apply("up,nope").is_err());
        assert!(l.ba.down, "a failed set changes nothing");
    }
}
