//! `socklab lab`: each lab observes its phenomenon (exit 0, a PASS verdict)
//! and shows the key line of its timeline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod all;
mod network;
mod partial_send;
mod roundtrip;
pub(crate) mod roundtrip_net;
mod scripted;
mod timeline;
mod uring;

use crate::harness::{Outcome, run, socklab};

/// Run `socklab lab NAME`; assert its verdict line says PASS and exit 0.
/// Its timeline without the tasks' `[pid N] ` (`harness::untasked`).
fn lab(name: &str) -> Outcome {
    let mut o = run(socklab(&["lab", name]), b"");
    o.stdout = crate::harness::untasked(&o.stdout);
    o.assert_ok();
    let verdict = format!("lab {name}: observed ");
    let last = o.stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with(&verdict) && last.ends_with(": PASS"),
        "verdict line\n{}",
        o.dump()
    );
    o
}

/// Assert a line holds every fragment (fd numbers vary between runs):
/// a line as printed, or a call split as strace -f splits it
/// (`<unfinished ...>` ... `<... NAME resumed>`) joined again.
fn line_with(o: &Outcome, parts: &[&str]) {
    let text = crate::harness::untasked(&o.stdout);
    assert!(
        text.lines()
            .chain(joined(&text).iter().map(String::as_str))
            .any(|l| parts.iter().all(|p| l.contains(p))),
        "no line with {parts:?}\n{}",
        o.dump()
    );
}

/// The calls a timeline split into `SIDE | NAME(ARGS <unfinished ...>`
/// and `SIDE | <... NAME resumed>REST`, each joined into the whole line
/// `SIDE | NAME(ARGSREST` (as strace -f users join them).
fn joined(stdout: &str) -> Vec<String> {
    let mut open: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for l in stdout.lines() {
        let Some((side, rest)) = l.split_once(" | ") else {
            continue;
        };
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.push((side.to_string(), head.to_string()));
        } else if let Some(tail) = rest.strip_prefix("<... ")
            && let Some((_, tail)) = tail.split_once(" resumed>")
            && let Some(i) = open.iter().position(|(s, _)| s == side)
        {
            let (_, head) = open.remove(i);
            out.push(format!("{side} | {head}{tail}"));
        }
    }
    out
}

#[test]
fn lab_list_names_every_lab_with_its_question() {
    let o = run(socklab(&["lab", "list"]), b"");
    o.assert_ok();
    for name in [
        "phone-call",
        "comm-loop",
        "empty-send",
        "peer-close",
        "connect-twice",
        "close-vs-blocked-accept",
        "nagle-stall",
    ] {
        o.stdout_has(&format!("{name} "));
    }
}

#[test]
fn lab_unknown_name_is_a_usage_error() {
    let o = run(socklab(&["lab", "no-such-lab"]), b"");
    o.assert_code(2).stderr_has("no lab named 'no-such-lab'");
}

#[test]
fn lab_refuses_the_trace_and_inspection_switches() {
    for flag in ["--trace", "--show-state", "--step"] {
        let o = run(socklab(&["lab", "phone-call", flag]), b"");
        o.assert_code(2)
            .stderr_has("a lab always prints its own timeline");
        assert!(o.stdout.is_empty(), "{}", o.dump());
    }
}

#[test]
fn lab_phone_call() {
    let o = lab("phone-call");
    line_with(
        &o,
        &[
            "server | recvfrom(",
            r#""linhaifeng nb", 1024, 0, NULL, NULL) = 13"#,
        ],
    );
    line_with(
        &o,
        &[
            "client | recvfrom(",
            r#""LINHAIFENG NB", 1024, 0, NULL, NULL) = 13"#,
        ],
    );
}

#[test]
fn lab_comm_loop() {
    let o = lab("comm-loop");
    line_with(
        &o,
        &[
            "client | recvfrom(",
            r#""HOW ARE YOU", 11, 0, NULL, NULL) = 11"#,
        ],
    );
    line_with(
        &o,
        &["server | recvfrom(", r#""", 1024, 0, NULL, NULL) = 0"#],
    );
}

#[test]
fn lab_empty_send() {
    let o = lab("empty-send");
    line_with(&o, &["client | sendto(", r#", "", 0, 0, NULL, 0) = 0"#]);
    o.stdout_has("nothing went on the wire")
        .stdout_has("recvfrom()=0: a datagram arrived");
}

#[test]
fn lab_peer_close() {
    let o = lab("peer-close");
    line_with(
        &o,
        &["server | recvfrom(", r#", "", 1024, 0, NULL, NULL) = 0"#],
    );
    o.stdout_has("10000 of 10000 recv returned 0");
}

#[test]
fn lab_serial_accept() {
    let o = lab("serial-accept");
    line_with(&o, &["B | poll(", "POLLIN}], 1, 300) = 0 (Timeout)"]);
    o.stdout_has("B is ESTABLISHED; the listener's accept queue holds 1");
}

#[test]
fn lab_udp_concurrent() {
    let o = lab("udp-concurrent");
    line_with(
        &o,
        &[
            "server | recvfrom(",
            r#", "", 1024, 0, {sa_family=AF_INET"#,
            ") = 0",
        ],
    );
    o.stdout_has("datagram sizes [13, 0, 13, 2, 2]");
}

#[test]
fn lab_time_wait() {
    let o = lab("time-wait");
    line_with(
        &o,
        &[
            "server | bind(",
            ") = -1 EADDRINUSE (Address already in use)",
        ],
    );
    o.stdout_has("timer:(timewait,")
        .stdout_has("TCP_TIMEWAIT_LEN, 60 s");
}

#[test]
fn lab_sticky_packets() {
    let o = lab("sticky-packets");
    line_with(
        &o,
        &["client | setsockopt(", "SOL_TCP, TCP_NODELAY, [1], 4) = 0"],
    );
    o.stdout_has(r#"readline() gave ["first line", "second line", "third line"]"#);
    // Nagle is not harmless on loopback: the text says what it costs.
    o.stdout_has("a send-send-wait exchange takes about 40 ms with Nagle, well under a millisecond with TCP_NODELAY");
    assert!(!o.stdout.contains("little to hold back"), "{}", o.dump());
}

#[test]
fn lab_connect_ex() {
    let o = lab("connect-ex");
    line_with(
        &o,
        &[
            "client | poll(",
            "events=POLLOUT|POLLERR}], 1, 200) = 0 (Timeout)",
        ],
    );
    o.stdout_has("observed: 0, 111 (ECONNREFUSED), 115 (EINPROGRESS), 11 (EAGAIN)");
}

#[test]
fn lab_blocking_modes() {
    let o = lab("blocking-modes");
    line_with(
        &o,
        &[
            "client | recvfrom(",
            ") = -1 EAGAIN (Resource temporarily unavailable)",
        ],
    );
    line_with(
        &o,
        &["client | poll(", "events=POLLIN}], 1, 300) = 0 (Timeout)"],
    );
}

#[test]
fn lab_backlog() {
    let o = lab("backlog");
    line_with(
        &o,
        &["client | poll(", "events=POLLOUT}], 1, 250) = 0 (Timeout)"],
    );
    o.stdout_has("completed per backlog 0→1, 1→2, 2→3, 5→6");
}

#[test]
fn lab_reuseport() {
    let o = lab("reuseport");
    line_with(
        &o,
        &[
            "srv-2 | bind(",
            ") = -1 EADDRINUSE (Address already in use)",
        ],
    );
    line_with(
        &o,
        &[
            "srv-2 | setsockopt(",
            "SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0",
        ],
    );
}

#[test]
fn lab_half_close() {
    let o = lab("half-close");
    line_with(&o, &["client | shutdown(", ", SHUT_WR) = 0"]);
    line_with(
        &o,
        &["client | recvfrom(", r#""REQUEST", 64, 0, NULL, NULL) = 7"#],
    );
    o.stdout_has("is CLOSE_WAIT (TCP_INFO)");
}

#[test]
fn lab_rst() {
    let o = lab("rst");
    line_with(
        &o,
        &[
            "client | setsockopt(",
            "SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0",
        ],
    );
    line_with(
        &o,
        &[
            "server | recvfrom(",
            ") = -1 ECONNRESET (Connection reset by peer)",
        ],
    );
}

#[test]
fn lab_sigpipe() {
    let o = lab("sigpipe");
    line_with(&o, &["   ign | sendto(", ") = -1 EPIPE (Broken pipe)"]);
    // The killed child's fatal call, then what strace -f shows after it.
    let text = &o.stdout;
    let fatal = "   dfl | sendto(";
    let at = text.rfind(fatal).expect("dfl's last sendto");
    let after: Vec<&str> = text[at..].lines().take(3).collect();
    assert!(
        after[0].ends_with(") = -1 EPIPE (Broken pipe)"),
        "{}",
        o.dump()
    );
    assert!(
        after[1].starts_with("   dfl | --- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid="),
        "{}",
        o.dump()
    );
    assert_eq!(
        after[2],
        "   dfl | +++ killed by SIGPIPE +++",
        "{}",
        o.dump()
    );
    line_with(
        &o,
        &[
            "server | dfl = clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, ",
        ],
    );
    line_with(
        &o,
        &[
            "server | wait4(",
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE}], 0, NULL) = ",
        ],
    );
    o.stdout_has("killed by signal 13 (SIGPIPE)");
}

#[test]
fn lab_udp_refused() {
    let o = lab("udp-refused");
    line_with(
        &o,
        &[
            "client | recvfrom(",
            ") = -1 ECONNREFUSED (Connection refused)",
        ],
    );
    line_with(
        &o,
        &["client | poll(", "events=POLLIN}], 1, 300) = 0 (Timeout)"],
    );
}

#[test]
fn lab_unix_family() {
    let o = lab("unix-family");
    line_with(
        &o,
        &["server | bind(", "stream.sock\"}, ", ") = -1 EADDRINUSE"],
    );
    line_with(
        &o,
        &[
            "client | connect(",
            "stream.sock\"}, ",
            ") = -1 ECONNREFUSED",
        ],
    );
    o.stdout_has("mode 000 EACCES, mode 0777 connected");
    // As root a fork gives up root, each call on the timeline.
    if o.stdout.contains("user nobody") {
        for want in [
            "server | nobody = clone(",
            "nobody | setgroups(0, NULL) = 0",
            "nobody | setgid(65534) = 0",
            "nobody | setuid(65534) = 0",
            "nobody | +++ exited with 0 +++",
        ] {
            o.stdout_has(want);
        }
    }
    o.stdout_has("lab | unlinkat(");
    // Nothing left behind: the lab's directory is gone.
    let dir = o
        .stdout
        .lines()
        .find_map(|l| l.split("sun_path=\"").nth(1))
        .and_then(|p| p.rsplit_once('/'))
        .map(|(d, _)| d.to_string())
        .expect("a socket path");
    assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
}

/// As root, the unix-family lab connects as user nobody. When it
/// re-executed socklab for that, from a directory nobody cannot search
/// (root's `~/.cargo/bin` under a 0700 `/root`) exec by the binary's path
/// failed: `cannot start the child process: Permission denied`, FAIL. Now
/// the child is a fork (no exec): still run from such a directory.
#[test]
fn lab_unix_family_runs_its_nobody_child_from_a_private_directory() {
    // SAFETY: geteuid only reads the process's effective uid.
    if unsafe { libc::geteuid() } != 0 {
        return; // as another user the lab makes no child (nothing to show)
    }
    let dir = crate::harness::TempDir::new("labbin");
    let exe = dir.path("socklab");
    std::fs::copy(crate::harness::bin(), &exe).unwrap();
    let mode = std::fs::metadata(dir.dir()).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    // A copied binary may be busy for a moment (ETXTBSY) while another
    // test thread's fork still holds the copy's write fd: wait it out.
    for _ in 0..100 {
        match std::process::Command::new(&exe).arg("--version").output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => break,
        }
    }
    let mut cmd = std::process::Command::new(&exe);
    cmd.args(["lab", "unix-family"]);
    let o = run(cmd, b"");
    o.assert_ok();
    o.stdout_has("user nobody (uid 65534): mode 000 EACCES, mode 0777 connected");
}

#[test]
fn lab_json_gives_events_with_times() {
    let o = run(socklab(&["lab", "phone-call", "--json"]), b"");
    o.assert_ok();
    for line in o.stdout.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "{line}\n{}",
            o.dump()
        );
    }
    o.stdout_has(r#""event":"start""#)
        .stdout_has(r#""side":"server","call":"accept4""#)
        .stdout_has(r#""event":"verdict""#)
        .stdout_has(r#""pass":true"#);
}
