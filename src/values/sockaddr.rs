//! A raw `sockaddr` as strace's `print_sockaddr` prints it.

use super::quoting::quote;

/// The loopback interface's index in every network namespace (the
/// kernel's LOOPBACK_IFINDEX).
pub const LOOPBACK_IFINDEX: u32 = 1;

/// An interface index as strace -f prints it: `if_nametoindex("lo")`
/// for loopback, else the number. strace names an index with
/// if_indextoname in its own (the root) network namespace; only index 1
/// is `lo` in every namespace. A lab host's eth0 is made in the root and
/// moved into the host (src/net/forward.rs): it keeps an index the root
/// no longer has, which strace prints as the number. (Made in the host,
/// it was index 2, which strace named after the root's index 2,
/// `if_nametoindex("ifb0")`: socklab would have needed a call to learn
/// that name; CONVENTIONS rule 3.)
pub fn ifindex(index: u32) -> String {
    match index {
        LOOPBACK_IFINDEX => "if_nametoindex(\"lo\")".to_string(),
        n => n.to_string(),
    }
}

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
            let b = &sin6.sin6_addr.s6_addr;
            let ip = ipv6_text(b);
            // strace names the scope of a link-local address (unicast
            // fe80::/10, multicast ffX2::) as an interface, else a number.
            let link_local =
                (b[0] == 0xfe && b[1] & 0xc0 == 0x80) || (b[0] == 0xff && b[1] & 0x0f == 0x02);
            let scope = match link_local {
                true => ifindex(sin6.sin6_scope_id),
                false => sin6.sin6_scope_id.to_string(),
            };
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{ip}\", &sin6_addr), sin6_scope_id={scope}}}",
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
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
    use super::{ifindex, ipv6_text, sockaddr};

    /// strace 6.1 (a sendto to each, from the root namespace): a
    /// link-local address's scope is an interface (`lo` for 1; another
    /// is named in strace's namespace, where a lab host's index is no
    /// one's: the number, see [`ifindex`]), another's a number.
    #[test]
    fn a_link_local_scope_prints_as_strace_prints_it() {
        let shown = |ip: &str, scope: u32| {
            // SAFETY: a zeroed sockaddr_storage is valid.
            let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let sin6 = &mut ss as *mut _ as *mut libc::sockaddr_in6;
            let addr: std::net::Ipv6Addr = ip.parse().unwrap();
            // SAFETY: sockaddr_storage holds a sockaddr_in6.
            unsafe {
                (*sin6).sin6_family = libc::AF_INET6 as u16;
                (*sin6).sin6_addr.s6_addr = addr.octets();
                (*sin6).sin6_scope_id = scope;
            }
            let len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            let text = sockaddr(&ss, len);
            text.split("sin6_scope_id=")
                .nth(1)
                .unwrap()
                .trim_end_matches('}')
                .to_string()
        };
        assert_eq!(shown("fe80::1", 0), "0");
        assert_eq!(shown("fe80::1", 1), "if_nametoindex(\"lo\")");
        assert_eq!(shown("fe80::1", 99), "99");
        assert_eq!(shown("ff02::1", 1), "if_nametoindex(\"lo\")");
        assert_eq!(shown("2001:db8::1", 1), "1");
        assert_eq!(shown("2001:db8::1", 2), "2");
        assert_eq!(ifindex(2), "2");
    }

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
