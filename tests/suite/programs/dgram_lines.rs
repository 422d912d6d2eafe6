//! What the datagram programs say, socklab and its C twins alike: a read
//! with `--bufsize 0` (0 bytes of a datagram of any length: not "an empty
//! datagram"), and `--names` on a client that does not connect.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::process::Command;

use super::clients::c_bin;
use crate::harness::{Server, run, socklab};

const UNKNOWN: &str = "--bufsize 0 reads 0 bytes of any datagram, whatever its length: --recv-flags MSG_TRUNC tells it";

/// socklab's `udp ROLE` or its C twin.
fn udp(twin: bool, role: &str, args: &[&str]) -> Command {
    let mut cmd = if twin {
        Command::new(c_bin().join(format!("udp_{role}")))
    } else {
        socklab(&["udp", role])
    };
    cmd.args(args);
    cmd
}

#[test]
fn a_bufsize_0_read_of_a_datagram_does_not_call_it_empty() {
    for twin in [false, true] {
        for model in [&[][..], &["--model", "uring"], &["--batch", "4"]] {
            let mut args = vec!["127.0.0.1:0", "--bufsize", "0", "--max-conns", "2"];
            args.extend_from_slice(model);
            let server = Server::start_cmd(udp(twin, "server", &args));
            // "hello" read into no room: its length is not known.
            let client = run(
                udp(
                    twin,
                    "client",
                    &[&server.addr, "-m", "hello", "--bufsize", "0"],
                ),
                b"",
            );
            client.assert_ok();
            assert!(
                client.stdout.starts_with("(a datagram from ")
                    && client.stdout.ends_with(&format!(": {UNKNOWN})\n")),
                "twin {twin} {model:?}: {}",
                client.dump()
            );
            // With MSG_TRUNC the client knows the reply (the server's 0
            // bytes of "") is empty.
            let empty = run(
                udp(
                    twin,
                    "client",
                    &[
                        &server.addr,
                        "-m",
                        "",
                        "--bufsize",
                        "0",
                        "--recv-flags",
                        "MSG_TRUNC",
                    ],
                ),
                b"",
            );
            empty.assert_ok();
            assert!(
                empty.stdout.starts_with("(an empty datagram from "),
                "{}",
                empty.dump()
            );
            let out = server.finish();
            out.assert_ok();
            assert!(
                !out.stdout.contains("(an empty datagram)"),
                "{}",
                out.dump()
            );
            assert_eq!(
                out.stdout
                    .matches(&format!(": 0 bytes \"\" ({UNKNOWN})\n"))
                    .count(),
                2,
                "twin {twin} {model:?}: {}",
                out.dump()
            );
        }
    }
}

/// socklab's `FAMILY client` or its C twin.
fn client(twin: bool, family: &str, args: &[&str]) -> Command {
    let mut cmd = if twin {
        Command::new(c_bin().join(format!("{family}_client")))
    } else {
        socklab(&[family, "client"])
    };
    cmd.args(args);
    cmd
}

#[test]
fn names_on_an_unconnected_datagram_client_shows_what_bind_named() {
    let dir = crate::harness::TempDir::new("dgram-names");
    let path = dir.path("s");
    let udp_server = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let _unix_server = Server::start(&["unix", "server", &path, "--dgram", "-q"]);
    for twin in [false, true] {
        let mine = dir.path(if twin { "c" } else { "r" });
        let cases: [(&str, Vec<&str>, &str); 3] = [
            (
                "udp",
                vec![&udp_server.addr, "--bind", "127.0.0.1:0"],
                "fd 3: local 127.0.0.1:",
            ),
            ("unix", vec![&path, "--dgram"], "fd 3: local @"),
            (
                "unix",
                vec![&path, "--dgram", "--bind", &mine],
                "fd 3: local /",
            ),
        ];
        for (family, args, starts) in cases {
            let mut args = args.clone();
            args.extend_from_slice(&["--names", "-m", "hi"]);
            if !twin {
                args.push("--trace");
            }
            let out = run(client(twin, family, &args), b"");
            out.assert_ok();
            let first = out.stdout.lines().next().unwrap_or_default();
            assert!(first.starts_with(starts), "twin {twin}: {}", out.dump());
            let how = if args.contains(&"--bind") {
                " (bound by --bind)"
            } else {
                " (the kernel's autobind name)"
            };
            assert!(first.ends_with(how), "{}", out.dump());
            if !twin {
                // The getsockname that read it comes before the sendto.
                let trace: Vec<&str> = out.stderr.lines().collect();
                let at = |name: &str| trace.iter().position(|l| l.starts_with(name));
                assert!(at("getsockname(3,") < at("sendto(3,"), "{}", out.dump());
            }
        }
    }
}

/// socklab's `tcp client` or its C twin.
fn tcp_client(twin: bool, args: &[&str]) -> Command {
    let mut cmd = if twin {
        Command::new(c_bin().join("tcp_client"))
    } else {
        socklab(&["tcp", "client"])
    };
    cmd.args(args);
    cmd
}

/// Not a datagram, but the same question (what did the recv read?): a
/// TCP recv with MSG_TRUNC discards the bytes it takes, copying none, so
/// the client must not print its buffer (it printed "\0\0" for "HI").
#[test]
fn a_tcp_recv_with_msg_trunc_says_the_bytes_were_discarded() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "-q"]);
    for twin in [false, true] {
        let out = run(
            tcp_client(
                twin,
                &[&server.addr, "--recv-flags", "MSG_TRUNC", "-m", "hi"],
            ),
            b"",
        );
        out.assert_ok();
        assert_eq!(
            out.stdout,
            "(2 bytes from the server discarded: a TCP recv with MSG_TRUNC drops what it takes, copying nothing into the buffer; tcp(7))\n",
            "twin {twin}: {}",
            out.dump()
        );
        let peek = run(
            tcp_client(
                twin,
                &[
                    &server.addr,
                    "--recv-flags",
                    "MSG_TRUNC|MSG_PEEK",
                    "-m",
                    "hi",
                ],
            ),
            b"",
        );
        peek.assert_ok();
        assert!(
            peek.stdout.starts_with(
                "(2 bytes from the server waiting, not copied: a TCP peek with MSG_TRUNC"
            ),
            "twin {twin}: {}",
            peek.dump()
        );
        assert!(!peek.stdout.contains('\0'), "{}", peek.dump());
    }
}
