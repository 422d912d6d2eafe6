//! The call table (`socklab::values::calls`) has a row for every syscall
//! the programs make: the tests trace and inject what the rows name, so a
//! call with no row would go untraced and uninjected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::process::Command;

use socklab::values::calls;

use crate::harness::{self, TempDir, cmp};

/// `socklab demo` (a TCP, a UDP and a UNIX exchange) under strace with
/// every call traced: each call on a socket or that makes one, and each
/// call the comparison keeps as the program's own, has a row.
#[test]
fn every_call_of_the_demo_has_a_row() {
    if !harness::have("strace") {
        return;
    }
    let dir = TempDir::new("calls-demo");
    let log = dir.path("trace");
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-e", "signal=none", "-y", "-o"])
        .arg(&log)
        .arg(harness::bin())
        .arg("demo");
    harness::run(cmd, b"").assert_ok();
    let raw = std::fs::read_to_string(&log).unwrap();
    let mut seen = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for line in raw.lines() {
        let line = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        // A `<... NAME resumed>` line: its start was seen (threads).
        let Some((name, _)) = line.split_once('(') else {
            continue;
        };
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let on_socket = cmp::is_on_socket(line)
            || line
                .rsplit_once(") = ")
                .is_some_and(|(_, ret)| ret.contains("<socket:["));
        if !(on_socket || cmp::is_program_call(line)) {
            continue;
        }
        match calls::by_name(name) {
            Some(_) => {
                seen.insert(name.to_string());
            }
            None => {
                missing.insert(format!("{name}: {line}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "calls with no row in src/values/calls:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
    println!("the demo's calls, each with a row: {seen:?}");
    for call in ["socket", "bind", "connect", "sendto", "recvfrom", "close"] {
        assert!(seen.contains(call), "the demo makes {call}: {seen:?}");
    }
}

/// The trace set is `%net` and every traced row of sockets, descriptors and
/// files, once each.
#[test]
fn the_trace_set_names_the_tables_rows() {
    let set: Vec<&str> = harness::calls::trace_set().split(',').collect();
    assert_eq!(set[0], "%net");
    for name in &set[1..] {
        assert!(
            calls::by_name(name).is_some_and(|r| r.traced),
            "{name} has no traced row"
        );
    }
    for name in [
        "close", "poll", "ioctl", "unlink", "umask", "openat", "unlinkat",
    ] {
        assert!(set.contains(&name), "{name} not traced: {set:?}");
    }
    let unique: BTreeSet<_> = set.iter().collect();
    assert_eq!(unique.len(), set.len(), "{set:?}");
}
