//! `socklab sockopt list` (src/programs/sockopt_list.rs) against its C twin
//! `c_compat/checkopts.c`: for every socket type, alone and all together,
//! the same table on stdout and the same syscalls (socket, one getsockopt
//! per option that applies, close) under the differential normaliser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::harness;
use crate::harness::cmp;

use crate::harness::cmp::{Scenario, Side, step};

const KINDS: [&str; 6] = ["tcp", "udp", "tcp6", "udp6", "unix", "unix-dgram"];

/// Rust and C list `kinds` (all types when empty): the same stdout, exit 0.
fn same_stdout(kinds: &[&str]) -> String {
    let args: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let rust = harness::run(cmp::program(Side::Rust, "checkopts", &args), b"");
    let c = harness::run(cmp::program(Side::C, "checkopts", &args), b"");
    let what = format!(
        "sockopt list {kinds:?}\n--- Rust ---\n{}\n--- C ---\n{}",
        rust.dump(),
        c.dump()
    );
    assert_eq!(rust.code(), Some(0), "{what}");
    assert_eq!(c.code(), Some(0), "{what}");
    assert_eq!(rust.stdout, c.stdout, "{what}");
    rust.stdout
}

#[test]
fn checkopts_stdout_equals_socklab_for_each_type() {
    for kind in KINDS {
        let out = same_stdout(&[kind]);
        assert!(
            out.starts_with(&format!("{kind}: defaults on a fresh socket\n")),
            "{out}"
        );
        assert!(out.contains("  SO_TYPE "), "{out}");
    }
}

#[test]
fn checkopts_stdout_equals_socklab_for_all_types() {
    let all = same_stdout(&[]);
    assert_eq!(all, same_stdout(&KINDS), "no argument means every type");
    // One table per type, a blank line between two.
    assert_eq!(all.matches("defaults on a fresh socket").count(), 6);
    assert_eq!(all.matches("\n\n").count(), 5);
    // Options that apply only to some types appear only there.
    assert_eq!(all.matches("  TCP_NODELAY ").count(), 2);
    assert_eq!(all.matches("  IP_TTL ").count(), 2);
    assert_eq!(all.matches("  IPV6_V6ONLY ").count(), 2);
}

#[test]
fn checkopts_a_type_twice_and_in_any_order() {
    same_stdout(&["unix-dgram", "tcp", "unix-dgram"]);
}

#[test]
fn checkopts_unknown_type_is_a_usage_error_on_both_sides() {
    for side in [Side::Rust, Side::C] {
        let out = harness::run(cmp::program(side, "checkopts", &["sctp".to_string()]), b"");
        assert_eq!(out.code(), Some(2), "{}", out.dump());
        assert!(out.stderr.contains("'sctp'"), "{}", out.dump());
        assert_eq!(out.stdout, "", "{}", out.dump());
    }
}

/// The syscalls, under strace: socket, getsockopt per option, close, per
/// type; identical after normalisation.
#[test]
fn checkopts_syscalls_equal_socklab() {
    if !harness::have("strace") {
        return;
    }
    let mut sets: Vec<Vec<&'static str>> = KINDS.iter().map(|k| vec![*k]).collect();
    sets.push(vec![]);
    for kinds in sets {
        let sc = Scenario {
            name: "checkopts",
            server: None,
            steps: vec![step("checkopts", &kinds)],
            signal: None,
        };
        let cmp = cmp::compare(&sc);
        assert!(cmp.identical(), "{kinds:?}\n{}", cmp.dump());
        let trace = &cmp.rust[0].trace;
        let types = if kinds.is_empty() { 6 } else { 1 };
        let count = |call: &str| trace.iter().filter(|l| l.starts_with(call)).count();
        assert_eq!(count("socket("), types, "{}", cmp.dump());
        assert_eq!(count("close("), types, "{}", cmp.dump());
        let rows = cmp.rust[0]
            .stdout
            .lines()
            .filter(|l| l.starts_with("  "))
            .count();
        assert_eq!(
            count("getsockopt("),
            rows,
            "one getsockopt per row\n{}",
            cmp.dump()
        );
        assert_eq!(
            trace.len(),
            2 * types + rows,
            "nothing else\n{}",
            cmp.dump()
        );
    }
}
