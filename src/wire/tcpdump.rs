//! A decoded packet printed as `tcpdump -nn` prints it (after its
//! timestamp), TCP options left out; the relative sequence numbers are the
//! timeline's (`seq.rs`).

use std::fmt::Write as _;

use super::decode::{
    Arp, Icmp, Net, PAYLOAD_HEAD, Packet, Quoted, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH,
    TCP_RST, TCP_SYN, TCP_URG, Transport,
};

impl Packet {
    /// The line `tcpdump -nn` prints (after its timestamp), without TCP
    /// options, with `seq`/`ack` as given (the timeline passes relative
    /// ones), and the first payload bytes after `: ` when there are any.
    pub fn tcpdump(&self, seq_ack: Option<(u32, u32)>) -> String {
        let ip = match &self.net {
            Net::Ip(ip) => ip,
            Net::Arp(a) => return arp_text(a),
            Net::Other { len } => {
                return match self.ethertype {
                    Some(t) => format!("ethertype 0x{t:04x}, length {len}"),
                    None => format!("truncated frame, length {len}"),
                };
            }
        };
        let family = if ip.src.is_ipv4() { "IP" } else { "IP6" };
        let (src, dst) = (ip.src, ip.dst);
        let mut s = String::new();
        match &ip.transport {
            Transport::Tcp(t) => {
                let (seq, ack) = seq_ack.unwrap_or((t.seq, t.ack));
                let _ = write!(
                    s,
                    "{family} {src}.{} > {dst}.{}: Flags [{}]",
                    t.sport,
                    t.dport,
                    flags(t.flags)
                );
                if t.len > 0 || t.flags & (TCP_SYN | TCP_FIN | TCP_RST) != 0 {
                    let _ = write!(s, ", seq {seq}");
                    if t.len > 0 {
                        let _ = write!(s, ":{}", seq.wrapping_add(t.len as u32));
                    }
                }
                if t.flags & TCP_ACK != 0 {
                    let _ = write!(s, ", ack {ack}");
                }
                let _ = write!(s, ", win {}, length {}", t.win, t.len);
                payload(&mut s, &t.head, t.len);
            }
            Transport::Udp(u) => {
                let _ = write!(
                    s,
                    "{family} {src}.{} > {dst}.{}: UDP, length {}",
                    u.sport, u.dport, u.len
                );
                payload(&mut s, &u.head, u.len);
            }
            Transport::Icmp(i) => {
                let _ = write!(s, "{family} {src} > {dst}: {}", icmp_text(i));
                let _ = write!(s, ", length {}", ip.payload_len);
            }
            Transport::Other => {
                let _ = write!(
                    s,
                    "{family} {src} > {dst}: ip-proto-{} {}",
                    ip.proto, ip.payload_len
                );
            }
        }
        s
    }
}

/// An ARP line as `tcpdump -nn` prints it.
fn arp_text(a: &Arp) -> String {
    let what = match a.op {
        1 if a.target_mac == [0; 6] => {
            format!("Request who-has {} tell {}", a.target_ip, a.sender_ip)
        }
        1 => format!(
            "Request who-has {} ({}) tell {}",
            a.target_ip,
            mac(&a.target_mac),
            a.sender_ip
        ),
        2 => format!("Reply {} is-at {}", a.sender_ip, mac(&a.sender_mac)),
        op => format!("Unknown opcode ({op})"),
    };
    format!("ARP, {what}, length {}", a.len)
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// tcpdump's flag letters, in its order: F S R P . U E W.
pub fn flags(f: u8) -> String {
    let names = [
        (TCP_FIN, 'F'),
        (TCP_SYN, 'S'),
        (TCP_RST, 'R'),
        (TCP_PSH, 'P'),
        (TCP_ACK, '.'),
        (TCP_URG, 'U'),
        (TCP_ECE, 'E'),
        (TCP_CWR, 'W'),
    ];
    let s: String = names
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|&(_, c)| c)
        .collect();
    if s.is_empty() { "none".to_string() } else { s }
}

fn payload(s: &mut String, head: &[u8], len: usize) {
    if len > 0 && !head.is_empty() {
        let _ = write!(s, ": {}", crate::strace::quote(head, len.min(PAYLOAD_HEAD)));
        if len > head.len() && head.len() < PAYLOAD_HEAD {
            // Captured less than the packet carried.
            s.push_str("...");
        }
    }
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        n => format!("ip-proto-{n}"),
    }
}

/// The ICMP part of tcpdump's line for the messages a socket lab sees.
fn icmp_text(i: &Icmp) -> String {
    let quoted = |q: &Quoted| match q.ports {
        Some((_, dport)) => format!("{} {} port {dport}", q.dst, proto_name(q.proto)),
        None => format!("{} {}", q.dst, proto_name(q.proto)),
    };
    match (i.v6, i.ty, i.code, &i.quoted) {
        (false, 3, 3, Some(q)) => format!("ICMP {} unreachable", quoted(q)),
        (false, 3, 1, Some(q)) => format!("ICMP host {} unreachable", q.dst),
        (false, 3, 4, Some(q)) => {
            format!("ICMP {} unreachable - need to frag (mtu {})", q.dst, i.mtu)
        }
        (true, 2, _, _) => format!("ICMP6, packet too big, mtu {}", i.mtu),
        (false, 0, ..) => "ICMP echo reply".to_string(),
        (false, 8, ..) => "ICMP echo request".to_string(),
        (true, 1, 4, Some(q)) => format!(
            "ICMP6, destination unreachable, unreachable port, {}",
            quoted(q)
        ),
        (true, 128, ..) => "ICMP6, echo request".to_string(),
        (true, 129, ..) => "ICMP6, echo reply".to_string(),
        (false, ty, code, _) => format!("ICMP type-#{ty} code {code}"),
        (true, ty, code, _) => format!("ICMP6, type {ty} code {code}"),
    }
}

#[cfg(test)]
mod decoded_frames_print {
    use super::*;
    use crate::wire::decode::*;

    /// A loopback frame: zero MACs, IPv4, TCP SYN 127.0.0.1.40000 > .5000.
    fn syn_v4() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let ip = [
            0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        f.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&5000u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&1234u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = TCP_SYN;
        tcp[14..16].copy_from_slice(&65495u16.to_be_bytes());
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn a_syn_prints_as_tcpdump() {
        assert_eq!(
            decode(&syn_v4()).tcpdump(None),
            "IP 127.0.0.1.40000 > 127.0.0.1.5000: Flags [S], seq 1234, win 65495, length 0"
        );
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_without_panicking() {
        let f = syn_v4();
        for n in 0..=f.len() {
            let _ = decode(&f[..n]).tcpdump(None);
        }
        assert_eq!(decode(&f[..20]).net, Net::Other { len: 20 });
    }

    #[test]
    fn lying_lengths_do_not_panic() {
        let mut f = syn_v4();
        f[14] = 0x4f; // IHL 60 bytes, past the end
        let _ = decode(&f).tcpdump(None);
        let mut f = syn_v4();
        f[16] = 0xff; // total length far past the frame
        f[17] = 0xff;
        f[14 + 20 + 12] = 0xf0; // TCP data offset 60
        let _ = decode(&f).tcpdump(None);
        for b in [0u8, 0x41, 0x60, 0xff] {
            let _ = decode(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd, b, 1]).tcpdump(None);
        }
    }

    #[test]
    fn random_frames_never_panic() {
        // A fixed LCG: reproducible bytes, with the Ethernet type and IP
        // version forced often enough to reach every decoder.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) as u8
        };
        for i in 0..20_000 {
            let len = usize::from(next()) % 120;
            let mut f: Vec<u8> = (0..len).map(|_| next()).collect();
            if len > 15 {
                let (t, v) = if i % 2 == 0 {
                    (0x0800u16, 0x45)
                } else {
                    (0x86dd, 0x60)
                };
                f[12..14].copy_from_slice(&t.to_be_bytes());
                f[14] = v;
                if len > 24 {
                    f[14 + if i % 2 == 0 { 9 } else { 6 }] = [6, 17, 1, 58][i % 4];
                }
            }
            let p = decode(&f);
            let _ = p.tcpdump(None);
            let _ = p.ports();
        }
    }

    /// An ARP request from 192.0.2.1 for 192.0.2.2, then its reply.
    fn arp(op: u8) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend([0, 1, 0x08, 0x00, 6, 4, 0, op]);
        let (a, b) = ([2u8, 0, 0, 0, 0, 1], [2u8, 0, 0, 0, 0, 2]);
        let (ip_a, ip_b) = ([192u8, 0, 2, 1], [192u8, 0, 2, 2]);
        if op == 1 {
            f.extend(a.iter().chain(&ip_a).chain(&[0; 6]).chain(&ip_b));
        } else {
            f.extend(b.iter().chain(&ip_b).chain(&a).chain(&ip_a));
        }
        f
    }

    #[test]
    fn arp_prints_as_tcpdump() {
        assert_eq!(
            decode(&arp(1)).tcpdump(None),
            "ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28"
        );
        assert_eq!(
            decode(&arp(2)).tcpdump(None),
            "ARP, Reply 192.0.2.2 is-at 02:00:00:00:00:02, length 28"
        );
        let f = arp(1);
        for n in 0..f.len() {
            let _ = decode(&f[..n]).tcpdump(None);
        }
        assert_eq!(decode(&f[..41]).net, Net::Other { len: 41 });
    }

    #[test]
    fn flags_in_tcpdump_order() {
        assert_eq!(flags(TCP_SYN | TCP_ACK), "S.");
        assert_eq!(flags(TCP_FIN | TCP_ACK), "F.");
        assert_eq!(flags(TCP_PSH | TCP_ACK), "P.");
        assert_eq!(flags(TCP_RST | TCP_ACK), "R.");
        assert_eq!(flags(0), "none");
    }
}
