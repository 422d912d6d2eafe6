//! Issue 17, round 22: lines the script runs that `--emit` once refused
//! ("not written yet"), each now written in both languages as the same
//! call: several fds in one SCM_RIGHTS message, several control messages
//! in one sendmsg (in the line's order: SCM_CREDENTIALS before
//! SCM_RIGHTS, two SCM_RIGHTS, two SCM_CREDENTIALS). Each script runs,
//! and its C twin (with the round trip) and Python twin make its calls.

use super::emit::{c_twin, python_twin};
use crate::harness::{TempDir, run, socklab};

/// Two fds in one SCM_RIGHTS message, sent and received (no msg_name:
/// ops.rs's sendmsg and recvmsg).
const RIGHTS: &str = r#"a | p = socketpair(AF_UNIX, SOCK_STREAM, 0, ...) = 0
a | x = socket(AF_INET, SOCK_STREAM, 0)
a | y = socket(AF_INET, SOCK_DGRAM, 0)
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=24, msg_flags=0}, 0) = 2
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7, 8]}], msg_controllen=64 => 24, msg_flags=0}, 0) = 2
a | close(7) = 0
a | close(8) = 0
"#;

/// Several control messages a line: credentials then two fds (received
/// with the credentials SO_PASSCRED adds), two SCM_RIGHTS messages (the
/// kernel joins them: one received), two SCM_CREDENTIALS (the last one
/// counts), on a datagram pair; and an autobound name with two fds.
const SEVERAL: &str = r#"a | p = socketpair(AF_UNIX, SOCK_DGRAM, 0, ...) = 0
a | setsockopt(p[1], SOL_SOCKET, SO_PASSCRED, [1], 4) = 0
a | x = socket(AF_INET, SOCK_STREAM, 0)
a | y = socket(AF_INET, SOCK_DGRAM, 0)
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="one", iov_len=3}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=56, msg_flags=0}, 0) = 3
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="one", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7, 8]}], msg_controllen=128 => 56, msg_flags=0}, 0) = 3
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="two", iov_len=3}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x]}, {cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[y]}], msg_controllen=48, msg_flags=0}, 0) = 3
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="two", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[9, 10]}], msg_controllen=128 => 56, msg_flags=0}, 0) = 3
a | sendmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="three", iov_len=5}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}, {cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}], msg_controllen=64, msg_flags=0}, 0) = 5
a | recvmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="three", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}], msg_controllen=128 => 32, msg_flags=0}, 0) = 5
a | u = socket(AF_UNIX, SOCK_DGRAM, 0)
a | bind(u, {sa_family=AF_UNIX}, 2) = 0
a | getsockname(u, {sa_family=AF_UNIX, sun_path=@"00001"}, [110 => 8]) = 0
a | v = socket(AF_UNIX, SOCK_DGRAM, 0)
a | bind(v, {sa_family=AF_UNIX}, 2) = 0
a | getsockname(v, {sa_family=AF_UNIX, sun_path=@"00002"}, [110 => 8]) = 0
a | sendmsg(v, {msg_name={sa_family=AF_UNIX, sun_path=@"00001"}, msg_namelen=8, msg_iov=[{iov_base="four", iov_len=4}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[x, y]}], msg_controllen=24, msg_flags=0}, 0) = 4
a | recvmsg(u, {msg_name={sa_family=AF_UNIX, sun_path=@"00002"}, msg_namelen=128 => 8, msg_iov=[{iov_base="four", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[21, 22]}], msg_controllen=64 => 24, msg_flags=0}, 0) = 4
a | close(7) = 0
a | close(8) = 0
a | close(9) = 0
a | close(10) = 0
a | close(21) = 0
a | close(22) = 0
"#;

/// Multicast options as strace 6.1 prints them: IP_ADD_MEMBERSHIP and
/// IP_DROP_MEMBERSHIP with an ip_mreq (8) and an ip_mreqn (12, its
/// ifindex not printed: 0), a drop of a group not joined (EADDRNOTAVAIL),
/// IP_MULTICAST_IF as an in_addr (an int) and an ip_mreqn (a string),
/// the one-byte IP_MULTICAST_TTL and IP_MULTICAST_LOOP.
const MULTICAST: &str = r#"a | s = socket(AF_INET, SOCK_DGRAM, 0)
a | setsockopt(s, SOL_IP, IP_ADD_MEMBERSHIP, {imr_multiaddr=inet_addr("239.1.2.3"), imr_interface=inet_addr("127.0.0.1")}, 8) = 0
a | setsockopt(s, SOL_IP, IP_DROP_MEMBERSHIP, {imr_multiaddr=inet_addr("239.1.2.3"), imr_interface=inet_addr("127.0.0.1")}, 8) = 0
a | setsockopt(s, SOL_IP, IP_ADD_MEMBERSHIP, {imr_multiaddr=inet_addr("239.1.2.4"), imr_interface=inet_addr("127.0.0.1")}, 12) = 0
a | setsockopt(s, SOL_IP, IP_DROP_MEMBERSHIP, {imr_multiaddr=inet_addr("239.1.2.5"), imr_interface=inet_addr("127.0.0.1")}, 8) = -1 EADDRNOTAVAIL (Cannot assign requested address)
a | setsockopt(s, SOL_IP, IP_DROP_MEMBERSHIP, {imr_multiaddr=inet_addr("239.1.2.4"), imr_interface=inet_addr("127.0.0.1")}, 8) = 0
a | setsockopt(s, SOL_IP, IP_MULTICAST_IF, [16777343], 4) = 0
a | setsockopt(s, SOL_IP, IP_MULTICAST_IF, "\357\1\2\3\0\0\0\0\1\0\0\0", 12) = 0
a | setsockopt(s, SOL_IP, IP_MULTICAST_TTL, "\3", 1) = 0
a | setsockopt(s, SOL_IP, IP_MULTICAST_LOOP, [0], 1) = 0
"#;

/// A datagram received with its sender's name, in two iovecs, with
/// IP_PKTINFO (the kernel's to give: not compared by the twins); the reply
/// received the same way, without control data.
const NAMED: &str = r#"server | s = socket(AF_INET, SOCK_DGRAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | getsockname(s, 127.0.0.1:40006, ...) = 0
server | setsockopt(s, SOL_IP, IP_PKTINFO, [1], 4) = 0
client | c = socket(AF_INET, SOCK_DGRAM, 0)
client | bind(c, 127.0.0.1:0) = 0
client | getsockname(c, 127.0.0.1:40007, ...) = 0
client | sendto(c, "hello", 5, 0, 127.0.0.1:40006, 16) = 5
server | recvmsg(s, {msg_name=127.0.0.1:40007, msg_namelen=16, msg_iov=[{iov_base="hel", iov_len=3}, {iov_base="lo", iov_len=8}], msg_iovlen=2, msg_control=[{cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex("lo"), ...}}], msg_controllen=64 => 32, msg_flags=0}, 0) = 5
server | sendto(s, "bye", 3, 0, 127.0.0.1:40007, 16) = 3
client | recvmsg(c, {msg_name=127.0.0.1:40006, msg_namelen=16, msg_iov=[{iov_base="by", iov_len=2}, {iov_base="e", iov_len=4}], msg_iovlen=2, msg_controllen=0, msg_flags=0}, 0) = 3
"#;

fn twins(text: &str, name: &str) {
    let dir = TempDir::new("emit-more");
    let file = dir.path(&format!("{name}.script"));
    std::fs::write(&file, text).unwrap();
    run(socklab(&["script", &file]), b"").assert_ok();
    c_twin(&file, name);
    python_twin(&file, name);
}

#[test]
fn emit_twins_send_several_fds_in_one_scm_rights_message() {
    twins(RIGHTS, "rights-two-fds");
}

#[test]
fn emit_twins_send_several_control_messages_in_their_order() {
    twins(SEVERAL, "several-cmsgs");
}

#[test]
fn emit_twins_set_multicast_memberships_and_short_int_options() {
    twins(MULTICAST, "multicast");
    let c = run(
        socklab(&["script", "-", "--emit", "c"]),
        MULTICAST.as_bytes(),
    );
    c.assert_ok();
    for needle in [
        "struct ip_mreq v = {0}; inet_pton(AF_INET, \"239.1.2.3\", &v.imr_multiaddr);",
        "struct ip_mreqn v = {0}; inet_pton(AF_INET, \"239.1.2.4\", &v.imr_multiaddr); inet_pton(AF_INET, \"127.0.0.1\", &v.imr_address);",
    ] {
        assert!(c.stdout.contains(needle), "C: {needle}\n{}", c.stdout);
    }
    let p = run(
        socklab(&["script", "-", "--emit", "python"]),
        MULTICAST.as_bytes(),
    );
    p.assert_ok();
    let join =
        "struct.pack(\"4s4s\", socket.inet_aton(\"239.1.2.3\"), socket.inet_aton(\"127.0.0.1\"))";
    assert!(p.stdout.contains(join), "Python: {join}\n{}", p.stdout);
}

#[test]
fn emit_twins_receive_a_named_message_in_several_iovecs() {
    twins(NAMED, "named-iovecs");
    let p = run(
        socklab(&["script", "-", "--emit", "python"]),
        NAMED.as_bytes(),
    );
    p.assert_ok();
    for into in [
        "buf = [bytearray(2), bytearray(4)]\n",
        "r, anc, _, addr = c.recvmsg_into(buf, 0)  # Python: ",
    ] {
        assert!(p.stdout.contains(into), "Python: {into}\n{}", p.stdout);
    }
}
