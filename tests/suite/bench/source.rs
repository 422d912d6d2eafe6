//! `socklab bench --source` (issue 18): connections spread over several
//! source addresses, each bound (port 0) before its connect, and the fd
//! limit raised as `--conns` needs, on the client and on the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::harness::{Server, run, socklab};

/// `cmd` with RLIMIT_NOFILE soft `soft`, hard `hard` in the child.
fn with_nofile(mut cmd: Command, soft: u64, hard: u64) -> Command {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn field(json: &str, key: &str) -> u64 {
    let at = json.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
    let digits: String = json[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect(key)
}

/// Max open files (soft) of a running process, from /proc/PID/limits.
fn nofile_of(pid: i32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn bench_rr_source_2000_connections_raise_the_fd_limit_and_each_is_echoed() {
    source_2000("epoll");
}

#[test]
fn bench_rr_source_2000_connections_against_the_uring_server() {
    source_2000("uring");
}

/// 2000 connections from 127.0.0.2 and 127.0.0.3 against the `model`
/// server, both started with 1024 fds (soft) of 4096 (hard): each raises
/// its soft limit, every connection is accepted from its source address
/// and echoed once.
fn source_2000(model: &str) {
    const N: usize = 2000;
    let server = Server::start_cmd(with_nofile(
        socklab(&[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--model",
            model,
            "--backlog",
            "4096",
            "--max-conns",
            "2000",
        ]),
        1024,
        4096,
    ));
    assert_eq!(
        nofile_of(server.pid()),
        4096,
        "the server raised its soft limit"
    );
    let out = run(
        with_nofile(
            socklab(&[
                "bench",
                "rr",
                &server.addr,
                "--conns",
                "2000",
                "--count",
                "2000",
                "--source",
                "127.0.0.2-127.0.0.3",
                "--json",
            ]),
            1024,
            4096,
        ),
        b"",
    );
    out.assert_ok();
    assert_eq!(
        out.stderr.trim(),
        "socklab: RLIMIT_NOFILE: soft limit raised from 1024 to 4096 (the hard limit) for 2000 connections"
    );
    let json = out.stdout.trim();
    assert_eq!(field(json, "transactions"), N as u64, "{json}");
    assert_eq!(field(json, "conns_echoed"), N as u64, "{json}");
    let served = server.finish();
    served.assert_ok();
    for src in ["127.0.0.2:", "127.0.0.3:"] {
        let count = |prefix: &str| {
            served
                .stdout
                .lines()
                .filter(|l| l.starts_with(&format!("{prefix}{src}")))
                .count()
        };
        assert_eq!(count("connection from "), N / 2, "{src}");
        assert_eq!(count("from "), N / 2, "{src}: one message each");
        assert_eq!(count(""), N / 2, "{src}: each closed");
    }
}

/// Each connection binds its source address, port 0, right after its
/// socket: the trace shows it.
#[test]
fn bench_source_binds_each_connection_round_robin() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "-q", "--model", "epoll"]);
    let out = run(
        socklab(&[
            "--trace",
            "bench",
            "rr",
            &server.addr,
            "--conns",
            "3",
            "--count",
            "3",
            "--source",
            "127.0.0.2,127.0.0.3",
        ]),
        b"",
    );
    out.assert_ok();
    let calls: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("socket(") || l.starts_with("bind("))
        .collect();
    let bind = |fd: u32, ip: &str| {
        format!(
            "bind({fd}, {{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"{ip}\")}}, 16) = 0"
        )
    };
    let socket = |fd: u32| format!("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = {fd}");
    assert_eq!(
        calls,
        [
            socket(3),
            bind(3, "127.0.0.2"),
            socket(4),
            bind(4, "127.0.0.3"),
            socket(5),
            bind(5, "127.0.0.2")
        ],
        "{}",
        out.dump()
    );
}

#[test]
fn bench_source_refuses_bad_lists_and_other_families() {
    for (source, addr) in [
        ("127.0.0.9-127.0.0.2", "127.0.0.1:1"),
        ("127.0.0.2,nowhere", "127.0.0.1:1"),
        ("::1", "127.0.0.1:1"),
        ("127.0.0.2", "/tmp/socklab-no-such.sock"),
    ] {
        let out = run(socklab(&["bench", "rr", addr, "--source", source]), b"");
        out.assert_code(2);
        assert_eq!(out.stderr.lines().count(), 1, "{source}: {}", out.dump());
        assert!(out.stderr.contains("--source"), "{source}: {}", out.dump());
    }
}

/// More connections than the hard limit allows: raised with
/// CAP_SYS_RESOURCE (said so), else one error line and the hint.
#[test]
fn bench_more_connections_than_the_hard_fd_limit() {
    let out = run(
        with_nofile(
            socklab(&["bench", "rr", "127.0.0.1:1", "--conns", "200"]),
            100,
            100,
        ),
        b"",
    );
    out.assert_code(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    if lines[0].contains("EPERM") {
        assert_eq!(
            lines[0],
            "socklab: prlimit64(0, RLIMIT_NOFILE, {rlim_cur=264, rlim_max=264}, NULL) = -1 EPERM (Operation not permitted)"
        );
        assert!(
            lines[1].starts_with(
                "  hint: 200 connections need 264 fds and the hard RLIMIT_NOFILE is 100: "
            ),
            "{}",
            out.dump()
        );
        assert!(lines[1].contains("fs.nr_open"), "{}", out.dump());
        assert_eq!(lines.len(), 2, "{}", out.dump());
    } else {
        // Root with CAP_SYS_RESOURCE: raised, then nobody listens on port 1.
        assert_eq!(
            lines[0],
            "socklab: RLIMIT_NOFILE: raised from soft 100, hard 100 to 264 for 200 connections"
        );
        assert!(lines[1].contains("ECONNREFUSED"), "{}", out.dump());
    }
}
