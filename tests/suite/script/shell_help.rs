//! The shell's `help CALL`: the errors its man page lists (man 2 CALL,
//! ERRORS), not the few a test injects.

use crate::harness::{self, socklab};

/// `help CALL`'s errors line for each of `calls`, from the shell
/// without a terminal.
fn errors_lines(calls: &[&str]) -> Vec<String> {
    let input: String = calls.iter().map(|c| format!("help {c}\n")).collect();
    let out = harness::run(socklab(&["shell"]), input.as_bytes());
    out.assert_ok();
    let lines: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("  errors (man 2 "))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), calls.len(), "{}", out.dump());
    lines
}

fn names(line: &str) -> Vec<&str> {
    let list = line.split_once("): ").map_or("", |(_, l)| l);
    list.split(", ").collect()
}

#[test]
fn shell_help_accept_lists_einval_and_eagain_from_man_2_accept() {
    // accept on a socket that never listened: EINVAL; non-blocking with
    // no connection: EAGAIN (EWOULDBLOCK, the same on Linux, not twice).
    for line in errors_lines(&["accept", "accept4"]) {
        assert!(
            line.starts_with("  errors (man 2 accept): EAGAIN, EBADF, "),
            "{line}"
        );
        let names = names(&line);
        assert!(names.contains(&"EINVAL"), "{line}");
        assert!(!names.contains(&"EWOULDBLOCK"), "{line}");
    }
}

#[test]
fn shell_help_connect_lists_eisconn_ealready_einprogress() {
    let lines = errors_lines(&["connect"]);
    let names = names(&lines[0]);
    for e in ["EISCONN", "EALREADY", "EINPROGRESS", "ECONNREFUSED"] {
        assert!(names.contains(&e), "{e}: {}", lines[0]);
    }
}

#[test]
fn shell_help_names_the_page_a_call_shares() {
    let lines = errors_lines(&["send", "recvfrom", "dup2", "epoll_create1", "getpid"]);
    assert!(
        lines[0].starts_with("  errors (man 2 send): EACCES, EAGAIN, "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("  errors (man 2 recv): EAGAIN, "),
        "{}",
        lines[1]
    );
    // EINVAL is dup3's only (man 2 dup).
    assert_eq!(
        lines[2],
        "  errors (man 2 dup): EBADF, EBUSY, EINTR, EMFILE"
    );
    assert!(
        lines[3].starts_with("  errors (man 2 epoll_create): EINVAL"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "  errors (man 2 getpid): none, \"These functions are always successful.\""
    );
}
