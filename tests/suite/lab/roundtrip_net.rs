//! The round trip of the labs on the lab network (issue 16 + 14): the
//! lab's record tags each side with the host it ran on (`client@b |`) and
//! says how to bring the network up (`lab | # net: socklab net up
//! --link SPEC --sysctl ...`); the test brings that network up under a
//! name of its own, replays the record with `socklab script --net NAME`
//! (each `NAME@HOST` actor enters its host: openat, setns, close, which
//! are left out of the comparison, as the lab makes them untraced), takes
//! the network down, and compares the calls as the loopback round trips
//! do. They need root: under CI=true its absence fails them.

use std::process::Command;

use crate::harness::cmp::timeline_calls;
use crate::harness::{Outcome, TempDir, bin, run, socklab};

/// A network lab's record, and its replay on the network the record names.
struct NetTrip {
    record: String,
    recorded: Vec<String>,
    replayed: Vec<String>,
    replay: Outcome,
}

/// A lab network of the test's own (the pid in its name: another
/// worktree's suite may run the same test), down on drop.
struct Net(String);

impl Net {
    fn up(key: &str, args: &[String]) -> Net {
        let net = Net(format!("rt{key}{}", std::process::id() % 1_000_000));
        let mut all = vec![
            "net".to_string(),
            "up".into(),
            "--name".into(),
            net.0.clone(),
        ];
        all.extend(args.iter().cloned());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(socklab(&refs), b"").assert_ok();
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .args(["net", "down", "--name", &self.0])
            .output();
    }
}

/// Root, or skip (a failure under CI).
fn root() -> bool {
    // SAFETY: geteuid only reads the process's effective uid.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the lab network needs root; under CI a missing capability is a failure"
    );
    eprintln!("SKIPPED: the lab network needs root");
    false
}

/// The words after `socklab net up` on the record's `# net: ` line
/// (single quotes as a shell reads them).
pub(crate) fn net_up_args(record: &str) -> Vec<String> {
    let line = record
        .lines()
        .find_map(|l| l.split_once("# net: socklab net up").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no '# net: socklab net up' line\n{record}"));
    let (mut words, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, any) = (!quoted, true),
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The replay's timeline without the lines by which its host actors
/// entered their hosts (openat of /run/netns/..., setns, the close of
/// that fd: the lab enters its hosts untraced).
fn without_entries(timeline: &str) -> String {
    let mut entry_fd: Vec<(String, String)> = Vec::new();
    let mut out = String::new();
    for line in timeline.lines() {
        let (tag, call) = line.split_once(" | ").unwrap_or(("", line));
        let tag = tag.trim().to_string();
        if call.starts_with("openat(AT_FDCWD, \"/run/netns/") {
            let fd = call.rsplit_once(" = ").map_or("", |(_, fd)| fd);
            entry_fd.push((tag, format!("close({fd}) = 0")));
            continue;
        }
        if call.starts_with("setns(") {
            continue;
        }
        if let Some(i) = entry_fd.iter().position(|(t, c)| *t == tag && c == call) {
            entry_fd.remove(i);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn net_trip(lab: &str, key: &str) -> NetTrip {
    let dir = TempDir::new("roundtrip-net");
    let file = dir.path(&format!("{lab}.script"));
    run(socklab(&["lab", lab, "--record", &file]), b"").assert_ok();
    let record = std::fs::read_to_string(&file).unwrap();
    let net = Net::up(key, &net_up_args(&record));
    // The lab's own timeouts bound its calls (syn-timeout's connect
    // takes its SYN retries' seconds): the script may wait that long.
    let replay = run(
        socklab(&["script", "--net", &net.0, "--timeout", "20", &file]),
        b"",
    );
    drop(net);
    NetTrip {
        recorded: timeline_calls(&record),
        replayed: timeline_calls(&without_entries(&replay.stdout)),
        record,
        replay,
    }
}

fn same_calls_on_the_net(lab: &str, key: &str) {
    if !root() {
        return;
    }
    let t = net_trip(lab, key);
    t.replay.assert_ok();
    assert!(
        t.recorded
            .iter()
            .any(|c| c.contains("@a | ") || c.contains("@b | ")),
        "{lab}: no side tagged with its host\n{}",
        t.record
    );
    assert_eq!(
        t.recorded,
        t.replayed,
        "{lab}: the replay's calls differ\n{}",
        crate::harness::cmp::side_by_side(&t.recorded, &t.replayed)
    );
    // Each host actor entered its host, as its first lines.
    for host in ["a", "b"] {
        if t.recorded
            .iter()
            .any(|c| c.contains(&format!("@{host} | ")))
        {
            t.replay
                .stdout_has(&format!("@{host} | setns(3, CLONE_NEWNET) = 0"));
        }
    }
}

macro_rules! net_round_trips {
    ($($test:ident: $name:literal $key:literal,)*) => {
        /// The labs on the lab network whose replay makes the same calls.
        pub const NET_SAME: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                same_calls_on_the_net($name, $key);
            }
        )*
    };
}

net_round_trips! {
    roundtrip_syn_timeout: "syn-timeout" "s",
    roundtrip_host_unreachable: "host-unreachable" "h",
    roundtrip_udp_loss: "udp-loss" "u",
    roundtrip_nagle_rtt: "nagle-rtt" "n",
    roundtrip_pmtu: "pmtu" "p",
    roundtrip_slow_start: "slow-start" "w",
    roundtrip_rto_backoff: "rto-backoff" "r",
    roundtrip_keepalive: "keepalive" "k",
}

#[test]
fn roundtrip_net_line_reads_as_a_shell_would() {
    let args = net_up_args(
        "   lab | # net: socklab net up --link 'a>b:loss=5%' --sysctl net.ipv4.tcp_syn_retries=2",
    );
    assert_eq!(
        args,
        [
            "--link",
            "a>b:loss=5%",
            "--sysctl",
            "net.ipv4.tcp_syn_retries=2"
        ]
    );
    let t = without_entries(
        "client@b | openat(AT_FDCWD, \"/run/netns/x-b\", O_RDONLY|O_CLOEXEC) = 3\n\
         client@b | setns(3, CLONE_NEWNET) = 0\n\
         client@b | close(3) = 0\n\
         client@b | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n\
         client@b | close(3) = 0\n",
    );
    assert_eq!(
        t,
        "client@b | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\nclient@b | close(3) = 0\n"
    );
}

/// The labs that change their link mid-run print the script line that
/// does it (`net | set SPEC`), and the replay runs it at the same point.
#[test]
fn roundtrip_link_changes_are_script_lines() {
    if !root() {
        return;
    }
    let t = net_trip("keepalive", "c");
    t.replay.assert_ok();
    let at = |calls: &[String]| calls.iter().position(|c| c == "net | set down");
    let recorded = at(&t.recorded).unwrap_or_else(|| panic!("no 'net | set down'\n{}", t.record));
    assert_eq!(Some(recorded), at(&t.replayed), "{}", t.replay.dump());
    // Right after the server read "hello", before the client's recvfrom.
    assert!(
        t.recorded[recorded - 1].contains("recvfrom(")
            && t.recorded[recorded + 1].contains("recvfrom("),
        "{:?}",
        t.recorded
    );
    // socklab's own calls to the forwarder are named, not hidden.
    t.replay
        .stdout_has("   net | # asked the link's forwarder at /run/socklab/rtc");
}

const CHANGES: &str = "s = socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n\
                       net | set blackhole\n\
                       close(s) = 0\n";

/// Without the network `--net` names, a script with a `net | set` line
/// fails before its first call (exit 1, the hint).
#[test]
fn script_net_set_without_the_network_fails_before_any_call() {
    let dir = TempDir::new("net-set");
    let file = dir.path("changes.script");
    std::fs::write(&file, CHANGES).unwrap();
    let o = run(socklab(&["script", "--net", "nonet18x", &file]), b"");
    o.assert_code(1)
        .stderr_has("the script changes the link of the lab network 'nonet18x', which is not up")
        .stderr_has("hint: bring it up first: socklab net up --name nonet18x");
    assert!(!o.stdout.contains("socket("), "{}", o.dump());
}

/// A `net |` line other than `set SPEC`, or a bad SPEC: a syntax error
/// (exit 2, FILE:LINE:COL, no call made); `--emit` refuses the line.
#[test]
fn script_net_lines_that_are_not_set_spec_are_errors() {
    let dir = TempDir::new("net-set");
    let file = dir.path("bad.script");
    std::fs::write(
        &file,
        "s = socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n\
         net | blackhole\n   net | set colour=red\nnet | set a b\nnet | socket(AF_INET, SOCK_STREAM, 0)\n",
    )
    .unwrap();
    let o = run(socklab(&["script", &file]), b"");
    o.assert_code(2)
        .stderr_has(
            "bad.script:2:7: a 'net | ' line changes the lab network's link: 'net | set SPEC'",
        )
        .stderr_has("bad.script:3:14: bad link SPEC 'colour=red'")
        .stderr_has("bad.script:4:11: one SPEC")
        .stderr_has("bad.script:5:7: a 'net | ' line");
    assert!(!o.stdout.contains("socket("), "{}", o.dump());
    let good = dir.path("good.script");
    std::fs::write(&good, CHANGES).unwrap();
    // A good one is emitted: the forwarder's request (script/emit/link.rs).
    let emitted = run(socklab(&["script", "--emit", "c", &good]), b"");
    emitted.assert_ok();
    assert!(
        emitted.stdout.contains("\t{1, 2, \"blackhole\"},\n"),
        "{}",
        emitted.dump()
    );
    // Bad ones are errors there too.
    run(socklab(&["script", "--emit", "c", &file]), b"")
        .assert_code(2)
        .stderr_has("bad.script:3:14: bad link SPEC 'colour=red'");
}
