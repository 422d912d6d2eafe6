//! Bad command lines: one line on stderr, exit code 2, nothing on stdout,
//! no panic, and no socket made.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::harness::{self, run, socklab};

const BAD: &[&[&str]] = &[
    // addresses
    &["tcp", "server", "8081"],
    &["tcp", "server", "127.0.0.1"],
    &["tcp", "server", "127.0.0.1:"],
    &["tcp", "server", ":65536"],
    &["tcp", "server", ":70000"],
    &["tcp", "server", ":-1"],
    &["tcp", "server", ":+80"],
    &["tcp", "server", ":8o"],
    &["tcp", "server", "1.2.3:80"],
    &["tcp", "server", "1.2.3.4.5:80"],
    &["tcp", "server", "256.1.1.1:80"],
    &["tcp", "server", "01.2.3.4:80"],
    &["tcp", "client", "::1:80"],
    &["tcp", "client", "[::1]80"],
    &["tcp", "client", "[::1:80"],
    &["tcp", "client", "[fe80::1%lo]:80"],
    &["tcp", "client", "example.com:80"],
    &["tcp", "client", ""],
    &["tcp", "client", " 127.0.0.1:80"],
    &["udp", "server", "localhost"],
    &["udp", "client", "[127.0.0.1]:80"],
    &["unix", "server", ""],
    &["unix", "client", "@"],
    // options
    &["tcp", "server", "--backlog", "x"],
    &["tcp", "server", "--backlog"],
    &["tcp", "server", "--bufsize", "1e3"],
    &["tcp", "server", "--max-conns", "0"],
    &["tcp", "server", "--max-conns", "-3"],
    &["tcp", "server", "--naive-limit", "0"],
    &["tcp", "server", "--naive", "--once"],
    &["tcp", "server", "--timeout", "-1"],
    &["tcp", "server", "--timeout", "nan"],
    &["tcp", "server", "--timeout", "inf"],
    &["tcp", "server", "--timeout", "1e-10"],
    &["tcp", "client", "--rcvtimeo", "0.0001"],
    &["tcp", "client", "--timeout"],
    &["tcp", "client", "-m"],
    &["tcp", "client", "--connect"],
    &["udp", "server", "--backlog", "5"],
    &["udp", "server", "--naive"],
    &["udp", "client", "--send-empty"],
    &["udp", "client", "--connect-ex"],
    &["unix", "server", "--dgram", "--naive"],
    &["unix", "server", "--dgram", "--backlog", "3"],
    &["unix", "client", "--dgram", "--send-empty"],
    &["unix", "client", "--connect"],
    &["--trace=xml", "tcp", "server"],
    &["--trace", "xml", "tcp", "server"],
    &["--trace-file"],
    // more addresses (issue #8's table)
    &["tcp", "server", ":"],
    &["tcp", "server", "::"],
    &["tcp", "server", "::1"],
    &["tcp", "client", "::1"],
    &["tcp", "client", "fe80::1:80"],
    &["tcp", "client", "[::1]"],
    &["tcp", "client", "[::1]:"],
    &["tcp", "client", "[::1]:65536"],
    &["tcp", "client", "[::1]:-1"],
    &["tcp", "client", "[]:80"],
    &["tcp", "client", "[::g]:80"],
    &["tcp", "client", "[127.0.0.1]:80"],
    &["tcp", "client", "127.0.0.1:99999999999999999999"],
    &["tcp", "client", "127.0.0.1:0x50"],
    &["tcp", "client", "127.0.0.1:80 "],
    // execve cannot carry a NUL byte; a typed `\0` can (tests/suite/reliability/fuzz feeds
    // real NULs to the parsers).
    &["tcp", "client", "127.0.0.1:8\\0"],
    &["tcp", "client", "127.0.0.1:\u{661}"],
    &["tcp", "client", "127.0.0.1:80:80"],
    &["tcp", "client", "127.0.0.1"],
    &["tcp", "client", "-1"],
    &["tcp", "client", "1.2.3"],
    &["tcp", "client", "1.2.3:"],
    &["tcp", "client", "127.1:80"],
    &["tcp", "client", "0x7f.0.0.1:80"],
    &["tcp", "client", "localhost"],
    &["tcp", "client", "LOCALHOST:80:"],
    &["tcp", "client", "/tmp/x.sock"],
    &["tcp", "client", "@abstract"],
    &["udp", "server", ":65536"],
    &["udp", "server", "-1"],
    &["udp", "client", "::1:53"],
    &["udp", "client", ""],
    &["udp", "client", "1.2.3:53"],
    &["unix", "client", ""],
    &["unix", "server", "@"],
    // control characters: shown escaped, on one line, no terminal escape
    &["tcp", "client", "127.0.0.1\n:80"],
    &["tcp", "client", "\u{1b}[31m:80"],
    &["tcp", "client", "--sockopt", "SO_RCVBUF\n=1"],
    &["tcp", "client", "--timeout", "1\n2"],
    &["--pause-before", "listen\r\n", "tcp", "server"],
    &["tcp", "server", "--backlog", "1\n2"],
    &["tcp", "server", "--frob\nx"],
    &["tcp", "s\u{1b}[2J"],
    // more option values of the wrong type
    &["tcp", "server", "--backlog", "2147483648"],
    &["tcp", "server", "--backlog", "1.5"],
    &["tcp", "server", "--backlog", ""],
    &["tcp", "server", "--bufsize", "-1"],
    &["tcp", "server", "--bufsize", "67108865"],
    &["tcp", "server", "--bufsize", "lots"],
    &["tcp", "server", "--max-conns", "x"],
    &["tcp", "server", "--naive-limit", "1000001"],
    &["tcp", "client", "--size", "0"],
    &["tcp", "client", "--size", "1073741825"],
    &["tcp", "client", "--size", "1k"],
    &["tcp", "server", "--backlog", "-2147483649"],
    &["tcp", "client", "--timeout", "-0.5"],
    &["tcp", "client", "--send-mode", "sometimes"],
    &["tcp", "client", "--timeout", "forever"],
    &["tcp", "client", "--timeout", "1000001"],
    &["tcp", "client", "--sndtimeo", "-5"],
    &["tcp", "client", "--sockopt", "SO_RCVBUF"],
    &["tcp", "client", "--sockopt", "SO_RCVBUF=big"],
    &["tcp", "client", "--sockopt", "SO_NOSUCH=1"],
    &["tcp", "client", "--sockopt", "SO_LINGER=on"],
    &["tcp", "client", "--sockopt", "SO_LINGER=on:-1"],
    &["tcp", "client", "--sockopt", "SO_LINGER=maybe:1"],
    &["tcp", "client", "--sockopt", "SO_REUSEADDR=perhaps"],
    &["tcp", "client", "--sockopt", "SO_RCVTIMEO=-1"],
    &["tcp", "client", "--sockopt", "SO_RCVBUF=1@later"],
    &["tcp", "client", "--sockopt", "SO_RCVBUF=1@accepted"],
    &["tcp", "client", "--sockopt", "=1"],
    &["tcp", "client", "--sockopt", "SOL_NOPE:3=1"],
    &["tcp", "client", "--sockopt", "SO_TYPE=1"],
    &["tcp", "server", "--sockopt", "SO_RCVBUF=1@connected"],
    &["udp", "server", "--sockopt", "SO_RCVBUF=1@accepted"],
    &["--pause-before", "frobnicate", "tcp", "server"],
    &["--pause-before", "accept4:x", "tcp", "server"],
    &["--pause-after", "listen:-1", "tcp", "server"],
    &["--pause-after", "listen:9999", "tcp", "server"],
    &["--trace=", "tcp", "server"],
    &["sockopt", "list", "sctp"],
    // conflicting options
    &["tcp", "server", "--timeout", "1", "--nonblocking"],
    &["tcp", "server", "--lines", "--once"],
    &["tcp", "server", "--lines", "--naive"],
    &["tcp", "client", "--size", "10", "-m", "x"],
    &["tcp", "client", "--lines", "--size", "3"],
    &["tcp", "client", "--lines", "--send-empty"],
    &["unix", "server", "--dgram", "--lines"],
    &["unix", "client", "--dgram", "--lines"],
    &["unix", "client", "--dgram", "--shutdown"],
    &["unix", "client", "--dgram", "--connect-ex"],
    &["udp", "client", "--shutdown"],
    // --mode and --follow-symlinks (UNIX servers only)
    &["unix", "server", "/tmp/x.sock", "--mode", "999"],
    &["unix", "server", "/tmp/x.sock", "--mode", "0o1777"],
    &["unix", "server", "/tmp/x.sock", "--mode", "rw-------"],
    &["unix", "server", "/tmp/x.sock", "--mode", "-1"],
    &["unix", "server", "/tmp/x.sock", "--mode", ""],
    &["unix", "server", "/tmp/x.sock", "--mode", "+644"],
    &["unix", "server", "/tmp/x.sock", "--mode", "00600"],
    &["unix", "server", "/tmp/x.sock", "--mode"],
    &["unix", "server", "@abstract", "--mode", "0600"],
    &["unix", "server", "/tmp/x.sock", "--follow-symlinks=yes"],
    &["unix", "client", "/tmp/x.sock", "--mode", "0600"],
    &["unix", "client", "/tmp/x.sock", "--follow-symlinks"],
    &["tcp", "server", ":0", "--mode", "0600"],
    &["udp", "server", ":0", "--follow-symlinks"],
    // --wire and --pcap: programs with no IP packets, a missing file
    &["--wire", "sockopt", "list"],
    &["--wire", "demo"],
    &["--pcap"],
    &["--wire", "unix", "server", "/tmp/x.sock"],
    &["--wire=yes", "tcp", "server", ":0"],
    // unknown options and commands
    &["tcp", "server", "--reuse-addr"],
    &["tcp", "client", "--message"],
    &["udp", "server", "--lines"],
    &["unix", "server", "--mode-of-operation"],
    &["unix"],
    &["udp", "srv"],
    &["TCP", "server"],
    &["tcp", "server", "-Q"],
    &["--trace", "--trace-file"],
    // commands
    &["tcp"],
    &["tcp", "srv"],
    &["sctp", "server"],
    &["tcp", "server", "--frobnicate"],
    &["tcp", "server", ":0", ":1"],
    &["demo", "extra"],
    &["-x"],
];

fn assert_usage_error(args: &[OsString], out: &harness::Outcome) {
    assert_eq!(out.code(), Some(2), "{args:?}\n{}", out.dump());
    harness::assert_no_panic(out);
    assert!(
        out.stdout.is_empty(),
        "{args:?}: nothing on stdout\n{}",
        out.dump()
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    // A value with a newline in it is shown escaped: never cut at it.
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg.contains('\n') && lines.len() == 1 {
            assert!(
                lines[0].contains(&socklab::values::error::printable(&arg)),
                "{args:?}: the value, escaped\n{}",
                out.dump()
            );
        }
    }
    assert!(!lines.is_empty(), "{args:?}: a message\n{}", out.dump());
    // `socklab` alone and `socklab tcp` print the help, as clap does for a
    // missing subcommand; everything else is one line.
    if lines.len() > 1 {
        assert!(
            out.stderr.contains("Usage: socklab"),
            "{args:?}: one line\n{}",
            out.dump()
        );
    } else {
        assert!(
            lines[0].starts_with("socklab: "),
            "{args:?}\n{}",
            out.dump()
        );
    }
    assert!(
        !out.stderr.contains('\u{1b}'),
        "{args:?}: a terminal escape reached stderr"
    );
    assert!(
        !out.stderr.contains("socket("),
        "{args:?}: no syscall before the arguments are valid"
    );
}

#[test]
fn bad_command_lines_get_one_line_and_exit_2() {
    for args in BAD {
        let mut cmd = socklab(&["--trace"]);
        cmd.args(*args);
        let out = run(cmd, b"");
        let os: Vec<OsString> = args.iter().map(OsString::from).collect();
        assert_usage_error(&os, &out);
    }
}

/// The same table under strace: not one network syscall is made (the
/// `--trace` check above would miss a call made before tracing starts).
#[test]
fn bad_command_lines_make_no_network_syscall() {
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("usage-strace");
    for (i, args) in BAD.iter().enumerate() {
        let log = dir.path(&format!("trace-{i}"));
        let mut cmd = std::process::Command::new("strace");
        cmd.args(["-f", "-qq", "-e", "trace=%network", "-o", &log])
            .arg(harness::bin())
            .args(*args);
        let out = run(cmd, b"");
        assert_eq!(out.code(), Some(2), "{args:?}\n{}", out.dump());
        let trace = std::fs::read_to_string(&log).unwrap();
        assert!(
            trace.lines().all(|l| l.contains("+++ exited")),
            "{args:?}: network syscalls before the arguments were valid:\n{trace}"
        );
    }
}

#[test]
fn the_table_has_at_least_100_rows() {
    // Issue #8: at least 100 bad command lines; the 300-byte path and the
    // non-UTF-8 arguments below add 5 more.
    assert!(BAD.len() >= 100, "{} rows", BAD.len());
}

#[test]
fn a_unix_path_longer_than_sun_path_is_a_usage_error() {
    let long = format!("/tmp/{}", "x".repeat(300));
    let out = run(socklab(&["unix", "server", &long]), b"");
    assert_usage_error(&[OsString::from(&long)], &out);
    assert!(
        out.stderr.contains("longer than sun_path's 107"),
        "{}",
        out.dump()
    );
}

/// Not UTF-8 where only text makes sense (an address, a subcommand). A
/// message and a UNIX path are bytes (tests/suite/programs/non_utf8.rs).
#[test]
fn non_utf8_arguments_are_usage_errors() {
    for args in [
        vec![
            OsString::from("tcp"),
            OsString::from("server"),
            OsString::from_vec(b"127.0.0.1:\xff".to_vec()),
        ],
        vec![OsString::from_vec(b"\x80".to_vec())],
    ] {
        let mut cmd = std::process::Command::new(harness::bin());
        cmd.args(&args);
        let out = run(cmd, b"");
        assert_usage_error(&args, &out);
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["--version"],
        &["tcp", "server", "--help"],
        &["unix", "client", "--help"],
        &["help", "udp"],
    ] {
        let out = run(socklab(args), b"");
        out.assert_ok();
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let out = run(socklab(&["tcp", "server", "--help"]), b"");
    for word in [
        "--reuseaddr",
        "--backlog",
        "--once",
        "--max-conns",
        "--naive",
        "SO_REUSEADDR",
        "127.0.0.1:8081",
    ] {
        assert!(
            out.stdout.contains(word),
            "tcp server --help mentions {word}\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_missing_argument_is_named_on_the_one_line() {
    let o = harness::run(harness::socklab(&["script"]), b"");
    o.assert_code(2);
    assert_eq!(
        o.stderr.trim_end(),
        "socklab: error: the following required arguments were not provided: <FILE> (see socklab --help)",
        "{}",
        o.dump()
    );
}

#[test]
fn send_mode_help_says_the_tutorials_clients_call_send() {
    let out = run(socklab(&["tcp", "client", "--help"]), b"");
    out.assert_ok();
    assert!(
        out.stdout
            .contains("- send:    One `sendto`, as the tutorial's clients (`s.send(...)`)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("- sendall: `sendto` until all is out (the default: for a message the send buffer holds, the same one `sendto` as send)"),
        "{}",
        out.stdout
    );
}

#[test]
fn backlog_minus_1_bufsize_0_and_timeout_0_are_legal_experiments() {
    // --timeout 0 is Python's settimeout(0.0): setblocking(False).
    let (_fd, port) = harness::bound_tcp(None);
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &format!("127.0.0.1:{port}"),
            "--timeout",
            "0",
            "--bufsize",
            "0",
            "-m",
            "x",
        ]),
        b"",
    );
    out.assert_code(1).stderr_has("ECONNREFUSED");
    assert_eq!(
        out.stdout,
        "fd 3: setblocking(False), gettimeout() -> 0.0\n",
        "{}",
        out.dump()
    );
    // --backlog -1: listen(fd, -1), which the kernel takes as somaxconn.
    let out = run(
        socklab(&[
            "--trace",
            "tcp",
            "server",
            "127.0.0.1:0",
            "--backlog",
            "-1",
            "--once",
            "--timeout",
            "0.001",
        ]),
        b"",
    );
    out.stderr_has("listen(3, -1) = 0\n");
    out.stderr_has("[listen: a negative backlog is a large unsigned one to the kernel: it takes net.core.somaxconn = ");
}

#[test]
fn backlog_takes_any_c_int_as_listen_does() {
    for (n, note) in [
        ("-2", "[listen: a negative backlog is a large unsigned one"),
        (
            "2147483647",
            "[listen: the kernel caps the backlog 2147483647 at",
        ),
    ] {
        let args = ["--trace", "tcp", "server", "127.0.0.1:0", "--once"];
        let out = run(
            socklab(&[&args[..], &["--backlog", n, "--timeout", "0.001"]].concat()),
            b"",
        );
        out.stderr_has(&format!("listen(3, {n}) = 0\n"))
            .stderr_has(note);
    }
}
