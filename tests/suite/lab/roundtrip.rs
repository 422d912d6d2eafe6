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

/// The labs whose timeline does not replay with the same calls, and why.
/// Each has its own test below, which checks that the replay differs for
/// that reason only.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "unix-family",
        "its file calls replay (openat, getrandom, mkdirat, newfstatat, \
         fchmod, fchmodat, unlink), but it connects as user nobody in a \
         child started by std::process::Command (its setgid, setgroups, \
         setuid are not on the timeline): the `nobody |` lines replay in a \
         thread of a root process, which the file's mode 000 does not stop \
         (connect = 0, not EACCES): exit 1 at that line, the calls before \
         it the same",
    ),
    (
        "uring",
        "its sides are child processes (socklab servers under strace, socklab \
         bench), counted from their own traces: the lab process makes no \
         call, its timeline is `#` notes only, and the replay makes none",
    ),
];

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
    ours.extend(EXCEPTIONS.iter().map(|(n, _)| *n));
    listed.sort_unstable();
    ours.sort_unstable();
    assert_eq!(listed, ours, "a lab without a round trip\n{}", o.dump());
}

/// unix-family: its file calls replay; it fails (exit 1) at the first
/// `nobody |` connect, which as a thread of a root process is exempt from
/// the socket file's mode 000 (connect = 0, not EACCES), every call
/// before it the same.
#[test]
fn roundtrip_unix_family_differs_only_at_the_nobody_connect() {
    let t = trip("unix-family");
    // The replay made the lab's directory again (mkdirat, by the name
    // recorded); the end removed its socket file; the test removes the
    // empty directory it made.
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
    // Moved into a directory of the test's own, removed with it.
    let keep = TempDir::new("roundtrip-unix");
    if let Some(dir) = &dir {
        let _ = std::fs::rename(dir, keep.path("replayed"));
    }
    t.replay
        .assert_code(1)
        .stderr_has("nobody | connect(3, {sa_family=AF_UNIX, sun_path=");
    t.replay.stderr_has("  expected result: = -1 EACCES");
    // getrandom's bytes are random (no expectation): not compared.
    let bytes = |l: &str| match l.split_once("getrandom(\"") {
        Some((head, tail)) => format!(
            "{head}getrandom(...{}",
            &tail[tail.find("\",").unwrap_or(0)..]
        ),
        None => l.to_string(),
    };
    let i = t
        .recorded
        .iter()
        .zip(&t.replayed)
        .position(|(a, b)| bytes(a) != bytes(b))
        .unwrap_or_else(|| panic!("no differing call\n{}", t.replay.dump()));
    let want = &t.recorded[i];
    assert!(
        want.starts_with("nobody | connect(") && want.ends_with("= -1 EACCES (Permission denied)"),
        "the replay differs at another call:\n{want}\n{}\n{}",
        t.replayed[i],
        t.replay.dump()
    );
    assert!(t.recorded.len() > 20, "{:?}", t.recorded);
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
