//! A raw `sockaddr` as strace's `print_sockaddr` prints it.

use super::quoting::quote;

/// `{sa_family=AF_INET, sin_port=htons(8081), sin_addr=inet_addr("127.0.0.1")}`
/// from the raw bytes the kernel saw (`len` of them).
pub fn sockaddr(ss: &libc::sockaddr_storage, len: libc::socklen_t) -> String {
    let len = len as usize;
    if len < std::mem::size_of::<libc::sa_family_t>() {
        return "{}".to_string();
    }
    match i32::from(ss.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says AF_INET and `len` covers a sockaddr_in.
            let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            format!(
                "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{ip}\")}}",
                u16::from_be(sin.sin_port)
            )
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says AF_INET6 and `len` covers a sockaddr_in6.
            let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            let ip = ipv6_text(&sin6.sin6_addr.s6_addr);
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{ip}\", &sin6_addr), sin6_scope_id={}}}",
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id
            )
        }
        libc::AF_UNIX => {
            let path = unix_path_bytes(ss, len);
            match path.first() {
                None => "{sa_family=AF_UNIX}".to_string(),
                Some(0) => format!(
                    "{{sa_family=AF_UNIX, sun_path=@{}}}",
                    quote(&path[1..], usize::MAX)
                ),
                Some(_) => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    format!(
                        "{{sa_family=AF_UNIX, sun_path={}}}",
                        quote(&path[..end], usize::MAX)
                    )
                }
            }
        }
        f => format!("{{sa_family={f}}}"),
    }
}

/// The `sun_path` bytes covered by `len`.
pub fn unix_path_bytes(ss: &libc::sockaddr_storage, len: usize) -> &[u8] {
    let off = std::mem::size_of::<libc::sa_family_t>();
    // SAFETY: sockaddr_storage is 128 bytes and `len` is capped to it.
    let all: &[u8] = unsafe {
        std::slice::from_raw_parts(
            ss as *const _ as *const u8,
            std::mem::size_of::<libc::sockaddr_storage>(),
        )
    };
    &all[off..len.clamp(off, all.len())]
}

/// An IPv6 address as glibc's `inet_ntop` writes it (strace prints with
/// it): as Rust's, but an IPv4-compatible address keeps its dotted tail
/// (`::127.0.0.1`, where Rust writes `::7f00:1`); `::` and `::1` stay so.
pub fn ipv6_text(b: &[u8; 16]) -> String {
    let ip = std::net::Ipv6Addr::from(*b);
    let seg = ip.segments();
    if seg[..6].iter().all(|&w| w == 0) && seg[6] != 0 {
        return format!("::{}.{}.{}.{}", b[12], b[13], b[14], b[15]);
    }
    ip.to_string()
}

#[cfg(test)]
mod tests {
    use super::ipv6_text;

    #[test]
    fn ipv6_as_inet_ntop_writes_it() {
        // Each as strace 6.1 printed it for Python's sendto to it.
        for text in [
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "::2",
        ] {
            let ip: std::net::Ipv6Addr = text.parse().unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
            assert_eq!(ipv6_text(&ip.octets()), text);
        }
    }
}
