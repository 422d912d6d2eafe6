//! `--source`: the local addresses the connections are made from, and the
//! file descriptor limit many connections need.
//!
//! A TCP connection is named by its four-tuple, so one source address gives
//! one ephemeral port range (net.ipv4.ip_local_port_range: 28,232 ports by
//! default) towards one server. `--source 127.0.0.2-127.0.0.9` (a range) or
//! `--source 127.0.0.2,127.0.0.3` (a list) spreads the connections over
//! several addresses, round robin: connection N `bind`s to address N mod K,
//! port 0 (the kernel picks the port), before its `connect`. Every address
//! in 127.0.0.0/8 is on the loopback interface.
//!
//! The fd limit (`nofile`): 1. `prlimit64(RLIMIT_NOFILE)` read; 2. the soft
//! limit set to the hard one, as before; or, when the hard limit is below
//! what `--conns` needs, both set to the need (which takes CAP_SYS_RESOURCE
//! and is at most fs.nr_open). A raise that the connections needed is said
//! in one line on stderr (from what to what); one that fails is an error
//! with the hint.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use nix::errno::Errno;

use crate::output::Output;
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// At most this many addresses in a `--source` range.
const MAX_SOURCES: u32 = 65_536;

/// Fds a run uses besides its connections (stdio, a trace file, slack).
const SPARE_FDS: u64 = 64;

/// `--source`'s addresses (one value to clap, not a list of values).
#[derive(Clone, Debug)]
pub struct Sources(pub Vec<Addr>);

/// `A-B` (IPv4, A <= B) or `A,B,...` (IPv4 or IPv6): the addresses, port 0.
pub fn parse_sources(s: &str) -> std::result::Result<Sources, String> {
    addresses(s).map(Sources)
}

fn addresses(s: &str) -> std::result::Result<Vec<Addr>, String> {
    let bad = |why: &str| {
        crate::values::error::printable(&format!(
            "invalid --source '{s}': {why} (expected FIRST-LAST, an IPv4 range, or ADDR,ADDR,...)"
        ))
    };
    if let Some((a, b)) = s.split_once('-') {
        let first: Ipv4Addr = a.trim().parse().map_err(|_| bad("not an IPv4 address"))?;
        let last: Ipv4Addr = b.trim().parse().map_err(|_| bad("not an IPv4 address"))?;
        let (lo, hi) = (u32::from(first), u32::from(last));
        if hi < lo {
            return Err(bad("the range ends before it starts"));
        }
        if hi - lo >= MAX_SOURCES {
            return Err(bad(&format!("at most {MAX_SOURCES} addresses")));
        }
        return (lo..=hi).map(|ip| v4(Ipv4Addr::from(ip))).collect();
    }
    s.split(',')
        .map(|a| match a.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => v4(ip),
            Ok(IpAddr::V6(ip)) => Addr::parse_inet(&format!("[{ip}]:0")),
            Err(_) => Err(bad(&format!("'{}' is not a numeric IP address", a.trim()))),
        })
        .collect()
}

fn v4(ip: Ipv4Addr) -> std::result::Result<Addr, String> {
    Addr::parse_inet(&format!("{ip}:0"))
}

/// Connection `n`'s source address, if `--source` gave any.
pub(super) fn source_of(sources: &[Addr], n: usize) -> Option<&Addr> {
    sources.get(n.checked_rem(sources.len())?)
}

/// The sources must be of the server address's family.
pub(super) fn check(sources: &[Addr], server: &Addr) -> Result<()> {
    match sources.iter().find(|a| a.family() != server.family()) {
        Some(a) => Err(Error::Usage(format!(
            "--source {}: not of the server address's family ({server})",
            a
        ))),
        None => Ok(()),
    }
}

/// A bind to port 0 that found no free port: this address's ephemeral
/// range is used up.
pub(super) fn out_of_ports(e: Error, n: usize, conns: usize, from: &Addr) -> Error {
    if e.errno() != Some(Errno::EADDRINUSE) {
        return e;
    }
    Error::Runtime(format!(
        "{e}\n  hint: connection {} of {conns}: no ephemeral port is left on {} \
         (net.ipv4.ip_local_port_range gives each source address one range): give more \
         --source addresses, or use fewer --conns",
        n + 1,
        from
    ))
}

/// Steps 1 and 2 of the module doc, for `conns` connections at once.
pub(super) fn nofile(sys: &Sys, out: &Output, conns: usize) -> Result<()> {
    let need = conns as u64 + SPARE_FDS;
    let (soft, hard) = sys.prlimit64_get_nofile()?;
    if need <= hard {
        sys.prlimit64_set_nofile(hard, hard)?;
        if need > soft {
            tell(
                out,
                &format!(
                    "RLIMIT_NOFILE: soft limit raised from {soft} to {hard} (the hard limit) for {conns} connections"
                ),
            );
        } else {
            out.note_traced(&format!(
                "RLIMIT_NOFILE: soft limit {soft} raised to the hard limit {hard}"
            ));
        }
        return Ok(());
    }
    match sys.prlimit64_set_nofile(need, need) {
        Ok(()) => {
            tell(
                out,
                &format!(
                    "RLIMIT_NOFILE: raised from soft {soft}, hard {hard} to {need} for {conns} connections"
                ),
            );
            Ok(())
        }
        Err(e) if e.errno() == Some(Errno::EPERM) => Err(Error::Runtime(format!(
            "{e}\n  hint: {conns} connections need {need} fds and the hard RLIMIT_NOFILE is {hard}: \
             raising it takes root (CAP_SYS_RESOURCE) and at most fs.nr_open (sysctl fs.nr_open; \
             `ulimit -Hn {need}` as root first), or use fewer --conns"
        ))),
        Err(e) => Err(e),
    }
}

/// One line on stderr (stdout is the report), or in the trace stream
/// when tracing.
fn tell(out: &Output, text: &str) {
    if out.tracing() {
        out.note_traced(text);
    } else {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "socklab: {text}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_and_lists() {
        let r = addresses("127.0.0.2-127.0.0.9").unwrap();
        assert_eq!(r.len(), 8);
        assert_eq!(r[0].to_string(), "127.0.0.2:0");
        assert_eq!(r[7].to_string(), "127.0.0.9:0");
        let l = addresses("127.0.0.2,::1").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].to_string(), "[::1]:0");
        assert_eq!(source_of(&r, 9).unwrap().to_string(), "127.0.0.3:0");
        assert!(source_of(&[], 3).is_none());
        for bad in [
            "127.0.0.9-127.0.0.2",
            "x",
            "1.2.3.4-::1",
            "127.0.0.1,",
            "0.0.0.0-1.0.0.0",
        ] {
            assert!(addresses(bad).is_err(), "{bad}");
        }
    }
}
