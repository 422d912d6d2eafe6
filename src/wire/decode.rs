//! Decoders for what `--wire` captures: Ethernet, IPv4, IPv6, TCP, UDP,
//! ICMP and ICMPv6 headers.
//!
//! Pure functions over `&[u8]`: every read is bounds-checked, so any input
//! (a truncated frame, a lying length field, random bytes) decodes to a
//! [`Packet`] that says what it could read; nothing here panics. The fuzz
//! entry point is [`decode`].
//!
//! [`Packet`]'s `Display` and [`Packet::tcpdump`] print a packet as
//! `tcpdump -nn` prints it, options left out (see `timeline.rs` for the
//! relative sequence numbers tcpdump shows by default).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The 14-byte Ethernet header (on Linux `lo`, its addresses are zeros).
pub const ETH_HLEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;
pub const TCP_URG: u8 = 0x20;
pub const TCP_ECE: u8 = 0x40;
pub const TCP_CWR: u8 = 0x80;

/// How many payload bytes a decoded packet keeps (strace's `-s 32`).
pub const PAYLOAD_HEAD: usize = 32;

/// One captured frame, decoded as far as its bytes allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The Ethernet type, None if the frame is shorter than its header.
    pub ethertype: Option<u16>,
    pub net: Net,
}

/// The network layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Net {
    Ip(Ip),
    /// ARP for IPv4 over Ethernet (the lab network's neighbours).
    Arp(Arp),
    /// A frame socklab does not decode, or one cut short.
    Other {
        len: usize,
    },
}

/// An ARP packet (Ethernet hardware, IPv4 protocol addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
    /// The ARP bytes after the Ethernet header (padding included), as
    /// tcpdump's `length`.
    pub len: usize,
}

/// An IPv4 or IPv6 header and what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol or IPv6 next header (after no extension headers).
    pub proto: u8,
    /// The transport bytes' length as the IP header says (total length
    /// minus header, or the IPv6 payload length), whatever was captured.
    pub payload_len: usize,
    /// A non-first fragment: no transport header in it.
    pub fragment: bool,
    pub transport: Transport,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
    /// Another protocol, or a header cut short.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The raw window field (not scaled), as tcpdump prints it.
    pub win: u16,
    /// Payload length: the IP payload minus the TCP header.
    pub len: usize,
    /// The first bytes of the payload (at most [`PAYLOAD_HEAD`]).
    pub head: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    pub sport: u16,
    pub dport: u16,
    /// Payload length: the UDP length field minus its 8-byte header.
    pub len: usize,
    pub head: Vec<u8>,
}

/// ICMP or ICMPv6; for an error, the header of the packet that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp {
    pub v6: bool,
    pub ty: u8,
    pub code: u8,
    /// The next-hop MTU of a "need to frag" (ICMP 3/4: bytes 6-7) or a
    /// "packet too big" (ICMPv6 2: bytes 4-7); 0 otherwise.
    pub mtu: u32,
    /// The quoted datagram of an error message: its addresses, protocol
    /// and ports (when the quote reaches them).
    pub quoted: Option<Quoted>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub ports: Option<(u16, u16)>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn v4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    u32_at(b, at).map(Ipv4Addr::from)
}

fn v6_at(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    let s: [u8; 16] = b.get(at..at.checked_add(16)?)?.try_into().ok()?;
    Some(Ipv6Addr::from(s))
}

/// Decode one Ethernet frame (link type 1, as Linux `lo` hands it over).
pub fn decode(frame: &[u8]) -> Packet {
    let ethertype = u16_at(frame, 12);
    let rest = frame.get(ETH_HLEN..).unwrap_or(&[]);
    let net = match ethertype {
        Some(ETHERTYPE_IPV4) => decode_ipv4(rest).map(Net::Ip),
        Some(ETHERTYPE_IPV6) => decode_ipv6(rest).map(Net::Ip),
        Some(ETHERTYPE_ARP) => decode_arp(rest).map(Net::Arp),
        _ => None,
    };
    Packet {
        ethertype,
        net: net.unwrap_or(Net::Other { len: frame.len() }),
    }
}

fn mac_at(b: &[u8], at: usize) -> Option<[u8; 6]> {
    b.get(at..at.checked_add(6)?)?.try_into().ok()
}

/// An ARP packet for IPv4 over Ethernet; None for any other kind, or one
/// cut short.
pub fn decode_arp(b: &[u8]) -> Option<Arp> {
    // Hardware type 1 (Ethernet), protocol 0x0800, lengths 6 and 4.
    if u16_at(b, 0)? != 1 || u16_at(b, 2)? != ETHERTYPE_IPV4 || b.get(4..6)? != [6, 4] {
        return None;
    }
    Some(Arp {
        op: u16_at(b, 6)?,
        sender_mac: mac_at(b, 8)?,
        sender_ip: v4_at(b, 14)?,
        target_mac: mac_at(b, 18)?,
        target_ip: v4_at(b, 24)?,
        len: b.len(),
    })
}

/// An IPv4 header and its payload; None if the header is cut short.
pub fn decode_ipv4(b: &[u8]) -> Option<Ip> {
    let first = *b.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    let total = usize::from(u16_at(b, 2)?);
    let frag = u16_at(b, 6)?;
    let proto = *b.get(9)?;
    let src = v4_at(b, 12)?;
    let dst = v4_at(b, 16)?;
    let payload_len = total.saturating_sub(ihl);
    // What was captured of the payload, no more than the header claims.
    let end = total.min(b.len());
    let payload = b.get(ihl..end).unwrap_or(&[]);
    let fragment = frag & 0x1fff != 0;
    let transport = if fragment {
        Transport::Other
    } else {
        decode_transport(proto, payload, payload_len, false)
    };
    Some(Ip {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        proto,
        payload_len,
        fragment,
        transport,
    })
}

/// An IPv6 header and its payload (no extension headers are followed).
pub fn decode_ipv6(b: &[u8]) -> Option<Ip> {
    if b.first()? >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(u16_at(b, 4)?);
    let proto = *b.get(6)?;
    let src = v6_at(b, 8)?;
    let dst = v6_at(b, 24)?;
    let end = payload_len.saturating_add(40).min(b.len());
    let payload = b.get(40..end).unwrap_or(&[]);
    Some(Ip {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        proto,
        payload_len,
        fragment: false,
        transport: decode_transport(proto, payload, payload_len, true),
    })
}

fn decode_transport(proto: u8, b: &[u8], payload_len: usize, v6: bool) -> Transport {
    let t = match (proto, v6) {
        (6, _) => decode_tcp(b, payload_len).map(Transport::Tcp),
        (17, _) => decode_udp(b).map(Transport::Udp),
        (1, false) | (58, true) => decode_icmp(b, v6).map(Transport::Icmp),
        _ => None,
    };
    t.unwrap_or(Transport::Other)
}

/// A TCP header; `payload_len` is the IP payload's length (header included).
pub fn decode_tcp(b: &[u8], payload_len: usize) -> Option<Tcp> {
    let doff = usize::from(*b.get(12)? >> 4) * 4;
    if doff < 20 {
        return None;
    }
    let data = b.get(doff..).unwrap_or(&[]);
    Some(Tcp {
        sport: u16_at(b, 0)?,
        dport: u16_at(b, 2)?,
        seq: u32_at(b, 4)?,
        ack: u32_at(b, 8)?,
        flags: *b.get(13)?,
        win: u16_at(b, 14)?,
        len: payload_len.saturating_sub(doff),
        head: data[..data.len().min(PAYLOAD_HEAD)].to_vec(),
    })
}

/// A UDP header.
pub fn decode_udp(b: &[u8]) -> Option<Udp> {
    let data = b.get(8..).unwrap_or(&[]);
    let len = usize::from(u16_at(b, 4)?).saturating_sub(8);
    let shown = data.len().min(len).min(PAYLOAD_HEAD);
    Some(Udp {
        sport: u16_at(b, 0)?,
        dport: u16_at(b, 2)?,
        len,
        head: data[..shown].to_vec(),
    })
}

/// An ICMP (v4) or ICMPv6 header; for the error types, the quoted packet.
pub fn decode_icmp(b: &[u8], v6: bool) -> Option<Icmp> {
    let ty = *b.first()?;
    let code = *b.get(1)?;
    let is_error = if v6 {
        ty < 128
    } else {
        matches!(ty, 3 | 4 | 5 | 11 | 12)
    };
    let quoted = if is_error {
        let inner = b.get(8..).unwrap_or(&[]);
        let ip = if v6 {
            decode_ipv6(inner)
        } else {
            decode_ipv4(inner)
        };
        ip.map(|ip| Quoted {
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            ports: quoted_ports(inner, v6),
        })
    } else {
        None
    };
    let mtu = match (v6, ty, code) {
        (false, 3, 4) => u16_at(b, 6).map(u32::from).unwrap_or(0),
        (true, 2, _) => u32_at(b, 4).unwrap_or(0),
        _ => 0,
    };
    Some(Icmp {
        v6,
        ty,
        code,
        mtu,
        quoted,
    })
}

/// The ports of a quoted TCP or UDP header (the first 8 bytes suffice).
fn quoted_ports(inner: &[u8], v6: bool) -> Option<(u16, u16)> {
    let hlen = if v6 {
        40
    } else {
        usize::from(inner.first()? & 0x0f) * 4
    };
    Some((u16_at(inner, hlen)?, u16_at(inner, hlen + 2)?))
}

impl Packet {
    /// The ports this packet is about: its own TCP/UDP ports, or those of
    /// the packet an ICMP error quotes. None for anything else.
    pub fn ports(&self) -> Option<(u16, u16)> {
        let Net::Ip(ip) = &self.net else { return None };
        match &ip.transport {
            Transport::Tcp(t) => Some((t.sport, t.dport)),
            Transport::Udp(u) => Some((u.sport, u.dport)),
            Transport::Icmp(i) => i.quoted.as_ref().and_then(|q| q.ports),
            Transport::Other => None,
        }
    }

    pub fn tcp(&self) -> Option<(&Ip, &Tcp)> {
        match &self.net {
            Net::Ip(ip) => match &ip.transport {
                Transport::Tcp(t) => Some((ip, t)),
                _ => None,
            },
            Net::Arp(_) | Net::Other { .. } => None,
        }
    }
}
