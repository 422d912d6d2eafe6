//! `socklab lab all`: every lab in turn, then the summary; `lab list` as the README shows it.

use crate::harness::{run, run_within, socklab};

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

/// The README's `$ socklab lab list` block is what it prints now, and its
/// `socklab lab all` line counts every lab.
#[test]
fn lab_list_is_the_readmes_list() {
    let readme = include_str!("../../../README.md");
    let from = "$ socklab lab list\n";
    let at = readme.find(from).expect("README: no `$ socklab lab list`") + from.len();
    let shown = readme[at..].split("```").next().unwrap_or_default();
    let o = run(socklab(&["lab", "list"]), b"");
    o.assert_ok();
    assert_eq!(
        o.stdout, shown,
        "README.md's lab list is not `socklab lab list`"
    );
    let labs = o.stdout.lines().filter(|l| l.contains("  ")).count();
    assert!(
        readme.contains(&format!("socklab lab all              # all {labs}, ")),
        "README.md's `socklab lab all` line does not say {labs}"
    );
}
