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
