//! Which packets are the program's: by port, in the family its address
//! names (the timeline's rule, see `timeline.rs`).

use std::collections::HashMap;

use nix::sys::socket::AddressFamily;

use super::decode::{Net, Packet};
use crate::values::addr::Addr;

/// Family bits of a watched port: a port named in a `sin_port` address is
/// watched in IPv4 frames, one in `sin6_port` in IPv6 frames, one from the
/// command line or `listening on` in both.
pub const V4: u8 = 1;
pub const V6: u8 = 2;

/// The ports and family bit of a decoded frame (None if it has no ports).
pub(super) fn key(p: &Packet) -> Option<(u16, u16, u8)> {
    let (a, b) = p.ports()?;
    let fam = match &p.net {
        Net::Ip(ip) if ip.src.is_ipv6() => V6,
        _ => V4,
    };
    Some((a, b, fam))
}

pub(super) fn matches(ports: &HashMap<u16, u8>, (a, b, fam): (u16, u16, u8)) -> bool {
    [a, b]
        .iter()
        .any(|p| ports.get(p).is_some_and(|bits| bits & fam != 0))
}

/// The non-zero port of an IPv4 or IPv6 address, with its family
/// ([`V4`], [`V6`]).
pub(super) fn own_port(addr: &Addr) -> Option<(u16, u8)> {
    let fam = match addr.family()? {
        AddressFamily::Inet => V4,
        AddressFamily::Inet6 => V6,
        _ => return None,
    };
    addr.port().filter(|&p| p != 0).map(|p| (p, fam))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ports_come_from_typed_addresses_with_their_family() {
        let v6 = Addr::parse_inet("[::1]:8081").unwrap();
        assert_eq!(own_port(&v6), Some((8081, V6)));
        let zero = Addr::parse_inet("127.0.0.1:0").unwrap();
        assert_eq!(own_port(&zero), None);
        let v4 = Addr::parse_inet("127.0.0.1:53").unwrap();
        assert_eq!(own_port(&v4), Some((53, V4)));
        let unix = Addr::parse_unix("/tmp/x").unwrap();
        assert_eq!(own_port(&unix), None);
    }
}
