//! The labs on the lab network (src/lab/network.rs, dead_peer.rs,
//! link_capacity.rs): each run with `--wire`, so the link's own lines
//! (`  link | b>a IP ...  [dropped (blackhole)]`) are checked beside the
//! calls. They need root (under CI a missing capability is a failure).

use super::line_with;
use crate::harness::{Outcome, run, socklab};

/// Root, or skip (a failure under CI).
fn can_run() -> bool {
    // SAFETY: geteuid only reads the process's effective uid.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the network labs need root; under CI a missing capability is a failure"
    );
    eprintln!("SKIPPED: the network labs need root");
    false
}

/// `socklab --wire lab NAME`: exit 0, its verdict PASS.
fn wire_lab(name: &str) -> Outcome {
    let o = run(socklab(&["--wire", "lab", name]), b"").without_tasks();
    o.assert_ok();
    let last = o.stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with(&format!("lab {name}: observed ")) && last.ends_with(": PASS"),
        "verdict line\n{}",
        o.dump()
    );
    o
}

/// The link's lines holding every fragment.
fn link_lines(o: &Outcome, parts: &[&str]) -> usize {
    o.stdout
        .lines()
        .filter(|l| l.starts_with("  link | ") && parts.iter().all(|p| l.contains(p)))
        .count()
}

#[test]
fn lab_syn_timeout_three_syns_then_etimedout() {
    if !can_run() {
        return;
    }
    let o = wire_lab("syn-timeout");
    line_with(
        &o,
        &[
            "client@b | connect(",
            "= -1 ETIMEDOUT (Connection timed out)",
        ],
    );
    o.stdout_has("net.ipv4.tcp_syn_retries=2")
        .stdout_has("; 3 SYNs swallowed");
    let syns = link_lines(
        &o,
        &["b>a IP 192.0.2.2.", "Flags [S]", "[dropped (blackhole)]"],
    );
    assert_eq!(syns, 3, "{}", o.dump());
}

#[test]
fn lab_rto_backoff_doubles_until_the_user_timeout() {
    if !can_run() {
        return;
    }
    let o = wire_lab("rto-backoff");
    line_with(
        &o,
        &[
            "client@b | setsockopt(",
            ", SOL_TCP, TCP_USER_TIMEOUT, [3000], 4) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | recvfrom(",
            "= -1 ETIMEDOUT (Connection timed out)",
        ],
    );
    for k in 1..=4 {
        o.stdout_has(&format!("; TCP_INFO: tcpi_backoff={k}, tcpi_rto="));
    }
    o.stdout_has("tcp_early_retrans=0");
    // The data, then each retransmission of it, swallowed by the link.
    let sent = link_lines(
        &o,
        &["b>a ", "length 5: \"hello\"", "[dropped (blackhole)]"],
    );
    assert!(sent >= 5, "{sent} data packets on the link\n{}", o.dump());
}

#[test]
fn lab_keepalive_two_probes_then_etimedout() {
    if !can_run() {
        return;
    }
    let o = wire_lab("keepalive");
    for opt in [
        "SOL_SOCKET, SO_KEEPALIVE, [1]",
        "SOL_TCP, TCP_KEEPIDLE, [1]",
        "SOL_TCP, TCP_KEEPINTVL, [1]",
        "SOL_TCP, TCP_KEEPCNT, [2]",
    ] {
        line_with(&o, &["client@b | setsockopt(", opt]);
    }
    line_with(
        &o,
        &[
            "client@b | recvfrom(",
            "= -1 ETIMEDOUT (Connection timed out)",
        ],
    );
    o.stdout_has("keepalive probe 2 unanswered");
    // The probes: empty ACKs from b, lost with the link; then b's RST.
    let probes = link_lines(
        &o,
        &[
            "b>a IP",
            "Flags [.], ack",
            "length 0  [dropped (link down)]",
        ],
    );
    assert_eq!(probes, 2, "{}", o.dump());
    assert_eq!(link_lines(&o, &["b>a IP", "Flags [R.]"]), 1, "{}", o.dump());
}

#[test]
fn lab_pmtu_lowers_the_mss_and_refuses_a_big_datagram() {
    if !can_run() {
        return;
    }
    let o = wire_lab("pmtu");
    // The handshake with the router's ICMP: the 4000 bytes all arrive
    // (one traced recv, so a replay of the record waits for them too)
    // only after the client's path MTU was lowered.
    line_with(
        &o,
        &[
            "server@a | recvfrom(",
            ", 4000, MSG_WAITALL, NULL, NULL) = 4000",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | getsockopt(",
            ", SOL_IP, IP_MTU, [1500], [4]) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | getsockopt(",
            ", SOL_IP, IP_MTU, [1280], [4]) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | getsockopt(",
            ", SOL_TCP, TCP_MAXSEG, [1448], [4]) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | getsockopt(",
            ", SOL_TCP, TCP_MAXSEG, [1228], [4]) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | setsockopt(",
            ", SOL_IP, IP_MTU_DISCOVER, [2], 4) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "client@b | sendto(",
            ", 1400, 0, NULL, 0) = -1 EMSGSIZE (Message too long)",
        ],
    );
    line_with(&o, &["server@a | recvfrom(", "= 1200"]);
    assert!(
        link_lines(&o, &["length 1448", "[dropped (mtu 1280), ICMP sent back]"]) >= 1,
        "{}",
        o.dump()
    );
    assert!(
        link_lines(&o, &["need to frag (mtu 1280)", "[from the link's router]"]) >= 1,
        "{}",
        o.dump()
    );
    assert!(
        link_lines(&o, &["b>a IP", "length 1228"]) >= 1,
        "{}",
        o.dump()
    );
}

#[test]
fn lab_slow_start_doubles_the_window_each_round_trip() {
    if !can_run() {
        return;
    }
    let o = wire_lab("slow-start");
    o.stdout_has("round 1: TCP_INFO tcpi_snd_cwnd=10 ")
        .stdout_has("tcp_congestion_control=reno");
    line_with(
        &o,
        &[
            "client@b | setsockopt(",
            ", SOL_SOCKET, SO_SNDBUF, [1048576], 4) = 0",
        ],
    );
    // Each round is cwnd x MSS bytes in one send, and a 1-byte answer.
    assert_eq!(
        o.stdout.matches("server@a | sendto(").count(),
        4,
        "{}",
        o.dump()
    );
    line_with(
        &o,
        &["observed tcpi_snd_cwnd 10, ", " after each round trip"],
    );
}

/// A lab killed with SIGKILL cannot take its network down (`lab<PID>`,
/// namespaces and forwarder); the next lab on the lab network finds its
/// lab process gone, stops the forwarder and removes the rest, and says so
/// (another test's lab, running beside this one, may be the one).
#[test]
fn lab_network_a_killed_lab_left_is_removed_by_the_next_lab() {
    if !can_run() {
        return;
    }
    let mut killed = socklab(&["lab", "syn-timeout"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let name = format!("lab{}", killed.id());
    let forwarder_ctl = format!("/run/socklab/{name}/ctl");
    let deadline = std::time::Instant::now() + crate::harness::WATCHDOG;
    while !std::path::Path::new(&forwarder_ctl).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{forwarder_ctl} never appeared"
        );
        std::thread::yield_now();
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let ns = format!("/run/netns/{name}-a");
    assert!(std::path::Path::new(&ns).exists(), "{ns}: left by the kill");
    let o = run(socklab(&["lab", "pmtu"]), b"").without_tasks();
    o.assert_ok();
    let said = format!("socklab: network '{name}' was left by lab process ");
    if let Some(line) = o.stderr.lines().find(|l| l.starts_with(&said)) {
        let pid = name.trim_start_matches("lab");
        assert!(
            line.starts_with(&format!("{said}{pid}, which is gone: removed ")),
            "{}",
            o.dump()
        );
    }
    assert!(
        !std::path::Path::new(&ns).exists(),
        "{ns} is still there\n{}",
        o.dump()
    );
    assert!(!std::path::Path::new(&format!("/run/socklab/{name}")).exists());
}
