//! The classic BPF program the capture attaches (SO_ATTACH_FILTER): the
//! kernel keeps only the frames that may be the program's, so other
//! programs' loopback traffic (a bulk transfer's 64 KiB frames) does not
//! fill the capture's buffer.
//!
//! For ports P1..Pn (`tcpdump -d` style):
//! ```text
//!      ldb [pkttype]              ; SKF_AD_OFF + SKF_AD_PKTTYPE
//!      jeq #4 (OUTGOING) next drop  ; lo: keep the copy it sends
//!      ldh [12]                   ; Ethernet type
//!      jeq #0x800 v4 next
//!      jeq #0x86dd v6 drop
//! v4:  ldb [23]                   ; protocol
//!      jeq #1 accept next         ; ICMP: decided in user space
//!      ldh [20]
//!      jset #0x1fff accept next   ; a fragment: decided in user space
//!      ldxb 4*([14]&0xf)          ; IP header length
//!      ldh [x+14]                 ; source port
//!      jeq #P1 accept next ... jeq #Pn accept next
//!      ldh [x+16]                 ; destination port
//!      jeq #P1 accept next ... jeq #Pn accept next
//!      ldb [23]                   ; another port: UDP, or TCP SYN/RST,
//!      jeq #17 small next         ; kept if small (a connect's SYN, a
//!      ldb [x+27]                 ; datagram, an RST to a port the
//!      jset #0x06 small drop      ; program names when the call returns)
//! v6:  ldb [20]                   ; next header
//!      jeq #58 accept next        ; ICMPv6
//!      ldh [54] / jeq #Pi ... / ldh [56] / jeq #Pi ...
//!      ldb [20] / jeq #17 small next / ldb [67] / jset #0x06 small drop
//! small:  ld len
//!      jgt #1514 drop accept
//! drop:   ret #0
//! accept: ret #262144
//! ```
//! With more than [`MAX_PORTS`] ports the port tests are left out (every
//! IP frame is kept; user space still filters).

use super::pcap::SNAPLEN;

/// The most ports the kernel filter tests (jump offsets are 8 bits).
pub const MAX_PORTS: usize = 48;

const PACKET_OUTGOING: u32 = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Next,
    Drop,
    Accept,
    V4,
    V6,
    Small,
}

/// Other ports' UDP datagrams and TCP SYNs and RSTs up to this length
/// are kept for user space to decide (a connect's SYN or a datagram to a
/// port the program names only when that call returns); the rest of other
/// programs' traffic (bulk data, its ACK stream) is dropped in the kernel.
pub const SMALL: u32 = 1514;

enum Ins {
    Stmt(u16, u32),
    Jump(u16, u32, Label, Label),
    Mark(Label),
}

/// The program for `ports` (see the module doc).
pub fn program(ports: &[u16]) -> Vec<libc::sock_filter> {
    use Ins::*;
    use Label::*;
    let test_ports = ports.len() <= MAX_PORTS;
    let mut v = vec![
        Stmt(0x30, 0xffff_f004),
        Jump(0x15, PACKET_OUTGOING, Next, Drop),
        Stmt(0x28, 12),
        Jump(0x15, 0x0800, V4, Next),
        Jump(0x15, 0x86dd, V6, Drop),
        Mark(V4),
    ];
    if test_ports {
        v.extend([
            Stmt(0x30, 23),
            Jump(0x15, 1, Accept, Next),
            Stmt(0x28, 20),
            Jump(0x45, 0x1fff, Accept, Next),
            Stmt(0xb1, 14),
        ]);
        for off in [14, 16] {
            v.push(Stmt(0x48, off));
            v.extend(
                ports
                    .iter()
                    .map(|&p| Jump(0x15, u32::from(p), Accept, Next)),
            );
        }
        // Another port: a UDP datagram, or a TCP SYN or RST, if small.
        v.extend([
            Stmt(0x30, 23),
            Jump(0x15, 17, Small, Next),
            Stmt(0x50, 27), // ldb [x+27]: TCP flags
            Jump(0x45, 0x06, Small, Drop),
        ]);
    } else {
        v.push(Jump(0x05, 0, Accept, Accept));
    }
    v.push(Mark(V6));
    if test_ports {
        v.extend([Stmt(0x30, 20), Jump(0x15, 58, Accept, Next)]);
        for off in [54, 56] {
            v.push(Stmt(0x28, off));
            v.extend(
                ports
                    .iter()
                    .map(|&p| Jump(0x15, u32::from(p), Accept, Next)),
            );
        }
        v.extend([
            Stmt(0x30, 20),
            Jump(0x15, 17, Small, Next),
            Stmt(0x30, 67), // TCP flags after a bare IPv6 header
            Jump(0x45, 0x06, Small, Drop),
            Mark(Small),
            Stmt(0x80, 0), // ld len
            Jump(0x25, SMALL, Drop, Accept),
        ]);
    } else {
        v.push(Jump(0x05, 0, Accept, Accept));
    }
    v.extend([Mark(Drop), Stmt(0x06, 0), Mark(Accept), Stmt(0x06, SNAPLEN)]);
    resolve(&v)
}

/// The filter while the capture waits for timestamps (capture.rs): only
/// its probe frames, of Ethernet type 0x88b5 (`ldh [12]; jeq #0x88b5
/// accept drop`).
pub fn probe_program() -> Vec<libc::sock_filter> {
    use Ins::*;
    use Label::*;
    resolve(&[
        Stmt(0x28, 12),
        Jump(0x15, 0x88b5, Accept, Drop),
        Mark(Drop),
        Stmt(0x06, 0),
        Mark(Accept),
        Stmt(0x06, SNAPLEN),
    ])
}

/// Labels to relative jump offsets.
fn resolve(v: &[Ins]) -> Vec<libc::sock_filter> {
    let mut at = std::collections::HashMap::new();
    let mut n = 0usize;
    for ins in v {
        match ins {
            Ins::Mark(l) => {
                at.insert(*l as u8, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n);
    for ins in v {
        let i = out.len();
        let off = |l: Label| -> u8 {
            match l {
                Label::Next => 0,
                l => at
                    .get(&(l as u8))
                    .map_or(0, |&t: &usize| t.saturating_sub(i + 1).min(255) as u8),
            }
        };
        match ins {
            Ins::Mark(_) => {}
            Ins::Stmt(code, k) => out.push(libc::sock_filter {
                code: *code,
                jt: 0,
                jf: 0,
                k: *k,
            }),
            // `ja` (0x05) jumps by k; the others by jt/jf.
            Ins::Jump(0x05, _, t, _) => out.push(libc::sock_filter {
                code: 0x05,
                jt: 0,
                jf: 0,
                k: u32::from(off(*t)),
            }),
            Ins::Jump(code, k, t, f) => out.push(libc::sock_filter {
                code: *code,
                jt: off(*t),
                jf: off(*f),
                k: *k,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small interpreter for the instructions `program` uses, with the
    /// packet type as the kernel's ancillary load gives it.
    fn run(prog: &[libc::sock_filter], pkt: &[u8], pkttype: u32) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let h = |o: usize| {
            pkt.get(o..o + 2)
                .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
        };
        let b = |o: usize| pkt.get(o).map(|&b| u32::from(b));
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                0x30 if i.k == 0xffff_f004 => a = pkttype,
                0x30 => match b(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x28 => match h(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x50 => match b((x + i.k) as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0x48 => match h((x + i.k) as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                0xb1 => match b(i.k as usize) {
                    Some(v) => x = 4 * (v & 0xf),
                    None => return 0,
                },
                0x80 => a = pkt.len() as u32,
                0x15 => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                0x25 => pc += usize::from(if a > i.k { i.jt } else { i.jf }),
                0x45 => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                0x05 => pc += i.k as usize,
                0x06 => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn v4(proto: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = proto;
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f
    }

    fn v6(next: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 8];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[20] = next;
        f[54..56].copy_from_slice(&sport.to_be_bytes());
        f[56..58].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn keeps_the_ports_icmp_and_the_outgoing_copy_only() {
        let p = program(&[5000, 6000]);
        assert_eq!(run(&p, &v4(6, 40000, 5000), 4), SNAPLEN);
        assert_eq!(run(&p, &v4(17, 6000, 40000), 4), SNAPLEN);
        assert_eq!(run(&p, &v4(6, 40000, 5000), 0), 0, "incoming copy");
        assert_eq!(run(&p, &v4(6, 40000, 7000), 4), 0, "an ACK, other port");
        let mut syn = v4(6, 40000, 7000);
        syn.resize(60, 0);
        syn[14 + 20 + 13] = 0x02;
        assert_eq!(run(&p, &syn, 4), SNAPLEN, "a SYN, other port");
        assert_eq!(run(&p, &v4(17, 40000, 7000), 4), SNAPLEN, "UDP, other port");
        let mut bulk = v4(6, 40000, 7000);
        bulk.resize(20_000, 0);
        assert_eq!(run(&p, &bulk, 4), 0, "bulk, other port");
        let mut bulk = v4(6, 40000, 5000);
        bulk.resize(20_000, 0);
        assert_eq!(run(&p, &bulk, 4), SNAPLEN, "bulk, our port");
        assert_eq!(run(&p, &v4(1, 0, 0), 4), SNAPLEN, "ICMP");
        assert_eq!(run(&p, &v6(6, 5000, 1), 4), SNAPLEN);
        assert_eq!(run(&p, &v6(17, 1, 6000), 4), SNAPLEN);
        let mut bulk6 = v6(6, 1, 2);
        bulk6.resize(20_000, 0);
        assert_eq!(run(&p, &bulk6, 4), 0);
        assert_eq!(run(&p, &v6(58, 0, 0), 4), SNAPLEN, "ICMPv6");
        let mut arp = v4(6, 5000, 5000);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(run(&p, &arp, 4), 0);
    }

    #[test]
    fn the_probe_filter_keeps_only_probes() {
        let p = probe_program();
        let mut probe = v4(6, 1, 2);
        probe[12..14].copy_from_slice(&[0x88, 0xb5]);
        assert_eq!(run(&p, &probe, 0), SNAPLEN);
        assert_eq!(run(&p, &v4(6, 1, 2), 0), 0);
    }

    #[test]
    fn no_ports_keeps_icmp_and_small_frames_and_many_ports_keep_all_ip() {
        let p = program(&[]);
        let mut bulk = v4(6, 1, 2);
        bulk.resize(20_000, 0);
        assert_eq!(run(&p, &bulk, 4), 0);
        assert_eq!(run(&p, &v4(17, 1, 2), 4), SNAPLEN);
        let mut rst6 = v6(6, 1, 2);
        rst6.resize(80, 0);
        rst6[14 + 40 + 13] = 0x04;
        assert_eq!(run(&p, &rst6, 4), SNAPLEN);
        assert_eq!(run(&p, &v4(1, 0, 0), 4), SNAPLEN);
        let many: Vec<u16> = (1..=(MAX_PORTS as u16 + 1)).collect();
        let p = program(&many);
        assert_eq!(run(&p, &v4(6, 60000, 60001), 4), SNAPLEN);
        assert_eq!(run(&p, &v6(17, 60000, 60001), 4), SNAPLEN);
        let p = program(&many[..MAX_PORTS]);
        assert_eq!(run(&p, &v4(6, 60000, MAX_PORTS as u16), 4), SNAPLEN);
        assert_eq!(run(&p, &v6(6, MAX_PORTS as u16, 60000), 4), SNAPLEN);
        let mut bulk6 = v6(6, 60000, 60001);
        bulk6.resize(20_000, 0);
        assert_eq!(run(&p, &bulk6, 4), 0);
    }
}
