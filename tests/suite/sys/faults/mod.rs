//! Injected faults, for every syscall each program makes (issue #8):
//! `strace -e inject=CALL:error=ERRNO:when=N` fails the program's first own
//! call of each kind (per socket: a server's listener and its connection are
//! two kinds), with the errnos that call can really return (its man page's
//! ERRORS), and EINTR.
//!
//! - A failure of the program: exit 1, the error line names the call and
//!   the errno (`socklab: CALL(...) = -1 ENAME (...)`), no panic, and a UNIX
//!   server leaves no socket file behind.
//! - A failure on one connection of a stream server (recvfrom, sendto,
//!   close, the options of `@accepted`, getpeername on the connection, and
//!   accept4's errors that belong to the peer: ECONNABORTED, EPROTO, EPERM)
//!   or on one reply of a datagram server (sendto): the error line is
//!   printed, and the server serves the next client (which gets its reply),
//!   then exits 0 after `--max-conns 2`.
//! - EINTR: retried (close: counted as closed, as Linux does); the run is
//!   the normal one, exit 0, no error line.
//!
//! A traced dry run of each scenario finds the program's own calls (on a
//! socket, or the UNIX server's path) and which invocation of that syscall
//! each is (the loader and the runtime make close, poll, ioctl and
//! newfstatat calls of their own before main), for `when=N`.
//!
//! `make test` injects the first errno of each call's list and EINTR;
//! `make faults` (SOCKLAB_FAULTS=all) every errno of the lists.
//! `cargo test --test suite -- sys::faults:: --nocapture` prints the count of cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod labs;
mod runner;
use runner::*;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{self, Outcome, Server, TempDir, WATCHDOG, socklab};

/// The errnos each call can really return (man 2 CALL, ERRORS), as strace
/// names them, from the call table (`socklab::values::calls`): `make test`
/// injects the first errno of each call's list and EINTR where the list
/// has it; SOCKLAB_FAULTS=all (`make faults`) every errno of the list.
fn errnos(call: &str, unix: bool, dgram: bool) -> Vec<String> {
    let all = std::env::var("SOCKLAB_FAULTS").as_deref() == Ok("all");
    harness::calls::fault_errnos(call, unix, dgram, all)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Client,
    /// `socklab sockopt list`: a getsockopt that fails is a table cell
    /// (the errno shown, as UNP's checkopts), not a failure.
    Table,
    StreamServer,
    /// `--model epoll` / `poll`: listener fd 3, a UNIX server's directory
    /// fd and socket file fd next, then the epoll fd (epoll), then the
    /// connections.
    EventServer,
    DgramServer,
}

/// One program and how to drive it.
struct Scenario {
    name: &'static str,
    role: Role,
    /// The program's arguments; `{ADDR}` is the partner server's address,
    /// `{PATH}` a fresh socket path.
    args: &'static [&'static str],
    /// For a client: the server it talks to (socklab, not traced).
    partner: &'static [&'static str],
    unix: bool,
    /// What a client prints when all went well.
    expect: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "tcp_client",
        role: Role::Client,
        args: &[
            "tcp",
            "client",
            "{ADDR}",
            "-m",
            "hello",
            "-m",
            "world",
            "--names",
            "--shutdown",
            "--sockopt",
            "SO_KEEPALIVE=1",
        ],
        partner: &["tcp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO", "WORLD"],
    },
    Scenario {
        name: "tcp_client_timeout",
        role: Role::Client,
        args: &["tcp", "client", "{ADDR}", "-m", "hello", "--timeout", "10"],
        partner: &["tcp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO"],
    },
    Scenario {
        name: "udp_client",
        role: Role::Client,
        args: &["udp", "client", "{ADDR}", "-m", "hello", "-m", "world"],
        partner: &["udp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO", "WORLD"],
    },
    Scenario {
        name: "udp_client_connected",
        role: Role::Client,
        args: &["udp", "client", "{ADDR}", "--connect", "-m", "hello"],
        partner: &["udp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO"],
    },
    Scenario {
        name: "unix_client",
        role: Role::Client,
        args: &["unix", "client", "{ADDR}", "-m", "hello"],
        partner: &["unix", "server", "{PATH}", "-q"],
        unix: true,
        expect: &["HELLO"],
    },
    Scenario {
        name: "unix_client_dgram",
        role: Role::Client,
        args: &["unix", "client", "{ADDR}", "--dgram", "-m", "hello"],
        partner: &["unix", "server", "{PATH}", "--dgram", "-q"],
        unix: true,
        expect: &["HELLO"],
    },
    Scenario {
        name: "sockopt_list",
        role: Role::Table,
        args: &["sockopt", "list", "tcp", "udp", "unix"],
        partner: &[],
        unix: false,
        expect: &["SO_RCVBUF"],
    },
    Scenario {
        name: "tcp_server",
        role: Role::StreamServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--reuseaddr",
            "--names",
            "--sockopt",
            "SO_KEEPALIVE=1@accepted",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "tcp_server_timeout",
        role: Role::StreamServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--timeout",
            "10",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "tcp_server_epoll",
        role: Role::EventServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--model",
            "epoll",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "unix_server_poll",
        role: Role::EventServer,
        args: &[
            "unix",
            "server",
            "{PATH}",
            "--max-conns",
            "2",
            "--model",
            "poll",
        ],
        partner: &[],
        unix: true,
        expect: &[],
    },
    Scenario {
        name: "udp_server_epoll",
        role: Role::DgramServer,
        args: &[
            "udp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--model",
            "epoll",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "udp_server",
        role: Role::DgramServer,
        args: &["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "unix_server",
        role: Role::StreamServer,
        args: &["unix", "server", "{PATH}", "--max-conns", "2"],
        partner: &[],
        unix: true,
        expect: &[],
    },
    Scenario {
        name: "unix_server_dgram",
        role: Role::DgramServer,
        args: &["unix", "server", "{PATH}", "--dgram", "--max-conns", "2"],
        partner: &[],
        unix: true,
        expect: &[],
    },
];

macro_rules! fault_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            if harness::have("strace") {
                let n = cases(scenario(stringify!($name)));
                assert!(n > 0);
            }
        }
    )*};
}

fault_tests!(
    sockopt_list,
    tcp_client,
    tcp_client_timeout,
    udp_client,
    udp_client_connected,
    unix_client,
    unix_client_dgram,
    tcp_server,
    tcp_server_timeout,
    tcp_server_epoll,
    unix_server_poll,
    udp_server_epoll,
    udp_server,
    unix_server,
    unix_server_dgram
);

#[test]
fn every_scenario_has_a_test() {
    assert_eq!(SCENARIOS.len(), 15);
    let _ = Duration::ZERO;
}
