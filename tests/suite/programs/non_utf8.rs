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
use crate::harness::{Server, TempDir, abstract_name, socklab};

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
        stderr.contains(r#"\377"}, "#)
            && stderr
                .lines()
                .find(|l| !l.starts_with("# "))
                .is_some_and(|l| l.starts_with("socket(AF_UNIX")),
        "{stderr}"
    );
    server.finish().assert_ok();
}

/// `name` with `tail` appended: a UNIX name's bytes.
fn with_bytes(name: &str, tail: &[u8]) -> Vec<u8> {
    let mut b = name.as_bytes().to_vec();
    b.extend_from_slice(tail);
    b
}

/// A UNIX datagram server (`side`'s) at `server` and a client of the same
/// side that binds `client`, connects and shows `--names`, run in `dir`
/// (relative paths print the same on both sides); returns the server's
/// stdout and the client's, bytes as they came through pipes.
fn dgram_pair(
    side: cmp::Side,
    dir: &std::path::Path,
    server: &[u8],
    client: &[u8],
) -> [Vec<u8>; 2] {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let prog = |role: &str| match side {
        cmp::Side::Rust => socklab(&["unix", role]),
        cmp::Side::C => cmp::program(side, &format!("unix_{role}"), &[]),
    };
    let mut cmd = prog("server");
    cmd.arg(OsStr::from_bytes(server))
        .args(["--dgram", "--once"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the server");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    // The handshake: its first line says it is bound.
    let mut seen = Vec::new();
    reader.read_until(b'\n', &mut seen).expect("read");
    assert!(seen.starts_with(b"listening on "), "{side:?}: {seen:?}");
    let mut cmd = prog("client");
    cmd.arg(OsStr::from_bytes(server))
        .args(["--dgram", "--connect", "--names", "-m", "hi", "--bind"])
        .arg(OsStr::from_bytes(client))
        .current_dir(dir);
    let (client_out, stderr, code) = self::client(cmd, &[]);
    if code != Some(0) {
        let _ = child.kill();
    }
    reader.read_to_end(&mut seen).expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(code, Some(0), "{side:?} client: {stderr}");
    assert!(status.success(), "{side:?} server: {status:?}");
    [seen, client_out]
}

/// Issue 15 item 6: UNIX names that are not UTF-8, or that hold a control
/// character, are printed as the C twin prints them (their bytes) when
/// stdout is not a terminal: `listening on`, `datagram from`, `--names`.
/// (socklab printed U+FFFD for each byte that is not UTF-8.)
#[test]
fn unix_names_that_are_not_utf8_are_printed_as_c_prints_them() {
    let abs = abstract_name("bytes");
    let cases = [
        (b"d\xff".to_vec(), b"c\x01\xfe".to_vec()),
        (with_bytes(&abs, b"\xff"), with_bytes(&abs, b"c\x01\xfe")),
    ];
    for (server, client) in cases {
        let mut outs = Vec::new();
        for side in [cmp::Side::Rust, cmp::Side::C] {
            let dir = TempDir::new("name-bytes");
            outs.push(dgram_pair(side, dir.dir(), &server, &client));
        }
        let [srv, cli] = &outs[0];
        let listening = [&b"listening on "[..], &server, b"\n"].concat();
        assert!(srv.starts_with(&listening), "{srv:?}");
        let from = [&b"datagram from "[..], &client, b": 2 bytes \"hi\"\n"].concat();
        assert!(srv.ends_with(&from), "{srv:?}");
        let names = [
            &b"fd 3: local "[..],
            &client,
            b", peer ",
            &server,
            b"\nHI\n",
        ]
        .concat();
        assert_eq!(cli, &names, "{cli:?}");
        assert_eq!(outs[0], outs[1], "socklab's stdout, then the C twin's");
    }
}

/// On a terminal the same names are escaped as the trace escapes them
/// (an ESC in an abstract name cannot reach the terminal); `--raw` prints
/// them as they are, as it prints a reply.
#[test]
fn unix_names_on_a_terminal_are_escaped_unless_raw() {
    for raw in [false, true] {
        let server_name = abstract_name("tty");
        let server = Server::start(&["unix", "server", "--dgram", &server_name, "--once"]);
        let prefix = abstract_name("tty");
        let bind = with_bytes(&prefix, b"\x1b[2J\xff");
        let mut cmd = socklab(&[
            "unix",
            "client",
            "--dgram",
            "--connect",
            "--names",
            "-m",
            "hi",
        ]);
        cmd.arg(&server_name)
            .arg("--bind")
            .arg(OsStr::from_bytes(&bind));
        if raw {
            cmd.arg("--raw");
        }
        let (tty, out) = crate::harness::on_a_terminal(cmd);
        out.assert_ok();
        let shown = String::from_utf8_lossy(&tty);
        if raw {
            assert!(tty.windows(bind.len()).any(|w| w == bind), "{shown:?}");
        } else {
            let escaped = format!("fd 3: local {prefix}\\33[2J\\377, peer {server_name}");
            assert!(shown.contains(&escaped), "{shown:?}");
            assert!(
                !tty.contains(&0x1b),
                "a raw ESC reached the terminal: {shown:?}"
            );
        }
        server.finish().assert_ok();
    }
}
