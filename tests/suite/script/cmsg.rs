//! Ancillary data at SOL_IP and SOL_IPV6 (issue 15 item 3, issue 14 rule
//! 7, issue 17): received and sent by a script, printed as strace 6.1
//! prints them (the same run under `strace -f`, line for line), replayed
//! with the cmsgs as expectations, emitted as C and Python twins.

use std::process::Command;

use super::emit::{c_twin_with, python_twin};
use crate::harness::{TempDir, bin, have, run};

/// IP_TOS, IP_TTL and IP_PKTINFO sent, then received (IP_RECVTOS,
/// IP_RECVTTL, IP_PKTINFO), with the values strace prints.
const IP: &str = r#"server | s = socket(AF_INET, SOCK_DGRAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | getsockname(s, 127.0.0.1:40006, ...) = 0
server | setsockopt(s, SOL_IP, IP_RECVTOS, [1], 4) = 0
server | setsockopt(s, SOL_IP, IP_RECVTTL, [1], 4) = 0
server | setsockopt(s, SOL_IP, IP_PKTINFO, [1], 4) = 0
client | c = socket(AF_INET, SOCK_DGRAM, 0)
client | sendmsg(c, {msg_name=127.0.0.1:40006, msg_iov=[{iov_base="hello", iov_len=5}], msg_control=[{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0x10]}, {cmsg_len=20, cmsg_level=SOL_IP, cmsg_type=IP_TTL, cmsg_data=[7]}, {cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=0, ipi_spec_dst=inet_addr("127.0.0.1"), ipi_addr=inet_addr("0.0.0.0")}}], msg_flags=0}, 0) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hello", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex("lo"), ipi_spec_dst=inet_addr("127.0.0.1"), ipi_addr=inet_addr("127.0.0.1")}}, {cmsg_len=20, cmsg_level=SOL_IP, cmsg_type=IP_TTL, cmsg_data=[7]}, {cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0x10]}], msg_controllen=128 => 80, msg_flags=0}, 0) = 5
client | sendmsg(c, {msg_name=127.0.0.1:40006, msg_iov=[{iov_base="again", iov_len=5}], msg_control=[{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0]}], msg_flags=0}, 0) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="again", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex("lo"), ...}}, {cmsg_len=20, cmsg_level=SOL_IP, cmsg_type=IP_TTL, cmsg_data=[64]}, {cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0]}], msg_controllen=128 => 80, msg_flags=0}, 0) = 5
server | close(s) = 0
client | close(c) = 0
"#;

/// IPV6_TCLASS and IPV6_HOPLIMIT sent (written with their data; strace
/// 6.1 prints their type as a number and no data), the three IPv6 cmsgs
/// received; a cmsg written as strace prints it (no data: zeros).
const V6: &str = r#"server | s = socket(AF_INET6, SOCK_DGRAM, 0)
server | bind(s, [::1]:0) = 0
server | getsockname(s, [::1]:40007, ...) = 0
server | setsockopt(s, SOL_IPV6, IPV6_RECVTCLASS, [1], 4) = 0
server | setsockopt(s, SOL_IPV6, IPV6_RECVHOPLIMIT, [1], 4) = 0
server | setsockopt(s, SOL_IPV6, IPV6_RECVPKTINFO, [1], 4) = 0
client | c = socket(AF_INET6, SOCK_DGRAM, 0)
client | sendmsg(c, {msg_name=[::1]:40007, msg_iov=[{iov_base="hello", iov_len=5}], msg_control=[{cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=IPV6_TCLASS, cmsg_data=[32]}, {cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=IPV6_HOPLIMIT, cmsg_data=[9]}], msg_flags=0}, 0) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hello", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=36, cmsg_level=SOL_IPV6, cmsg_type=0x32}, {cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=0x34}, {cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=0x43}], msg_controllen=128 => 88, msg_flags=0}, 0) = 5
client | sendmsg(c, {msg_name=[::1]:40007, msg_iov=[{iov_base="again", iov_len=5}], msg_control=[{cmsg_len=20, cmsg_level=SOL_IPV6, cmsg_type=0x43}], msg_flags=0}, 0) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="again", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=36, cmsg_level=SOL_IPV6, cmsg_type=0x32}, ...], msg_controllen=128 => 88, msg_flags=0}, 0) = 5
server | close(s) = 0
client | close(c) = 0
"#;

/// IP_ORIGDSTADDR received; IP_RECVERR from the error queue (a datagram
/// to a port nobody holds any more: ECONNREFUSED, ICMP's port unreachable).
const ERRQUEUE: &str = r#"gone | g = socket(AF_INET, SOCK_DGRAM, 0)
gone | bind(g, 127.0.0.1:0) = 0
gone | getsockname(g, 127.0.0.1:40008, ...) = 0
gone | close(g) = 0
server | s = socket(AF_INET, SOCK_DGRAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | getsockname(s, 127.0.0.1:40006, ...) = 0
server | setsockopt(s, SOL_IP, IP_ORIGDSTADDR, [1], 4) = 0
client | c = socket(AF_INET, SOCK_DGRAM, 0)
client | setsockopt(c, SOL_IP, IP_RECVERR, [1], 4) = 0
client | sendto(c, "hello", 5, 0, 127.0.0.1:40006, 16) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hello", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=32, cmsg_level=SOL_IP, cmsg_type=IP_ORIGDSTADDR, cmsg_data=127.0.0.1:40006}], msg_controllen=64 => 32, msg_flags=0}, 0) = 5
client | connect(c, 127.0.0.1:40008, 16) = 0
client | sendto(c, "x", 1, 0, NULL, 0) = 1
client | recvmsg(c, {msg_name=..., msg_iov=[{iov_base="x", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=48, cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=111, ee_origin=2, ee_type=3, ee_code=3, ee_info=0, ee_data=0, offender={sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}}}], msg_controllen=64 => 48, msg_flags=MSG_ERRQUEUE}, MSG_ERRQUEUE) = 1
server | close(s) = 0
client | close(c) = 0
"#;

/// A line's sendmsg/recvmsg call, without `ACTOR | [pid N] ` (socklab's)
/// or `PID ` (strace -f -o's) and strace's padding before ` = `.
fn msg_call(line: &str) -> Option<String> {
    let start = line.find("sendmsg(").or_else(|| line.find("recvmsg("))?;
    Some(
        line[start..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Run `text` under `strace -f`: socklab's sendmsg and recvmsg lines
/// equal strace's for the same run, in each task's order.
fn same_as_strace(text: &str, name: &str) {
    let dir = TempDir::new("cmsg");
    let file = dir.path(&format!("{name}.script"));
    std::fs::write(&file, text).unwrap();
    let st = dir.path("strace.out");
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "signal=none",
        "-e",
        "trace=sendmsg,recvmsg",
        "-o",
    ])
    .arg(&st)
    .arg(bin())
    .args(["script", &file]);
    let out = run(cmd, b"");
    out.assert_ok();
    let mut ours: Vec<String> = out.stdout.lines().filter_map(msg_call).collect();
    let mut theirs: Vec<String> = std::fs::read_to_string(&st)
        .unwrap()
        .lines()
        .filter_map(msg_call)
        .collect();
    assert!(ours.len() >= 2, "{name}: {}", out.dump());
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{name}: socklab (left) vs strace -f (right)");
}

#[test]
fn ip_ancillary_data_prints_as_strace() {
    if !have("strace") {
        return;
    }
    same_as_strace(IP, "ip");
    same_as_strace(V6, "ipv6");
    same_as_strace(ERRQUEUE, "errqueue");
}

/// The recorded cmsgs are expectations: a value that differs fails the
/// line (exit 1, the line and both values); `...` accepts any.
#[test]
fn ip_ancillary_data_replays_as_expectations() {
    let ok = super::script(IP, &[]);
    ok.assert_ok();
    for line in [
        "cmsg_type=IP_TOS, cmsg_data=[0x10]}",
        "cmsg_type=IP_TTL, cmsg_data=[7]}",
        "ipi_ifindex=if_nametoindex(\"lo\"), ipi_spec_dst=inet_addr(\"127.0.0.1\")",
    ] {
        assert!(ok.stdout.contains(line), "{line}\n{}", ok.stdout);
    }
    let wrong = IP.replacen(
        "cmsg_type=IP_TOS, cmsg_data=[0x10]}], msg_controllen=128",
        "cmsg_type=IP_TOS, cmsg_data=[0x20]}], msg_controllen=128",
        1,
    );
    assert_ne!(wrong, IP);
    let o = super::script(&wrong, &[]);
    o.assert_code(1);
    assert!(o.stderr.contains("cmsg_data=[32]"), "{}", o.dump());
    let ttl = IP.replacen(
        "cmsg_type=IP_TTL, cmsg_data=[64]",
        "cmsg_type=IP_TTL, cmsg_data=[63]",
        1,
    );
    super::script(&ttl, &[]).assert_code(1);
    let any = IP.replacen(
        "cmsg_type=IP_TTL, cmsg_data=[64]",
        "cmsg_type=IP_TTL, cmsg_data=...",
        1,
    );
    super::script(&any, &[]).assert_ok();
}

/// The C twin and the Python twin send and receive the same cmsgs (the
/// C twin's trace replays as a script); so does the IPv6 script's.
#[test]
fn emit_twins_send_ip_ancillary_data() {
    let dir = TempDir::new("emit-ipcmsg");
    for (name, text) in [("ip", IP), ("ipv6", V6)] {
        let file = dir.path(&format!("{name}.script"));
        std::fs::write(&file, text).unwrap();
        c_twin_with(&file, name, true);
        python_twin(&file, name);
    }
}
