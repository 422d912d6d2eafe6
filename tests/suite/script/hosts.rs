//! Actors on the hosts of the lab network (issue 16's "in scripts"):
//! `client@b | ...` enters host b (openat, setns, close on its thread,
//! shown) before the script's first call; a host that is not there fails
//! the run before any call (exit 1, the `socklab net up` hint); an
//! actor's host is fixed at its first line (exit 2, FILE:LINE:COL).

use std::process::Command;

use super::script;
use crate::harness::{self, bin, socklab};

/// A lab network of the test's own, down on drop (root only).
struct Net(String);

impl Net {
    fn up(key: &str) -> Option<Net> {
        // SAFETY: geteuid only reads the process's effective uid.
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the lab network needs root; under CI a missing capability is a failure"
            );
            eprintln!("SKIPPED: the lab network needs root");
            return None;
        }
        let net = Net(format!("sh{key}{}", std::process::id() % 1_000_000));
        harness::run(socklab(&["net", "up", "--name", &net.0]), b"").assert_ok();
        Some(net)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .args(["net", "down", "--name", &self.0])
            .output();
    }
}

const ACROSS: &str = "\
server@a | s = socket(AF_INET, SOCK_STREAM, 0) = 3
server@a | bind(s, 192.0.2.1:0) = 0
server@a | listen(s, 1) = 0
server@a | getsockname(s, 192.0.2.1:40000, ...) = 0
client@b | c = socket(AF_INET, SOCK_STREAM, 0)
client@b | connect(c, 192.0.2.1:40000) = 0
server@a | a = accept(s, {sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr(\"192.0.2.2\")}, ...)
client@b | send(c, \"hi\") = 2
server | recv(a, 10) = 2
server | w = fork()
w | u = socket(AF_INET, SOCK_DGRAM, 0)
w@a | bind(u, 192.0.2.1:0) = 0
w | exit_group(0)
";

#[test]
fn script_actors_on_two_hosts_talk_across_the_link() {
    let Some(net) = Net::up("x") else { return };
    let o = script(ACROSS, &["--net", &net.0]);
    o.assert_ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    let mut entries = Vec::new();
    for host in ["a", "b"] {
        let tag = if host == "a" { "server@a" } else { "client@b" };
        entries.extend([
            format!(
                "{tag} | openat(AT_FDCWD, \"/run/netns/{}-{host}\", O_RDONLY|O_CLOEXEC) = 3",
                net.0
            ),
            format!("{tag} | setns(3, CLONE_NEWNET) = 0"),
            format!("{tag} | close(3) = 0"),
        ]);
    }
    // Each host actor enters its host first, before any of the script's calls.
    assert_eq!(lines.get(..6).unwrap(), entries, "{}", o.dump());
    // The fork's child is in its parent's host: 192.0.2.1 is host a's.
    o.stdout_has("w | bind(")
        .stdout_has("sin_addr=inet_addr(\"192.0.2.2\")}, [128 => 16]) = 5");
    // The timeline is a script: replayed, its entry lines are the runner's.
    let again = script(&o.stdout, &["--net", &net.0]);
    again.assert_ok();
    assert_eq!(
        again.stdout.lines().take(6).collect::<Vec<_>>(),
        entries,
        "{}",
        again.dump()
    );
}

#[test]
fn script_a_host_that_is_not_up_fails_before_any_call() {
    let net = format!("none{}", std::process::id() % 1_000_000);
    let o = script(ACROSS, &["--net", &net]);
    o.assert_code(1);
    assert_eq!(
        o.stdout,
        format!(
            "server@a | openat(AT_FDCWD, \"/run/netns/{net}-a\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)\n"
        ),
        "{}",
        o.dump()
    );
    assert_eq!(
        o.stderr,
        format!(
            "socklab: host a of the lab network '{net}' is not there (/run/netns/{net}-a: no such \
             namespace); hint: bring the network up first: socklab net up --name {net} (a network \
             of another name: script --net NAME)\n"
        ),
        "{}",
        o.dump()
    );
}

#[test]
fn script_an_actors_host_is_fixed_at_its_first_line() {
    let o = script(
        "client | s = socket(AF_INET, SOCK_STREAM, 0)\n\
         client@b | close(s)\n\
         server@c | x = socket(AF_INET, SOCK_STREAM, 0)\n\
         w@a | y = socket(AF_INET, SOCK_STREAM, 0)\n\
         w@b | close(y)\n\
         w@a | close(y)\n",
        &[],
    );
    o.assert_code(2);
    assert!(o.stdout.is_empty(), "{}", o.dump());
    o.stderr_has(
        "-:2:8: 'client' ran line 1 in socklab's own network namespace: an actor's host is \
         fixed at its first line (write 'client@b | ' there)\n",
    )
    .stderr_has("-:3:8: unknown host 'c': the lab network's hosts are a and b (socklab net up)\n")
    .stderr_has("-:5:3: 'w' is on host a (line 4): an actor's host is fixed at its first line\n")
    .stderr_has("-: 3 errors in the script; no call was made");
}

#[test]
fn shell_says_a_host_is_not_up_and_goes_on() {
    let net = format!("none{}", std::process::id() % 1_000_000);
    let o = harness::run(
        socklab(&["shell", "--net", &net]),
        b"client@b | c = socket(AF_INET, SOCK_STREAM, 0)\nsocket(AF_INET, SOCK_DGRAM, 0) = 3\n",
    );
    o.assert_code(1)
        .stdout_has(&format!(
            "error: host b of the lab network '{net}' is not there"
        ))
        .stdout_has("socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3");
}

#[test]
fn script_emit_writes_an_actor_on_a_host() {
    // Its thread enters the host first (tests/suite/script/emit_records.rs
    // runs the twins on a lab network).
    let c = harness::run(
        socklab(&["script", "-", "--emit", "c"]),
        b"client@b | c = socket(AF_INET, SOCK_STREAM, 0)\n",
    );
    c.assert_ok();
    assert!(
        c.stdout
            .contains("{.name = \"client\", .host = \"b\", .enter = EnterHost}"),
        "{}",
        c.dump()
    );
    let p = harness::run(
        socklab(&["script", "-", "--emit", "python"]),
        b"client@b | c = socket(AF_INET, SOCK_STREAM, 0)\n",
    );
    p.assert_ok();
    assert!(
        p.stdout
            .contains("start([Actor(\"client\", enter_host, \"b\")])"),
        "{}",
        p.dump()
    );
}
