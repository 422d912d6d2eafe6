//! What a router sends back for a packet bigger than the link's MTU:
//! ICMP "fragmentation needed" (type 3 code 4, RFC 1191) for IPv4 with DF
//! set, ICMPv6 "packet too big" (type 2, RFC 8201) for IPv6, from the
//! link's router address (192.0.2.254, 2001:db8::fe), quoting as much of
//! the packet as the RFCs ask. Pure functions over bytes.

/// The router's addresses, on the hosts' subnet.
pub const ROUTER4: [u8; 4] = [192, 0, 2, 254];
pub const ROUTER6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe,
];

/// The Internet checksum of `parts` concatenated (RFC 1071).
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in part.iter() {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Ethernet header back to the frame's sender: its source becomes
/// the destination, the destination the source.
fn eth_back(frame: &[u8], ethertype: u16) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(1280);
    out.extend_from_slice(frame.get(6..12)?);
    out.extend_from_slice(frame.get(0..6)?);
    out.extend_from_slice(&ethertype.to_be_bytes());
    Some(out)
}

/// The frame to send back for `frame` (a too-big IPv4 or IPv6 one), or
/// None (IPv4 without DF: a router would fragment it; the link drops it
/// without a word; or not IP).
pub fn too_big(frame: &[u8], mtu: usize) -> Option<Vec<u8>> {
    match frame.get(12..14)? {
        [0x08, 0x00] => frag_needed(frame, mtu),
        [0x86, 0xdd] => packet_too_big(frame, mtu),
        _ => None,
    }
}

fn frag_needed(frame: &[u8], mtu: usize) -> Option<Vec<u8>> {
    let ip = frame.get(14..)?;
    if ip.get(6)? & 0x40 == 0 {
        return None;
    }
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let quoted = ip.get(..(ihl + 8).min(ip.len()))?;
    let mut icmp = vec![3, 4, 0, 0, 0, 0];
    icmp.extend_from_slice(&(mtu as u16).to_be_bytes());
    icmp.extend_from_slice(quoted);
    let c = checksum(&[&icmp]).to_be_bytes();
    icmp[2..4].copy_from_slice(&c);
    let total = (20 + icmp.len()) as u16;
    let mut hdr = vec![0x45, 0xc0];
    hdr.extend_from_slice(&total.to_be_bytes());
    hdr.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]);
    hdr.extend_from_slice(&ROUTER4);
    hdr.extend_from_slice(ip.get(12..16)?);
    let c = checksum(&[&hdr]).to_be_bytes();
    hdr[10..12].copy_from_slice(&c);
    let mut out = eth_back(frame, 0x0800)?;
    out.extend_from_slice(&hdr);
    out.extend_from_slice(&icmp);
    Some(out)
}

fn packet_too_big(frame: &[u8], mtu: usize) -> Option<Vec<u8>> {
    let ip = frame.get(14..)?;
    // The reply fits in the IPv6 minimum MTU: 1280 - 40 - 8.
    let quoted = ip.get(..ip.len().min(1232))?;
    let mut icmp = vec![2, 0, 0, 0];
    icmp.extend_from_slice(&(mtu as u32).to_be_bytes());
    icmp.extend_from_slice(quoted);
    let dst = ip.get(8..24)?;
    let len = (icmp.len() as u32).to_be_bytes();
    let c = checksum(&[&ROUTER6, dst, &len, &[0, 0, 0, 58], &icmp]).to_be_bytes();
    icmp[2..4].copy_from_slice(&c);
    let mut hdr = vec![0x60, 0, 0, 0];
    hdr.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    hdr.extend_from_slice(&[58, 255]);
    hdr.extend_from_slice(&ROUTER6);
    hdr.extend_from_slice(dst);
    let mut out = eth_back(frame, 0x86dd)?;
    out.extend_from_slice(&hdr);
    out.extend_from_slice(&icmp);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::decode::decode;

    #[test]
    fn frag_needed_decodes_as_tcpdump_shows_it() {
        let mut f = vec![0u8; 14 + 1500];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&1500u16.to_be_bytes());
        f[20] = 0x40;
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[192, 0, 2, 1]);
        f[30..34].copy_from_slice(&[192, 0, 2, 2]);
        let back = too_big(&f, 1400).unwrap();
        assert_eq!(&back[..6], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(checksum(&[&back[14..34]]), 0);
        assert_eq!(checksum(&[&back[34..]]), 0);
        let line = decode(&back).tcpdump(None);
        assert!(
            line.starts_with("IP 192.0.2.254 > 192.0.2.1: ICMP"),
            "{line}"
        );
        f[20] = 0;
        assert_eq!(too_big(&f, 1400), None, "no DF: no ICMP");
    }
}
