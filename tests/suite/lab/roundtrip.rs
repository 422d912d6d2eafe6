//! Issue 14's round trip: every lab's timeline, written by `socklab lab
//! NAME --record FILE` and fed back to `socklab script FILE`, exits 0 and
//! makes the same calls, normalised as `make compare` normalises traces
//! (fds, ports, pointers, autobind names: `harness::cmp::timeline_calls`).
//! The exceptions are listed in [`EXCEPTIONS`] with their reason, and each
//! is checked to fail for that reason only. The labs on the lab network
//! replay on a network of their own: `roundtrip_net.rs`.

use crate::harness::cmp::timeline_calls;
use crate::harness::{Outcome, TempDir, run, socklab};

/// A lab's recorded calls, and its replay (with its calls).
struct Trip {
    recorded: Vec<String>,
    replayed: Vec<String>,
    replay: Outcome,
}

fn trip(name: &str) -> Trip {
    let dir = TempDir::new("roundtrip");
    let file = dir.path(&format!("{name}.script"));
    let lab = run(socklab(&["lab", name, "--record", &file]), b"");
    lab.assert_ok();
    let text = std::fs::read_to_string(&file).unwrap();
    let replay = run(socklab(&["script", &file]), b"");
    Trip {
        recorded: timeline_calls(&text),
        replayed: timeline_calls(&replay.stdout),
        replay,
    }
}

fn same_calls(name: &str) {
    let t = trip(name);
    t.replay.assert_ok();
    assert!(t.recorded.len() > 3, "{name}: {:?}", t.recorded);
    assert_eq!(
        t.recorded,
        t.replayed,
        "{name}: the replay's calls differ\n{}",
        crate::harness::cmp::side_by_side(&t.recorded, &t.replayed)
    );
}

macro_rules! round_trips {
    ($($test:ident: $name:literal,)*) => {
        /// The labs whose replay makes the same calls.
        const SAME: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                same_calls($name);
            }
        )*
    };
}

round_trips! {
    roundtrip_phone_call: "phone-call",
    roundtrip_comm_loop: "comm-loop",
    roundtrip_empty_send: "empty-send",
    roundtrip_peer_close: "peer-close",
    roundtrip_serial_accept: "serial-accept",
    roundtrip_udp_concurrent: "udp-concurrent",
    roundtrip_time_wait: "time-wait",
    roundtrip_sticky_packets: "sticky-packets",
    roundtrip_connect_ex: "connect-ex",
    roundtrip_blocking_modes: "blocking-modes",
    roundtrip_backlog: "backlog",
    roundtrip_reuseport: "reuseport",
    roundtrip_half_close: "half-close",
    roundtrip_rst: "rst",
    roundtrip_udp_refused: "udp-refused",
    roundtrip_connect_twice: "connect-twice",
    roundtrip_accept_without_listen: "accept-without-listen",
    roundtrip_listen_without_bind: "listen-without-bind",
    roundtrip_self_connect: "self-connect",
    roundtrip_send_after_shut_wr: "send-after-shut-wr",
    roundtrip_recv_after_shut_rd: "recv-after-shut-rd",
    roundtrip_close_vs_blocked_accept: "close-vs-blocked-accept",
    roundtrip_peek_waitall: "peek-waitall",
    roundtrip_socketpair_rights: "socketpair-rights",
    roundtrip_nagle_stall: "nagle-stall",
    roundtrip_sigpipe: "sigpipe",
    roundtrip_partial_send: "partial-send",
}

/// The labs with a round-trip test of their own below (the same calls,
/// once what is random in them is set aside).
const SAME_BUT_RANDOM: &[&str] = &["unix-family"];

/// The labs whose timeline does not replay with the same calls, and why.
/// Each has its own test below, which checks that the replay differs for
/// that reason only.
const EXCEPTIONS: &[(&str, &str)] = &[(
    "uring",
    "its sides are child processes (socklab servers under strace, socklab \
         bench), counted from their own traces: the lab process makes no \
         call, its timeline is `#` notes only, and the replay makes none",
)];

#[test]
fn roundtrip_covers_every_lab() {
    let o = run(socklab(&["lab", "list"]), b"");
    o.assert_ok();
    let mut listed: Vec<&str> = o
        .stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut ours: Vec<&str> = SAME.to_vec();
    ours.extend(super::roundtrip_net::NET_SAME);
    ours.extend(SAME_BUT_RANDOM);
    ours.extend(EXCEPTIONS.iter().map(|(n, _)| *n));
    listed.sort_unstable();
    ours.sort_unstable();
    assert_eq!(listed, ours, "a lab without a round trip\n{}", o.dump());
}

/// unix-family (a script lab: its directory made by its own mkdirat and
/// removed by its own unlinkat, the permission check in a fork that gives
/// up root): the same calls, getrandom's bytes aside (random, no
/// expectation); neither the lab nor the replay leaves its directory (the
/// replay's mkdirat of the recorded name would fail with EEXIST).
#[test]
fn roundtrip_unix_family() {
    let t = trip("unix-family");
    t.replay.assert_ok();
    let bytes = |l: &String| match l.split_once("getrandom(\"") {
        Some((head, tail)) => format!(
            "{head}getrandom(...{}",
            &tail[tail.find("\",").unwrap_or(0)..]
        ),
        None => l.clone(),
    };
    let recorded: Vec<String> = t.recorded.iter().map(bytes).collect();
    let replayed: Vec<String> = t.replayed.iter().map(bytes).collect();
    assert!(recorded.len() > 40, "{recorded:?}");
    assert_eq!(
        recorded,
        replayed,
        "the replay's calls differ\n{}",
        crate::harness::cmp::side_by_side(&recorded, &replayed)
    );
    for want in [
        // (the normaliser takes their first argument for an fd)
        "nobody | setgroups(",
        "nobody | setuid(",
        "= -1 EACCES (Permission denied)",
        "unlinkat(",
    ] {
        assert!(
            replayed.iter().any(|l| l.contains(want)),
            "{want}\n{replayed:#?}"
        );
    }
    let raw = |call: &str| {
        t.replay
            .stdout
            .lines()
            .find_map(|l| l.split(call).nth(1))
            .and_then(|l| l.split('"').nth(1))
            .map(str::to_string)
    };
    let dir = raw("openat(AT_FDCWD, ")
        .zip(raw("mkdirat("))
        .map(|(base, name)| std::path::Path::new(&base).join(name));
    assert!(dir.is_some_and(|d| !d.exists()), "{}", t.replay.dump());
}

/// uring: the record holds notes only (no call), and its replay exits 0
/// making none.
#[test]
fn roundtrip_uring_has_no_calls_to_replay() {
    let t = trip("uring");
    t.replay.assert_ok();
    assert!(t.recorded.is_empty(), "{:?}", t.recorded);
    assert!(t.replayed.is_empty(), "{:?}", t.replayed);
}
