//! Issue 15 item 6: arguments that are not UTF-8 are bytes, as in C's argv
//! and Python's surrogateescape: a message `-m $'caf\xe9'` is sent, a UNIX
//! path with byte 0xff is bound, not a usage error. A reply that is not
//! UTF-8 is printed as the C twin prints it: its bytes, as they came
//! (`--raw`, or stdout not a terminal; on a terminal socklab escapes
//! them, README's `--raw` row).

// Tests report by panicking.
#![allow(clippy::expect_used)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::harness::cmp;
use crate::harness::{Server, TempDir, socklab};

/// A client's stdout and stderr bytes and its exit code.
fn client(mut cmd: Command, args: &[&OsStr]) -> (Vec<u8>, String, Option<i32>) {
    let out = cmd.args(args).output().expect("run the client");
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn a_message_that_is_not_utf8_is_sent_and_its_reply_printed_as_c_does() {
    let msg = OsStr::from_bytes(b"caf\xe9");
    let mut replies = Vec::new();
    for side in [cmp::Side::Rust, cmp::Side::C] {
        let server = Server::start(&[
            "--trace",
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "1",
        ]);
        let mut cmd = match side {
            cmp::Side::Rust => socklab(&["--trace", "tcp", "client"]),
            cmp::Side::C => cmp::program(side, "tcp_client", &[]),
        };
        cmd.arg(&server.addr);
        let (stdout, stderr, code) = client(cmd, &[OsStr::new("-m"), msg]);
        assert_eq!(code, Some(0), "{side:?}: {stderr}");
        if side == cmp::Side::Rust {
            assert!(
                stderr.contains(r#"sendto(3, "caf\351", 4, 0, NULL, 0) = 4"#),
                "{stderr}"
            );
        }
        let srv = server.finish();
        srv.assert_ok();
        assert!(
            srv.stderr.contains(r#"recvfrom(4, "caf\351", "#),
            "{}",
            srv.dump()
        );
        replies.push(stdout);
    }
    assert_eq!(replies[0], b"CAF\xe9\n");
    assert_eq!(
        replies[0], replies[1],
        "socklab's reply line, then the C twin's"
    );
}

#[test]
fn a_unix_path_that_is_not_utf8_is_bound() {
    let dir = TempDir::new("non-utf8-path");
    let mut path = dir.path("s").into_bytes();
    path.push(0xff);
    let path = OsStr::from_bytes(&path);
    let mut cmd = socklab(&["unix", "server", "--max-conns", "1"]);
    cmd.arg(path);
    let server = Server::start_cmd(cmd);
    let (stdout, stderr, code) =
        client(socklab(&["--trace", "unix", "client", "-m", "hi"]), &[path]);
    assert_eq!(
        (code, stdout.as_slice()),
        (Some(0), &b"HI\n"[..]),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"\377"}, "#) && stderr.starts_with("socket(AF_UNIX"),
        "{stderr}"
    );
    server.finish().assert_ok();
}
