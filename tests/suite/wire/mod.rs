//! `--wire` and `--pcap`: the program's packets beside its syscalls
//! (src/wire/). Capturing needs CAP_NET_RAW: these tests run as root (as
//! `make test` does in CI); elsewhere they say they skip, and under
//! CI=true a missing privilege is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capture;
mod labs;
mod order;
mod records;

use crate::harness::{Outcome, Server, TempDir, bound_tcp, have, run, socklab};

pub(crate) fn can_capture() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "capturing needs root; under CI that is a failure"
        );
        eprintln!("SKIPPED: capturing needs root or CAP_NET_RAW");
    }
    root
}

/// The index of the first stderr line containing every one of `parts`.
fn line_of(o: &Outcome, parts: &[&str]) -> usize {
    o.stderr
        .lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?}\n{}", o.dump()))
}

/// The packet lines of a timeline, without the `  wire: ` mark and the
/// payload bytes socklab adds after `length N`.
fn wire_lines(o: &Outcome) -> Vec<String> {
    o.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  wire: "))
        .map(|l| match l.find(": \"") {
            Some(at) if l[..at].contains("length") => l[..at].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// `tcpdump -r FILE -nn`, each line without its timestamp and TCP options.
fn tcpdump_lines(pcap: &str) -> Vec<String> {
    let out = run(
        {
            let mut c = std::process::Command::new("tcpdump");
            c.args(["-r", pcap, "-nn"]);
            c
        },
        b"",
    );
    out.assert_ok();
    out.stdout
        .lines()
        .map(|l| {
            let l = l.split_once(' ').map_or(l, |(_, rest)| rest);
            match (l.find(", options ["), l.find("], length")) {
                (Some(a), Some(b)) if b > a => format!("{}{}", &l[..a], &l[b + 1..]),
                _ => l.to_string(),
            }
        })
        .collect()
}
