//! The name <-> value lists, copied from strace's own xlat lists
//! (strace/src/xlat/*.in, x86-64 values), in their order: a set of flags
//! prints in this order, as strace prints it.

use super::Group;

/// `addrfams.in`.
pub(super) const AF: &[(i64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (6, "AF_NETROM"),
    (7, "AF_BRIDGE"),
    (8, "AF_ATMPVC"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (11, "AF_ROSE"),
    (12, "AF_DECnet"),
    (13, "AF_NETBEUI"),
    (14, "AF_SECURITY"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (18, "AF_ASH"),
    (19, "AF_ECONET"),
    (20, "AF_ATMSVC"),
    (21, "AF_RDS"),
    (22, "AF_SNA"),
    (23, "AF_IRDA"),
    (24, "AF_PPPOX"),
    (25, "AF_WANPIPE"),
    (26, "AF_LLC"),
    (27, "AF_IB"),
    (28, "AF_MPLS"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (32, "AF_IUCV"),
    (33, "AF_RXRPC"),
    (34, "AF_ISDN"),
    (35, "AF_PHONET"),
    (36, "AF_IEEE802154"),
    (37, "AF_CAIF"),
    (38, "AF_ALG"),
    (39, "AF_NFC"),
    (40, "AF_VSOCK"),
    (41, "AF_KCM"),
    (42, "AF_QIPCRTR"),
    (43, "AF_SMC"),
    (44, "AF_XDP"),
    (45, "AF_MCTP"),
];

/// `socktypes.in` (the low four bits of a socket type).
pub(super) const SOCK_TYPES: &[(i64, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];

/// `sock_type_flags.in`.
pub(super) const SOCK_FLAGS: &[(i64, &str)] =
    &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];

/// `inet_protocols.in`.
pub(super) const IPPROTO: &[(i64, &str)] = &[
    (0, "IPPROTO_IP"),
    (1, "IPPROTO_ICMP"),
    (2, "IPPROTO_IGMP"),
    (4, "IPPROTO_IPIP"),
    (6, "IPPROTO_TCP"),
    (8, "IPPROTO_EGP"),
    (12, "IPPROTO_PUP"),
    (17, "IPPROTO_UDP"),
    (22, "IPPROTO_IDP"),
    (29, "IPPROTO_TP"),
    (33, "IPPROTO_DCCP"),
    (41, "IPPROTO_IPV6"),
    (43, "IPPROTO_ROUTING"),
    (44, "IPPROTO_FRAGMENT"),
    (46, "IPPROTO_RSVP"),
    (47, "IPPROTO_GRE"),
    (50, "IPPROTO_ESP"),
    (51, "IPPROTO_AH"),
    (58, "IPPROTO_ICMPV6"),
    (59, "IPPROTO_NONE"),
    (60, "IPPROTO_DSTOPTS"),
    (92, "IPPROTO_MTP"),
    (94, "IPPROTO_BEETPH"),
    (98, "IPPROTO_ENCAP"),
    (103, "IPPROTO_PIM"),
    (108, "IPPROTO_COMP"),
    (115, "IPPROTO_L2TP"),
    (132, "IPPROTO_SCTP"),
    (135, "IPPROTO_MH"),
    (136, "IPPROTO_UDPLITE"),
    (137, "IPPROTO_MPLS"),
    (143, "IPPROTO_ETHERNET"),
    (144, "IPPROTO_AGGFRAG"),
    (255, "IPPROTO_RAW"),
    (256, "IPPROTO_SMC"),
    (262, "IPPROTO_MPTCP"),
];

/// `socketlayers.in`.
pub(super) const SOL: &[(i64, &str)] = &[
    (0, "SOL_IP"),
    (1, "SOL_SOCKET"),
    (6, "SOL_TCP"),
    (17, "SOL_UDP"),
    (41, "SOL_IPV6"),
    (58, "SOL_ICMPV6"),
    (132, "SOL_SCTP"),
    (136, "SOL_UDPLITE"),
    (255, "SOL_RAW"),
    (263, "SOL_PACKET"),
    (269, "SOL_DCCP"),
    (270, "SOL_NETLINK"),
    (271, "SOL_TIPC"),
    (279, "SOL_ALG"),
    (281, "SOL_KCM"),
    (282, "SOL_TLS"),
    (283, "SOL_XDP"),
];

/// `msg_flags.in` (as strace 6.1 has it: no MSG_SOCK_DEVMEM yet).
pub(super) const MSG: &[(i64, &str)] = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x4, "MSG_DONTROUTE"),
    (0x8, "MSG_CTRUNC"),
    (0x10, "MSG_PROBE"),
    (0x20, "MSG_TRUNC"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"),
    (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x10000, "MSG_WAITFORONE"),
    (0x20000, "MSG_SENDPAGE_NOTLAST"),
    (0x40000, "MSG_BATCH"),
    (0x80000, "MSG_NO_SHARED_FRAGS"),
    (0x4000000, "MSG_ZEROCOPY"),
    (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
    (0x80000000, "MSG_CMSG_COMPAT"),
];

/// `shutdown_modes.in`.
pub(super) const SHUT: &[(i64, &str)] = &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")];

/// `scmvals.in`.
pub(super) const SCM: &[(i64, &str)] = &[
    (1, "SCM_RIGHTS"),
    (2, "SCM_CREDENTIALS"),
    (3, "SCM_SECURITY"),
    (4, "SCM_PIDFD"),
];

/// `ip_cmsg_types.in`: control message types at SOL_IP (strace 6.1; 3 is
/// its SCM_SECURITY, as the kernel's SELinux passes it).
pub(super) const IP_CMSG: &[(i64, &str)] = &[
    (1, "IP_TOS"),
    (2, "IP_TTL"),
    (3, "SCM_SECURITY"),
    (6, "IP_RECVOPTS"),
    (7, "IP_RETOPTS"),
    (8, "IP_PKTINFO"),
    (11, "IP_RECVERR"),
    (20, "IP_ORIGDSTADDR"),
    (23, "IP_CHECKSUM"),
    (52, "IP_PROTOCOL"),
];

/// Names a script may write (in their group) that strace never prints (it prints the
/// other name of the same value).
pub(super) const ALIASES: &[(Group, &str, i64)] = &[
    (Group::Af, "AF_LOCAL", 1),
    (Group::Af, "AF_FILE", 1),
    (Group::Af, "AF_ROUTE", 16),
    (Group::Ioctl, "SIOCINQ", 0x541B),
    (Group::Ioctl, "TIOCINQ", 0x541B),
    (Group::Ioctl, "SIOCOUTQ", 0x5411),
    (Group::OFlags, "O_NDELAY", 0o4000),
    (Group::OFlags, "O_FSYNC", 0o4010000),
    (Group::OFlags, "O_ASYNC", 0o20000),
    (Group::Msg, "MSG_TRYHARD", 0x4),
    (Group::Msg, "MSG_EOF", 0x200),
    (Group::Wait, "WUNTRACED", 2),
    // A level as C programs often write it: setsockopt(fd, IPPROTO_TCP, ...).
    (Group::Sol, "IPPROTO_IP", 0),
    (Group::Sol, "IPPROTO_TCP", 6),
    (Group::Sol, "IPPROTO_UDP", 17),
    (Group::Sol, "IPPROTO_IPV6", 41),
];
