//! Files the user names for socklab's own output (`--pcap`, `--record`,
//! `--trace-file`, the shell's `save`): socklab runs as root in labs, so
//! a symbolic link planted at that name is refused (one line, exit 1)
//! and its target is left as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::harness::{TempDir, run, socklab};

/// A directory with `victim` (its text `keep`) and `name` linking to it.
fn planted(name: &str) -> (TempDir, String, String) {
    let dir = TempDir::new("outputs");
    let victim = dir.path("victim");
    std::fs::write(&victim, "keep").unwrap();
    let link = dir.path(name);
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    (dir, victim, link)
}

fn left_alone(victim: &str) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "keep");
}

fn refused(args: &[&str], what: &str, link: &str, victim: &str) {
    let o = run(socklab(args), b"");
    o.assert_code(1).stderr_has(&format!(
        "cannot create {what} {link}: it is a symbolic link (ELOOP)"
    ));
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.dump());
    left_alone(victim);
}

#[test]
fn outputs_never_write_through_a_symlink() {
    let (dir, victim, link) = planted("out");
    let script = dir.path("a.script");
    std::fs::write(&script, "s = socket(AF_INET, SOCK_STREAM, 0)\n").unwrap();
    refused(
        &["script", &script, "--pcap", &link],
        "pcap file",
        &link,
        &victim,
    );
    refused(
        &["lab", "phone-call", "--record", &link],
        "record file",
        &link,
        &victim,
    );
    refused(
        // Refused before any call: the client never connects.
        &["--trace-file", &link, "tcp", "client", "127.0.0.1:1"],
        "trace file",
        &link,
        &victim,
    );
}

#[test]
fn shell_save_never_writes_through_a_symlink() {
    let (_dir, victim, link) = planted("saved");
    let input = format!("s = socket(AF_INET, SOCK_STREAM, 0)\nsave {link}\n");
    let o = run(socklab(&["shell"]), input.as_bytes());
    assert!(
        o.stdout.contains(&format!(
            "cannot save to {link}: it is a symbolic link (ELOOP)"
        )) || o.stderr.contains(&format!(
            "cannot save to {link}: it is a symbolic link (ELOOP)"
        )),
        "{}",
        o.dump()
    );
    left_alone(&victim);
}
