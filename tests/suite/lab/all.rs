//! `socklab lab all`: every lab in turn, then the summary.

use crate::harness::{run_within, socklab};

/// Every lab in turn (the network labs take ~20 s of it), each under its
/// own 20 s watchdog: longer than the harness's one-process watchdog.
const LAB_ALL: std::time::Duration = std::time::Duration::from_secs(90);

#[test]
fn lab_all_passes_and_ends_with_the_summary() {
    let o = run_within(socklab(&["lab", "all"]), b"", LAB_ALL);
    o.assert_ok();
    o.stdout_has("== summary ==")
        .stdout_has("37 of 37 labs passed");
    assert!(!o.stdout.contains("FAIL"), "{}", o.dump());
}

#[test]
fn lab_all_json_is_json_lines_only() {
    let o = run_within(socklab(&["lab", "all", "--json"]), b"", LAB_ALL);
    o.assert_ok();
    for line in o.stdout.lines() {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    }
    assert_eq!(o.stdout.matches(r#""event":"verdict""#).count(), 37);
    o.stdout_has(r#""event":"summary","passed":37,"total":37"#)
        .stdout_has(r#""event":"say","side":"server""#);
    // SAFETY: geteuid only reads the process's effective uid.
    if unsafe { libc::geteuid() } == 0 {
        // As root, the unix-family lab connects as user nobody in a child.
        o.stdout_has(r#""side":"nobody","call":"connect""#);
    }
}
