//! tcpdump's relative TCP sequence numbers (print-tcp.c without `-S`).

use std::collections::HashMap;
use std::net::IpAddr;

use super::decode::{Packet, TCP_ACK, TCP_SYN};

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
