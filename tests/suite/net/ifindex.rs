//! A lab host's interface index as `strace -f` prints it (issue 15):
//! strace names an index with if_indextoname in its own (the root)
//! namespace. A host's eth0 is made in the root and moved into the host
//! (src/net/forward.rs), so it keeps an index the root no longer has:
//! strace prints the number, and so does socklab. Made inside the host,
//! it was index 2 there, which strace named after the root's index 2
//! (`if_nametoindex("ifb0")` on the test machine) where socklab printed 2.

use std::process::Command;

use super::{Net, can_run};
use crate::harness::*;

/// IP_PKTINFO across the link: host a's recvmsg reports the index of
/// the interface the datagram came in by, its eth0.
const PKTINFO: &str = r#"server@a | s = socket(AF_INET, SOCK_DGRAM, 0)
server@a | bind(s, 192.0.2.1:0) = 0
server@a | getsockname(s, 192.0.2.1:40006, ...) = 0
server@a | setsockopt(s, SOL_IP, IP_PKTINFO, [1], 4) = 0
client@b | c = socket(AF_INET, SOCK_DGRAM, 0)
client@b | sendto(c, "hello", 5, 0, 192.0.2.1:40006, 16) = 5
server@a | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hello", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_IP, cmsg_type=IP_PKTINFO, cmsg_data=...}], msg_controllen=128 => 32, msg_flags=0}, 0) = 5
server@a | close(s) = 0
client@b | close(c) = 0
"#;

/// A line's recvmsg call, without socklab's `ACTOR | [pid N] ` or
/// strace -f -o's `PID `, and strace's padding before ` = `.
fn recvmsg_call(line: &str) -> Option<String> {
    let start = line.find("recvmsg(")?;
    Some(
        line[start..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The interfaces' indexes `ip -o link` lists (in namespace `ns`, or
/// the root's).
fn indexes(ns: Option<&str>) -> Vec<(u32, String)> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(["-o", "link", "show"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split(": ");
            let index = f.next()?.trim().parse().ok()?;
            let name = f.next()?.split('@').next()?.to_string();
            Some((index, name))
        })
        .collect()
}

#[test]
fn a_lab_hosts_ifindex_prints_as_strace_in_the_root_prints_it() {
    if !can_run() || !have("strace") {
        return;
    }
    let net = Net::new("t-ifx");
    net.cmd(&["up"]).assert_ok();
    let file = net.dir.path("pktinfo.script");
    std::fs::write(&file, PKTINFO).unwrap();
    let st = net.dir.path("strace.out");
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "signal=none",
        "-e",
        "trace=recvmsg",
        "-o",
    ])
    .arg(&st)
    .arg(bin())
    .args(["script", &file, "--net", &net.name]);
    let out = run(cmd, b"");
    out.assert_ok();
    let ours: Vec<String> = out.stdout.lines().filter_map(recvmsg_call).collect();
    let theirs: Vec<String> = std::fs::read_to_string(&st)
        .unwrap()
        .lines()
        .filter_map(recvmsg_call)
        .collect();
    assert_eq!(ours.len(), 1, "{}", out.dump());
    assert_eq!(ours, theirs, "socklab (left) vs strace -f (right)");
    // The index is host a's eth0's, and no interface of the root's.
    let eth0 = indexes(Some(&format!("{}-a", net.name)))
        .into_iter()
        .find(|(_, name)| name == "eth0")
        .map(|(i, _)| i)
        .unwrap();
    assert!(
        ours[0].contains(&format!("cmsg_data={{ipi_ifindex={eth0}, ipi_spec_dst=")),
        "{}",
        ours[0]
    );
    let root = indexes(None);
    assert!(
        root.iter().all(|(i, _)| *i != eth0),
        "root has {eth0}: {root:?}"
    );
    net.cmd(&["down"]).assert_ok();
    net.assert_gone();
}
