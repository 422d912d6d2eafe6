//! A decoded packet printed as `tcpdump -nn` prints it (after its
//! timestamp), TCP options left out; the relative sequence numbers are the
//! timeline's (`seq.rs`).

use std::fmt::Write as _;

use super::decode::{
    Icmp, Net, PAYLOAD_HEAD, Packet, Quoted, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST,
    TCP_SYN, TCP_URG, Transport,
};

impl Packet {
    /// The line `tcpdump -nn` prints (after its timestamp), without TCP
    /// options, with `seq`/`ack` as given (the timeline passes relative
    /// ones), and the first payload bytes after `: ` when there are any.
    pub fn tcpdump(&self, seq_ack: Option<(u32, u32)>) -> String {
        let ip = match &self.net {
            Net::Ip(ip) => ip,
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
