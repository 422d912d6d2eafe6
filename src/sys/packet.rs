//! Capturing packets (`--wire`, `--pcap`): socket(AF_PACKET), the
//! SIOCGIFINDEX ioctl behind glibc's if_nametoindex, bind to a
//! sockaddr_ll, setsockopt SO_ATTACH_FILTER, SO_TIMESTAMPNS and
//! SO_RCVBUFFORCE/SO_RCVBUF, getsockopt PACKET_STATISTICS, recvmsg.
//! Each renders as strace 6 prints it (tests/suite/strace/),
//! except a successful recvmsg: the capture thread's reads are never
//! printed, and its rendering elides the frame and the control message.
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::strace::ArgVal::{Fd, InOut, Int, Name, Ptr, Text};

/// One frame read by [`Sys::recvmsg_packet`].
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Bytes written to the buffer.
    pub caplen: usize,
    /// The frame's real length (MSG_TRUNC): more than `caplen` if cut.
    pub len: usize,
    /// `sll_pkttype`: PACKET_HOST, PACKET_OUTGOING, ...
    pub pkttype: u8,
    /// The kernel's receive timestamp (SCM_TIMESTAMPNS), CLOCK_REALTIME.
    pub stamp: Option<SystemTime>,
}

const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

impl Sys {
    /// The same layer with tracing and inspection off: the capture
    /// thread's own poll and recvmsg calls, which would otherwise double
    /// every packet line (strace -f shows them).
    pub fn untraced(&self) -> Sys {
        Sys::new(crate::strace::Tracer::new(
            crate::strace::Format::Off,
            Box::new(std::io::sink()),
        ))
    }

    /// `socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL))`
    /// (packet(7)): every frame of every protocol. Needs CAP_NET_RAW.
    pub fn socket_packet(&self) -> Result<Socket> {
        let fd = self
            .call(
                Call {
                    row: &calls::SOCKET,
                    fd: None,
                    unix: false,
                },
                || {
                    // SAFETY: plain syscall with integer arguments.
                    let r = unsafe {
                        libc::socket(
                            libc::AF_PACKET,
                            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                            i32::from(ETH_P_ALL_BE),
                        )
                    };
                    Errno::result(r).map(i64::from)
                },
                |_| {
                    let args = [
                        Name("AF_PACKET"),
                        Name("SOCK_RAW|SOCK_CLOEXEC"),
                        Name("htons(ETH_P_ALL)"),
                    ];
                    plain(row_args(&calls::SOCKET, &args))
                },
            )
            .map_err(|e| e.in_context(|c| c.capture = true))?;
        Ok(Socket(fd as RawFd))
    }

    /// `ioctl(fd, SIOCGIFINDEX, {ifr_name=NAME, ...})` (netdevice(7)): the
    /// interface's index, what glibc's if_nametoindex asks (glibc opens a
    /// socket of its own for it; socklab asks on the packet socket).
    pub fn ioctl_siocgifindex(&self, s: Socket, name: &str) -> Result<i32> {
        let mut ifr = ifreq::named(name)?;
        let bytes = name.as_bytes();
        let ifr_ptr: *mut libc::ifreq = &mut ifr;
        self.call(
            Call {
                row: &calls::IOCTL,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: SIOCGIFINDEX reads and writes one ifreq.
                let r = unsafe { libc::ioctl(s.0, libc::SIOCGIFINDEX, ifr_ptr) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let qname = quote(bytes, usize::MAX);
                let ifr = match ret {
                    // SAFETY: the call has returned; the kernel wrote the union's ifindex.
                    Ok(_) => format!("{{ifr_name={qname}, ifr_ifindex={}}}", unsafe {
                        (*ifr_ptr).ifr_ifru.ifru_ifindex
                    }),
                    Err(_) => format!("{{ifr_name={qname}}}"),
                };
                plain(row_args(
                    &calls::IOCTL,
                    &[Fd(s.0), Name("SIOCGIFINDEX"), Text(ifr)],
                ))
            },
        )?;
        // SAFETY: as above.
        Ok(unsafe { ifr.ifr_ifru.ifru_ifindex })
    }

    /// `bind(fd, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL),
    /// sll_ifindex=...}, 20)`: frames of that interface only. The index
    /// prints as every other (`values::sockaddr::ifindex`): strace names
    /// it in the root namespace, where 1 is `lo` and a lab host's eth0's
    /// index is no one's (src/net/forward.rs), not by the name socklab
    /// asked for in the thread's own namespace.
    pub fn bind_packet(&self, s: Socket, ifindex: i32) -> Result<()> {
        // SAFETY: a zeroed sockaddr_ll is valid.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL_BE;
        sll.sll_ifindex = ifindex;
        let len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        self.call(
            Call {
                row: &calls::BIND,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: sll is a live sockaddr_ll of `len` bytes.
                let r = unsafe {
                    libc::bind(s.0, &sll as *const _ as *const libc::sockaddr, len)
                };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let sll = format!(
                    "{{sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL), sll_ifindex={}, sll_hatype=ARPHRD_NETROM, sll_pkttype=PACKET_HOST, sll_halen=0}}",
                    crate::values::sockaddr::ifindex(ifindex as u32)
                );
                plain(row_args(
                    &calls::BIND,
                    &[Fd(s.0), Text(sll), Int(i64::from(len))],
                ))
            },
        )?;
        Ok(())
    }

    /// `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, {len=N, filter=PTR}, 16)`:
    /// a classic BPF program the kernel runs on each frame (strace prints
    /// the instructions' address, not the instructions, without -v).
    pub fn setsockopt_attach_filter(&self, s: Socket, prog: &[libc::sock_filter]) -> Result<()> {
        let fprog = libc::sock_fprog {
            len: prog.len() as libc::c_ushort,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        let shown = format!("{{len={}, filter={:p}}}", prog.len(), prog.as_ptr());
        let opt = (libc::SO_ATTACH_FILTER, "SO_ATTACH_FILTER");
        self.setsockopt_socket(s, opt, &fprog, shown)
    }

    /// `setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4)`: each
    /// recvmsg carries the frame's kernel timestamp (strace 6 calls
    /// SO_TIMESTAMPNS by its new name).
    pub fn setsockopt_timestampns(&self, s: Socket) -> Result<()> {
        let one: libc::c_int = 1;
        let opt = (libc::SO_TIMESTAMPNS, "SO_TIMESTAMPNS_OLD");
        self.setsockopt_socket(s, opt, &one, "[1]".to_string())
    }

    /// `setsockopt(fd, SOL_SOCKET, NAME, [value], 4)` for the capture's
    /// receive buffer: SO_RCVBUFFORCE (CAP_NET_ADMIN, past rmem_max) or
    /// SO_RCVBUF.
    pub fn setsockopt_rcvbuf(&self, s: Socket, force: bool, value: i32) -> Result<()> {
        let opt = if force {
            (libc::SO_RCVBUFFORCE, "SO_RCVBUFFORCE")
        } else {
            (libc::SO_RCVBUF, "SO_RCVBUF")
        };
        self.setsockopt_socket(s, opt, &value, format!("[{value}]"))
    }

    /// The one setsockopt(fd, SOL_SOCKET, opt, &value, sizeof value) of the
    /// capture's options (they are not in the user's option table): `opt`
    /// is its number and the name strace prints, `shown` strace's
    /// rendering of the value.
    fn setsockopt_socket<T>(
        &self,
        s: Socket,
        (opt, name): (i32, &str),
        value: &T,
        shown: String,
    ) -> Result<()> {
        self.call(
            Call {
                row: &calls::SETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: `value` is a live T and we pass its exact size.
                let r = unsafe {
                    libc::setsockopt(
                        s.0,
                        libc::SOL_SOCKET,
                        opt,
                        value as *const T as *const libc::c_void,
                        size_of::<T>() as libc::socklen_t,
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::SETSOCKOPT,
                    &[
                        Fd(s.0),
                        Name("SOL_SOCKET"),
                        Name(name),
                        Text(shown.clone()),
                        Int(size_of::<T>() as i64),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// `getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, {tp_packets=N,
    /// tp_drops=M}, [8])` (packet(7)): frames received and dropped (the
    /// receive buffer was full) since the last call.
    pub fn getsockopt_packet_statistics(&self, s: Socket) -> Result<(u32, u32)> {
        // SAFETY: a zeroed tpacket_stats is valid.
        let mut st: libc::tpacket_stats = unsafe { zeroed() };
        let cap = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        let len = Cell::new(cap);
        let st_ptr: *mut libc::tpacket_stats = &mut st;
        self.call(
            Call {
                row: &calls::GETSOCKOPT,
                fd: Some(s),
                unix: false,
            },
            || {
                len.set(cap);
                // SAFETY: st_ptr points to a live tpacket_stats of `len` bytes.
                let r = unsafe {
                    libc::getsockopt(
                        s.0,
                        libc::SOL_PACKET,
                        libc::PACKET_STATISTICS,
                        st_ptr as *mut libc::c_void,
                        len.as_ptr(),
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let (stats, out_len) = match ret {
                    // SAFETY: the call has returned; the kernel no longer writes to st.
                    Ok(_) => (
                        Text(format!(
                            "{{tp_packets={}, tp_drops={}}}",
                            unsafe { (*st_ptr).tp_packets },
                            unsafe { (*st_ptr).tp_drops },
                        )),
                        Some(len.get()),
                    ),
                    Err(_) => (Ptr(st_ptr.cast_const().cast()), None),
                };
                let (level, opt) = (Name("SOL_PACKET"), Name("PACKET_STATISTICS"));
                let args = [Fd(s.0), level, opt, stats, InOut(cap, out_len)];
                plain(row_args(&calls::GETSOCKOPT, &args))
            },
        )?;
        Ok((st.tp_packets, st.tp_drops))
    }

    /// `recvmsg(fd, {...}, MSG_DONTWAIT|MSG_TRUNC)`: one frame, its
    /// sockaddr_ll (the packet type) and its SCM_TIMESTAMPNS control
    /// message. Fails with EAGAIN when nothing is queued.
    pub fn recvmsg_packet(&self, s: Socket, buf: &mut [u8]) -> Result<Frame> {
        // SAFETY: zeroed sockaddr_ll and msghdr are valid.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        // u64s: the control buffer must be aligned for cmsghdr.
        let mut ctrl = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = &mut sll as *mut _ as *mut libc::c_void;
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = size_of::<[u64; 16]>();
        let msg_ptr: *mut libc::msghdr = &mut msg;
        let flags = libc::MSG_DONTWAIT | libc::MSG_TRUNC;
        let n = self.call(
            Call {
                row: &calls::RECVMSG,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: msg points to live name, iovec and control buffers.
                let r = unsafe { libc::recvmsg(s.0, msg_ptr, flags) };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let msg = match ret {
                    Ok(_) => format!(
                        "{{msg_name={{sa_family=AF_PACKET, ...}}, msg_namelen=20, msg_iov=[{{iov_base=..., iov_len={}}}], msg_iovlen=1, msg_control=[...], msg_controllen={}, msg_flags=...}}",
                        buf.len(),
                        // SAFETY: the call has returned.
                        unsafe { (*msg_ptr).msg_controllen }
                    ),
                    Err(_) => "{msg_namelen=20}".to_string(),
                };
                let args = [Fd(s.0), Text(msg), Name("MSG_DONTWAIT|MSG_TRUNC")];
                plain(row_args(&calls::RECVMSG, &args))
            },
        )?;
        let len = n as usize;
        Ok(Frame {
            caplen: len.min(buf.len()),
            len,
            pkttype: sll.sll_pkttype,
            // SAFETY: the kernel filled msg's control buffer.
            stamp: unsafe { timestamp(&msg) },
        })
    }
}

/// The SCM_TIMESTAMPNS control message of a received msghdr, if any.
///
/// # Safety
/// `msg` must be a msghdr filled by a successful recvmsg.
unsafe fn timestamp(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: the CMSG macros walk the buffer the kernel filled.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                return Some(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
                );
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::traced_lines::traced;

    /// An index prints as strace in the root namespace prints it: 1 is
    /// `lo` in every namespace; another (a lab host's eth0, whose index
    /// the root does not have) is the number, whatever the interface is
    /// called where the call was made.
    #[test]
    fn a_packet_bind_names_an_index_as_strace_in_the_root_does() {
        let (sys, lines) = traced();
        let _ = sys.bind_packet(Socket(-1), 1);
        let _ = sys.bind_packet(Socket(-1), 7);
        let text = lines.text();
        assert!(
            text.contains("sll_ifindex=if_nametoindex(\"lo\"), sll_hatype"),
            "{text}"
        );
        assert!(text.contains("sll_ifindex=7, sll_hatype"), "{text}");
    }
}
