//! Control messages (a msghdr's msg_control): built for sendmsg, read
//! back after recvmsg, and printed as strace 6.1's `decode_msg_control`
//! prints them (msghdr.c): SOL_SOCKET's SCM_RIGHTS and SCM_CREDENTIALS,
//! SOL_IP's IP_TOS (`[0x10]`, bytes in hex), IP_TTL (`[64]`), IP_PKTINFO,
//! IP_RECVERR, IP_ORIGDSTADDR; other levels (SOL_IPV6) as a number only
//! (`cmsg_type=0x43`, no data: strace 6.1 decodes none of them).

use std::os::fd::RawFd;

use crate::values::quoting::quote;
use crate::values::sockaddr::sockaddr;
use crate::values::xlat::{self, Group};

/// One control message socklab sends or reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmsg {
    /// SCM_RIGHTS: descriptors passed to the peer (unix(7)).
    Rights(Vec<RawFd>),
    /// SCM_CREDENTIALS: a `struct ucred` (the receiver needs SO_PASSCRED).
    Credentials { pid: i32, uid: u32, gid: u32 },
    /// Any other: its level, type and data as the kernel takes them
    /// (IP_TOS one byte, IP_TTL an int, IP_PKTINFO a `struct in_pktinfo`,
    /// IPV6_TCLASS and IPV6_HOPLIMIT an int).
    Other { level: i32, ty: i32, data: Vec<u8> },
}

/// `CMSG_ALIGN`: control messages start on 8-byte boundaries (x86-64).
fn align(n: usize) -> usize {
    (n + 7) & !7
}

pub(super) const CMSG_HDR: usize = size_of::<libc::cmsghdr>();

/// SCM_SECURITY (linux/socket.h; the libc crate has no constant).
const SCM_SECURITY: i32 = 3;
/// IP_CHECKSUM (linux/in.h).
const IP_CHECKSUM: i32 = 23;

impl Cmsg {
    fn parts(&self) -> (i32, i32, Vec<u8>) {
        match self {
            Cmsg::Rights(fds) => (
                libc::SOL_SOCKET,
                libc::SCM_RIGHTS,
                fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect(),
            ),
            Cmsg::Credentials { pid, uid, gid } => {
                let mut b = pid.to_ne_bytes().to_vec();
                b.extend_from_slice(&uid.to_ne_bytes());
                b.extend_from_slice(&gid.to_ne_bytes());
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, b)
            }
            Cmsg::Other { level, ty, data } => (*level, *ty, data.clone()),
        }
    }
}

/// The control buffer holding `control`, 8-byte aligned, and its length.
pub(super) fn control_buffer(control: &[Cmsg]) -> (Vec<u64>, usize) {
    let mut bytes = Vec::new();
    for c in control {
        let (level, ty, data) = c.parts();
        let len = CMSG_HDR + data.len();
        bytes.extend_from_slice(&len.to_ne_bytes());
        bytes.extend_from_slice(&level.to_ne_bytes());
        bytes.extend_from_slice(&ty.to_ne_bytes());
        bytes.extend_from_slice(&data);
        bytes.resize(align(bytes.len()), 0);
    }
    let words = bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_ne_bytes(w)
        })
        .collect();
    (words, bytes.len())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

/// The control messages in `buf` (what a msghdr's msg_control holds, its
/// first `len` bytes): each as strace prints it, and the ones socklab
/// reads back (SCM_RIGHTS, SCM_CREDENTIALS).
pub(super) fn read_control(buf: &[u8]) -> (Vec<String>, Vec<Cmsg>) {
    let (mut shown, mut known) = (Vec::new(), Vec::new());
    let mut at = 0;
    while let Some(hdr) = buf.get(at..at + CMSG_HDR) {
        let len = hdr
            .get(0..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, usize::from_ne_bytes);
        let (level, ty) = (u32_at(hdr, 8) as i32, u32_at(hdr, 12) as i32);
        if len < CMSG_HDR {
            break;
        }
        let data = buf
            .get(at + CMSG_HDR..(at + len).min(buf.len()))
            .unwrap_or(&[]);
        let ints: Vec<i32> = data
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(i32::from_ne_bytes))
            .collect();
        match (level, ty, ints.as_slice()) {
            (libc::SOL_SOCKET, libc::SCM_RIGHTS, fds) if !fds.is_empty() => {
                known.push(Cmsg::Rights(fds.to_vec()))
            }
            (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, [pid, uid, gid, ..]) => {
                known.push(Cmsg::Credentials {
                    pid: *pid,
                    uid: *uid as u32,
                    gid: *gid as u32,
                })
            }
            _ => {}
        }
        shown.push(format!(
            "{{cmsg_len={len}, cmsg_level={}, cmsg_type={}}}",
            xlat::flags_text(Group::Sol, i64::from(level as u32)),
            type_and_data(level, ty, data)
        ));
        at += align(len);
    }
    (shown, known)
}

/// `SCM_RIGHTS, cmsg_data=[5]`, `IP_TOS, cmsg_data=[0x10]`, `0x43`: the
/// type as strace names it at its level, then the data it decodes (only
/// when there are at least as many bytes as its printer needs).
fn type_and_data(level: i32, ty: i32, data: &[u8]) -> String {
    let ints = || -> Vec<String> {
        data.chunks_exact(4)
            .map(|c| u32_at(c, 0).to_string())
            .collect()
    };
    let (name, shown) = match level {
        libc::SOL_SOCKET => {
            let shown = match ty {
                libc::SCM_RIGHTS if data.len() >= 4 => {
                    let fds: Vec<String> = data
                        .chunks_exact(4)
                        .map(|c| (u32_at(c, 0) as i32).to_string())
                        .collect();
                    Some(format!("[{}]", fds.join(", ")))
                }
                libc::SCM_CREDENTIALS if data.len() >= 12 => Some(format!(
                    "{{pid={}, uid={}, gid={}}}",
                    u32_at(data, 0) as i32,
                    u32_at(data, 4),
                    u32_at(data, 8)
                )),
                SCM_SECURITY if !data.is_empty() => Some(quote(data, usize::MAX)),
                _ => None,
            };
            (xlat::flags_text(Group::Scm, i64::from(ty as u32)), shown)
        }
        libc::SOL_IP => {
            let shown = match ty {
                libc::IP_PKTINFO if data.len() >= 12 => Some(pktinfo(data)),
                libc::IP_TTL | IP_CHECKSUM if data.len() >= 4 => {
                    Some(format!("[{}]", ints().join(", ")))
                }
                libc::IP_TOS | libc::IP_RECVOPTS | libc::IP_RETOPTS if !data.is_empty() => {
                    let bytes: Vec<String> = data.iter().map(|b| hex(u32::from(*b))).collect();
                    Some(format!("[{}]", bytes.join(", ")))
                }
                libc::IP_RECVERR if data.len() >= 32 => Some(recverr(data)),
                libc::IP_ORIGDSTADDR if data.len() >= 16 => Some(addr(data)),
                SCM_SECURITY if !data.is_empty() => Some(quote(data, usize::MAX)),
                _ => None,
            };
            (xlat::flags_text(Group::IpCmsg, i64::from(ty as u32)), shown)
        }
        _ => (hex(ty as u32), None),
    };
    match shown {
        Some(d) => format!("{name}, cmsg_data={d}"),
        None => name,
    }
}

/// C's `%#x`: `0x10`, but `0` for zero.
fn hex(v: u32) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// `inet_addr("127.0.0.1")` of the 4 bytes at `at` (network order).
fn inet_at(b: &[u8], at: usize) -> String {
    let ip: [u8; 4] = b
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; 4]);
    format!("inet_addr(\"{}\")", std::net::Ipv4Addr::from(ip))
}

/// A `struct in_pktinfo`: the interface index (`if_nametoindex("lo")`
/// for loopback), the local address, the header's destination.
fn pktinfo(b: &[u8]) -> String {
    let index = crate::values::sockaddr::ifindex(u32_at(b, 0));
    format!(
        "{{ipi_ifindex={index}, ipi_spec_dst={}, ipi_addr={}}}",
        inet_at(b, 4),
        inet_at(b, 8)
    )
}

/// A `struct sock_extended_err` and the offender's address after it.
fn recverr(b: &[u8]) -> String {
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    format!(
        "{{ee_errno={}, ee_origin={}, ee_type={}, ee_code={}, ee_info={}, ee_data={}, offender={}}}",
        u32_at(b, 0),
        byte(4),
        byte(5),
        byte(6),
        u32_at(b, 8),
        u32_at(b, 12),
        addr(b.get(16..32).unwrap_or(&[]))
    )
}

/// A sockaddr in the data (at most a sockaddr_storage of it).
fn addr(b: &[u8]) -> String {
    // SAFETY: a zeroed sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let n = b.len().min(size_of::<libc::sockaddr_storage>());
    // SAFETY: ss is a plain struct of at least n bytes; b has n bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), (&raw mut ss).cast::<u8>(), n);
    }
    sockaddr(&ss, n as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(level: i32, ty: i32, data: &[u8]) -> String {
        let (words, len) = control_buffer(&[Cmsg::Other {
            level,
            ty,
            data: data.to_vec(),
        }]);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        read_control(&bytes[..len]).0.join(", ")
    }

    #[test]
    fn cmsgs_print_as_strace_6_1() {
        let lo = [1u8, 0, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
        assert_eq!(
            one(libc::SOL_IP, libc::IP_PKTINFO, &lo),
            "{cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex(\"lo\"), ipi_spec_dst=inet_addr(\"127.0.0.1\"), ipi_addr=inet_addr(\"127.0.0.1\")}}"
        );
        assert_eq!(
            one(libc::SOL_IP, libc::IP_TOS, &[0x10]),
            "{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0x10]}"
        );
        assert_eq!(
            one(libc::SOL_IP, libc::IP_TOS, &[0]),
            "{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0]}"
        );
        assert_eq!(
            one(libc::SOL_IP, libc::IP_TTL, &64u32.to_ne_bytes()),
            "{cmsg_len=20, cmsg_level=SOL_IP, cmsg_type=IP_TTL, cmsg_data=[64]}"
        );
        assert_eq!(
            one(libc::SOL_IP, 99, &[1]),
            "{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=0x63 /* IP_??? */}"
        );
        assert_eq!(
            one(libc::SOL_IPV6, libc::IPV6_TCLASS, &[0x20, 0, 0, 0]),
            "{cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=0x43}"
        );
        assert_eq!(
            one(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[]),
            "{cmsg_len=16, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS}"
        );
        let mut err = vec![111, 0, 0, 0, 2, 3, 3, 0];
        err.extend([0; 8]);
        err.extend([2, 0, 0, 0, 127, 0, 0, 1]);
        err.extend([0; 8]);
        assert_eq!(
            one(libc::SOL_IP, libc::IP_RECVERR, &err),
            "{cmsg_len=48, cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=111, ee_origin=2, ee_type=3, ee_code=3, ee_info=0, ee_data=0, offender={sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}}}"
        );
    }
}
