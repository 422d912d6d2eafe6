//! Usage errors the programs find before their first socket call: the
//! same on both sides (exit 2, nothing on stdout, no socket call).

use crate::harness::{self, cmp};

/// A `--sockopt` whose phase the program never reaches is a usage error on
/// both sides: exit 2, nothing on stdout, the option named on stderr, and
/// not one socket call (strace sees none).
#[test]
fn sockopt_phase_never_reached_is_a_usage_error() {
    if !harness::have("strace") {
        return;
    }
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "tcp_client",
            &["--sockopt", "SO_RCVBUF=4096@accepted"],
            "SO_RCVBUF@accepted",
        ),
        (
            "tcp_server",
            &["--sockopt", "SO_SNDBUF=4096@connected"],
            "SO_SNDBUF@connected",
        ),
        (
            "udp_server",
            &["--sockopt", "IP_TOS=16@accepted"],
            "IP_TOS@accepted",
        ),
        (
            "udp_server",
            &["--sockopt", "IP_TOS=16@connected"],
            "IP_TOS@connected",
        ),
        (
            "udp_client",
            &["--sockopt", "IP_TOS=16@connected"],
            "IP_TOS@connected",
        ),
        (
            "udp_client",
            &["--connect", "--sockopt", "IP_TOS=16@accepted"],
            "IP_TOS@accepted",
        ),
        (
            "unix_server",
            &["@x", "--dgram", "--sockopt", "SO_SNDBUF=4096@accepted"],
            "SO_SNDBUF@accepted",
        ),
        (
            "unix_client",
            &["@x", "--dgram", "--sockopt", "SO_SNDBUF=4096@connected"],
            "SO_SNDBUF@connected",
        ),
    ];
    let dir = harness::TempDir::new("phase");
    for (i, (prog, args, named)) in cases.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        for side in [cmp::Side::Rust, cmp::Side::C] {
            let trace = dir.dir().join(format!("{i}-{}.trace", side.name()));
            let out = harness::run(cmp::traced(side, prog, &args, &trace), b"");
            let what = format!("{} {prog} {args:?}\n{}", side.name(), out.dump());
            assert_eq!(out.code(), Some(2), "exit code: {what}");
            assert!(out.stdout.is_empty(), "stdout: {what}");
            assert!(
                out.stderr.contains(&format!("--sockopt {named}:")),
                "{what}"
            );
            let calls: Vec<String> = std::fs::read_to_string(&trace)
                .unwrap()
                .lines()
                .map(|l| {
                    l.split_once(' ')
                        .map_or(l, |(_, call)| call.trim_start())
                        .to_string()
                })
                .filter(|l| cmp::is_program_call(l))
                .collect();
            assert!(calls.is_empty(), "socket calls {calls:?}: {what}");
        }
    }
}

/// A timeout below 1 ms (poll counts milliseconds) is a usage error on both
/// sides: exit 2, nothing on stdout, and not one socket call.
#[test]
fn timeout_below_a_millisecond_is_a_usage_error() {
    if !harness::have("strace") {
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        ("tcp_client", &["--timeout", "0.0009"]),
        ("tcp_server", &["--rcvtimeo", "0.0001"]),
        ("udp_client", &["--sndtimeo", "0"]),
        ("unix_server", &["@x", "--timeout", "1e-4"]),
    ];
    let dir = harness::TempDir::new("secs");
    for (i, (prog, args)) in cases.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        for side in [cmp::Side::Rust, cmp::Side::C] {
            let trace = dir.dir().join(format!("{i}-{}.trace", side.name()));
            let out = harness::run(cmp::traced(side, prog, &args, &trace), b"");
            let what = format!("{} {prog} {args:?}\n{}", side.name(), out.dump());
            assert_eq!(out.code(), Some(2), "exit code: {what}");
            assert!(out.stdout.is_empty(), "stdout: {what}");
            assert!(out.stderr.contains("0.001 to 1000000)"), "{what}");
            let calls: Vec<String> = std::fs::read_to_string(&trace)
                .unwrap()
                .lines()
                .map(|l| {
                    l.split_once(' ')
                        .map_or(l, |(_, call)| call.trim_start())
                        .to_string()
                })
                .filter(|l| cmp::is_program_call(l))
                .collect();
            assert!(calls.is_empty(), "socket calls {calls:?}: {what}");
        }
    }
}
