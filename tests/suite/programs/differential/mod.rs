//! The proof that socklab makes exactly the syscalls its C twins make
//! (`c_compat/`): every scenario runs twice, Rust and C, each program under
//! `strace -f -qq -e signal=none -y -e trace=%net,close,...`; the two
//! normalised traces (rules in `harness::cmp`), stdouts and exit codes
//! must be equal.
//!
//! The scenarios are data: one table per subject (`tcp`, `udp`, `unix`,
//! `modes`, `reports`, `models`), in the order of the tests below.
//!
//! `make compare` prints the table of all scenarios (the ignored test
//! `compare_report`); `make compare SCENARIO=NAME` shows one scenario's two
//! traces side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod models;
mod modes;
mod reports;
mod tcp;
mod udp;
mod unix;
mod usage_errors;

use crate::harness;
use crate::harness::cmp::{self, Scenario, Step};

/// One program run of a scenario, as constant data (see [`cmp::Step`]).
#[derive(Clone, Copy, Debug)]
pub struct Call {
    prog: &'static str,
    args: &'static [&'static str],
    stdin: &'static str,
    code: i32,
}

/// `prog ARGS`, with empty stdin, expected to exit 0.
pub const fn s(prog: &'static str, args: &'static [&'static str]) -> Call {
    Call {
        prog,
        args,
        stdin: "",
        code: 0,
    }
}

impl Call {
    pub const fn stdin(self, stdin: &'static str) -> Call {
        Call { stdin, ..self }
    }

    pub const fn fails(self, code: i32) -> Call {
        Call { code, ..self }
    }

    fn step(&self) -> Step {
        let mut step = cmp::step(self.prog, self.args);
        step.stdin = self.stdin;
        step.code = self.code;
        step
    }
}

/// One scenario as a row of a table (see [`cmp::Scenario`]).
#[derive(Clone, Copy, Debug)]
pub struct Row {
    name: &'static str,
    server: Option<Call>,
    steps: &'static [Call],
    signal: Option<i32>,
}

pub const fn server(prog: &'static str, args: &'static [&'static str]) -> Option<Call> {
    Some(s(prog, args))
}

pub const fn row(name: &'static str, server: Option<Call>, steps: &'static [Call]) -> Row {
    Row {
        name,
        server,
        steps,
        signal: None,
    }
}

impl Row {
    fn scenario(&self) -> Scenario {
        Scenario {
            name: self.name,
            server: self.server.as_ref().map(Call::step),
            steps: self.steps.iter().map(Call::step).collect(),
            signal: self.signal,
        }
    }
}

/// The sockopt list's one scenario.
const SOCKOPT_LIST: &[Row] = &[row("checkopts", None, &[s("checkopts", &[])])];

/// Every scenario, by name, in the order of the tests.
fn scenarios() -> Vec<Scenario> {
    [
        tcp::SCENARIOS,
        udp::SCENARIOS,
        unix::SCENARIOS,
        modes::SCENARIOS,
        reports::SCENARIOS,
        models::SCENARIOS,
        SOCKOPT_LIST,
    ]
    .iter()
    .flat_map(|table| table.iter().map(Row::scenario))
    .collect()
}

/// Scenarios where each side must have waited in `poll(..., -1)` after an
/// EAGAIN at least once (rule 12 folds those waits; this says they were
/// there): the non-blocking server's first accept4 runs before the client
/// process exists (the client starts after `listening on`, and the server
/// makes only ioctl(FIONBIO) in between).
const MUST_WAIT: &[&str] = &[
    "tcp_nonblocking",
    "udp_nonblocking",
    "unix_stream_nonblocking",
    "unix_dgram_nonblocking",
];

fn scenario(name: &str) -> Scenario {
    scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Run one scenario and require identical traces, stdout and exit codes.
fn check(name: &str) {
    if !harness::have("strace") {
        return;
    }
    let sc = scenario(name);
    let cmp = cmp::compare(&sc);
    let expected: Vec<Option<i32>> = sc
        .server
        .iter()
        .chain(sc.steps.iter())
        .map(|s| Some(s.code))
        .collect();
    for runs in [&cmp.rust, &cmp.c] {
        let codes: Vec<Option<i32>> = runs.iter().map(|r| r.code).collect();
        if sc.signal.is_some() {
            // The server dies by the signal (128+N as a shell sees it).
            assert_eq!(runs[0].signal, sc.signal, "{}", cmp.dump());
            assert_eq!(codes[1..], expected[1..], "{}", cmp.dump());
        } else {
            assert_eq!(codes, expected, "exit codes\n{}", cmp.dump());
        }
        assert!(
            runs.iter().all(|r| !r.trace.is_empty()),
            "a run made no socket call (is strace working?)\n{}",
            cmp.dump()
        );
    }
    if MUST_WAIT.contains(&name) {
        for (side, runs) in [("Rust", &cmp.rust), ("C", &cmp.c)] {
            let waits: usize = runs.iter().map(|r| r.waits).sum();
            assert!(
                waits > 0,
                "{side} never waited after EAGAIN\n{}",
                cmp.dump()
            );
        }
    }
    let allowed = cmp::KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == name);
    assert!(
        cmp.identical() || allowed,
        "Rust and C differ\n{}",
        cmp.dump()
    );
    // A failing run names the errno on both sides.
    for (r, c) in cmp.rust.iter().zip(cmp.c.iter()) {
        if r.code == Some(1) {
            let ename = r
                .stderr
                .split(" = -1 ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next());
            if let Some(ename) = ename {
                assert!(
                    c.stderr.contains(ename),
                    "{ename} in C stderr\n{}",
                    cmp.dump()
                );
            }
        }
    }
}

macro_rules! scenario_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
        /// Every scenario has its test, and every test its scenario.
        #[test]
        fn every_scenario_has_a_test() {
            let tests = [$(stringify!($name)),*];
            let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
            assert_eq!(tests.to_vec(), names);
        }
    };
}

scenario_tests!(
    tcp_client_bind_flags_peek,
    tcp_client_no_reply_to_a_sink,
    tcp_once,
    tcp_once_v6,
    tcp_loop,
    tcp_reuseaddr,
    tcp_backlog_bufsize_quiet,
    tcp_timeout_0,
    tcp_stdin_skips_empty_lines,
    tcp_naive,
    tcp_timeout,
    tcp_send_empty,
    tcp_connect_refused,
    tcp_connect_ex_refused,
    tcp_connect_ex_ok,
    tcp_eaddrinuse,
    tcp_eaddrinuse_reuseaddr,
    udp_once,
    udp_once_v6,
    udp_loop,
    udp_reuseaddr_bufsize,
    udp_connect,
    udp_empty_datagram,
    udp_timeout,
    udp_bufsize_without_msg_trunc,
    udp_recv_flags_msg_trunc,
    udp_client_bind_flags_peek,
    udp_eaddrinuse,
    udp_batch,
    udp_batch_epoll_msg_trunc,
    unix_stream_path,
    unix_stream_abstract,
    unix_stream_loop,
    unix_stream_timeout,
    unix_stale_file_probe,
    unix_unlink_stale,
    unix_dgram_bind_flags,
    unix_in_use,
    unix_not_a_socket,
    unix_connect_enoent,
    unix_abstract_eaddrinuse,
    unix_sigterm_cleanup,
    unix_dgram_path,
    unix_dgram_abstract_autobind,
    unix_dgram_connect,
    unix_dgram_stale_file_probe,
    unix_dgram_timeout,
    unix_dgram_batch,
    tcp_nonblocking,
    udp_nonblocking,
    unix_stream_nonblocking,
    unix_dgram_nonblocking,
    tcp_nonblocking_connect_ex,
    tcp_nonblocking_connect_ex_refused,
    tcp_sockopts_phases,
    udp_sockopts_phases,
    udp_rcvtimeo_silent,
    tcp_send_mode_send_size,
    tcp_sendall_size,
    tcp_send_mode_send_partial,
    tcp_sndtimeo_sendall_partial,
    udp_size,
    tcp_names,
    udp_connect_names,
    udp_names,
    unix_stream_names,
    tcp_shutdown,
    unix_stream_shutdown_timeout,
    tcp_lines,
    tcp_lines_shutdown,
    tcp_show_state,
    tcp_show_state_loop_names,
    tcp_show_state_timeout,
    tcp_show_state_refused,
    udp_unix_show_state_ignored,
    tcp_model_epoll,
    tcp_model_epoll_once_names_sockopt,
    unix_model_epoll,
    tcp_model_uring,
    unix_model_uring_once,
    tcp_model_thread,
    tcp_model_poll,
    unix_model_poll_abstract,
    tcp_model_prethread_1,
    udp_model_epoll,
    udp_model_uring,
    unix_dgram_model_uring_once,
    checkopts,
);

#[test]
fn known_differences_are_explained() {
    for (name, why) in cmp::KNOWN_DIFFERENCES {
        assert!(
            scenarios().iter().any(|s| s.name == *name),
            "{name}: no such scenario"
        );
        assert!(why.len() > 20, "{name}: say why it cannot be otherwise");
    }
}

/// `make compare [SCENARIO=NAME]`: the table, and traces side by side.
#[test]
#[ignore = "run by `make compare`"]
fn compare_report() {
    assert!(
        harness::have("strace"),
        "make compare needs strace (make deps)"
    );
    let only = std::env::var("SCENARIO").ok().filter(|s| !s.is_empty());
    let all = scenarios();
    let chosen: Vec<&Scenario> = match &only {
        Some(name) => {
            let names: Vec<&str> = all.iter().map(|s| s.name).collect();
            let found: Vec<&Scenario> = all.iter().filter(|s| s.name == name).collect();
            assert!(
                !found.is_empty(),
                "no scenario {name}; scenarios: {}",
                names.join(" ")
            );
            found
        }
        None => all.iter().collect(),
    };
    println!();
    println!(
        "{:<30} {:>14} {:>11}  result",
        "scenario", "Rust syscalls", "C syscalls"
    );
    let mut differ = 0;
    let mut details = String::new();
    for sc in chosen {
        let cmp = cmp::compare(sc);
        let same = cmp.identical();
        differ += usize::from(!same);
        println!(
            "{:<30} {:>14} {:>11}  {}",
            sc.name,
            cmp::Compared::calls(&cmp.rust),
            cmp::Compared::calls(&cmp.c),
            if same { "identical" } else { "DIFFERENT" }
        );
        if !same || only.is_some() {
            details += &format!("\n=== {}: Rust (left) | C (right)\n", sc.name);
            details += &cmp.side_by_side();
        }
    }
    print!("{details}");
    assert_eq!(differ, 0, "{differ} scenario(s) differ");
}
