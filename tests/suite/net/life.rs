//! The network's life: up, show, set, exec, down, a dead forwarder
//! cleaned by the next up, a stop signal on run, root needed, namespaces
//! of the same name that socklab did not make.

use std::process::Command;

use super::{Net, can_run, number_after};
use crate::harness::*;

#[test]
fn net_up_show_set_exec_down_leave_nothing() {
    if !can_run() {
        return;
    }
    let net = Net::new("t-life");
    net.cmd(&["up", "--link", "delay=5ms"])
        .assert_ok()
        .stdout_has(&format!("network {} up", net.name));
    net.cmd(&["up"]).assert_code(1).stderr_has("already up");
    net.cmd(&["show"])
        .assert_ok()
        .stdout_has(&format!(
            "host a: netns {}-a, eth0 192.0.2.1/24 2001:db8::1/64",
            net.name
        ))
        .stdout_has("link a>b: delay=5ms");
    let bad = net.cmd(&["set", "loss=5"]);
    bad.assert_code(2).stderr_has("'loss=5'");
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.dump());
    net.cmd(&["set", "b>a:down"])
        .assert_ok()
        .stdout_has("link b>a: down,delay=5ms");
    net.cmd(&["exec", "b", "--", "ip", "-4", "addr", "show", "eth0"])
        .assert_ok()
        .stdout_has("inet 192.0.2.2/24");
    net.cmd(&["exec", "a", "--", "ip", "route", "get", "1.1.1.1"])
        .assert_code(2);
    // The forwarder dies: the next up says so and cleans what it left.
    let show = net.cmd(&["show"]);
    let pid = number_after(&show.stdout, "forwarder pid ") as i32;
    // SAFETY: the forwarder this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
    {
        std::thread::yield_now();
    }
    net.cmd(&["up"])
        .assert_ok()
        .stderr_has("was left by a forwarder that died: cleaning it up");
    net.cmd(&["down"])
        .assert_ok()
        .stdout_has("removed: forwarder pid");
    net.cmd(&["down"])
        .assert_code(1)
        .stderr_has(&format!("no network '{}'", net.name));
    net.assert_gone();
}

#[test]
fn net_needs_root_one_line_exit_1() {
    let cmd = crate::harness::socklab_as_nobody(&["net", "up", "--name", "t-user"]);
    let o = run(cmd, b"");
    o.assert_code(1)
        .stderr_has("needs root")
        .stderr_has("hint:");
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.dump());
}

#[test]
fn net_run_cleans_up_on_sigterm() {
    if !can_run() {
        return;
    }
    let net = Net::new("t-term");
    let mut cmd = socklab(&["net", "run", "--name", &net.name, "--"]);
    cmd.args(net.peers("sink 192.0.2.1"));
    cmd.arg(":::");
    cmd.args(net.peers("rtt 192.0.2.1 1000000"));
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Up once the forwarder's control socket is there (bounded: a run
    // that never gets there fails here, and is killed).
    let deadline = std::time::Instant::now() + WATCHDOG;
    let ctl = format!("/run/socklab/{}/ctl", net.name);
    while !std::path::Path::new(&ctl).exists() {
        if std::time::Instant::now() > deadline {
            // SAFETY: our child.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let o = finish(child);
            panic!("no {ctl} after {WATCHDOG:?}\n{}", o.dump());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = finish(child);
    assert_eq!(
        o.status.signal_or_code(),
        128 + libc::SIGTERM,
        "{}",
        o.dump()
    );
    net.assert_gone();
}

trait SignalOrCode {
    fn signal_or_code(&self) -> i32;
}

impl SignalOrCode for std::process::ExitStatus {
    fn signal_or_code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.code()
            .unwrap_or_else(|| 128 + self.signal().unwrap_or(0))
    }
}

/// Namespaces named like a network's but without socklab's state
/// directory are someone else's: `up` refuses and `down` leaves them.
#[test]
fn net_leaves_namespaces_it_did_not_make() {
    if !can_run() {
        return;
    }
    // The suite's pid in the name, as Net::new: another worktree's suite
    // may run this test at the same time.
    let name = format!("t-own{}", std::process::id() % 1_000_000);
    let ns = format!("{name}-a");
    run(cmd_ip(&["netns", "add", &ns]), b"").assert_ok();
    let up = run(socklab(&["net", "up", "--name", &name]), b"");
    let down = run(socklab(&["net", "down", "--name", &name]), b"");
    let list = run(cmd_ip(&["netns", "list"]), b"");
    run(cmd_ip(&["netns", "del", &ns]), b"").assert_ok();
    up.assert_code(1)
        .stderr_has("socklab has no record of making them");
    down.assert_code(1)
        .stderr_has(&format!("no network '{name}' to take down"));
    assert!(list.stdout.contains(&ns), "{}", list.dump());
    assert!(!std::path::Path::new(&format!("/run/socklab/{name}")).exists());
}

fn cmd_ip(args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(args);
    c
}
