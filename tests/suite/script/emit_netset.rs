//! Issue 17: `net | set SPEC` in the emitted twins. The C and the Python
//! twin ask the lab network's forwarder for the link change with the
//! calls socklab's runner makes (socket, connect to /run/socklab/NET/ctl,
//! getsockopt SO_PEERCRED, write "set SPEC\n", shutdown, poll, read,
//! close: src/script/emit/runtime_link.*), at the same point; the C
//! twin's trace replays, its control exchange read back as `net | set
//! SPEC` on the replay's network (src/script/ctl_calls.rs). The labs that
//! change their link mid-run (rto-backoff, keepalive) have their twins.

use std::cell::RefCell;
use std::process::Command;

use super::emit_records::net_twins;
use crate::harness::{TempDir, run, socklab};

/// The calls of the control exchange the socket rows' set does not name,
/// traced (`,read,write`) while a test's link changes: its request and its
/// answer (the replay reads the SPEC in the write). Not for every twin: a
/// process actor's pipe traffic would split its other lines (strace -f's
/// `<unfinished ...>`), which emit_trace.rs reads whole.
pub(super) fn ctl_calls() -> &'static str {
    if LINK.with(|l| l.borrow().is_some()) {
        ",read,write"
    } else {
        ""
    }
}

/// The network labs whose records change the link mid-way.
pub(super) const NET_SET: &[&str] = &["rto-backoff", "keepalive"];

thread_local! {
    /// The SPEC that puts the test's network back as it came up, before
    /// each run (None: the test's link never changes).
    static LINK: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Each run of a record that changes the link starts from the link as it
/// came up (`socklab net set clear`), with no TCP socket left in either
/// host (`ss -K`: keepalive's server leaves its FIN unanswered behind a
/// link that was down, a FIN-WAIT-1 orphan on port 9011 that the next
/// run's bind would meet).
pub(super) fn reset_link(net: &str) {
    let Some(spec) = LINK.with(|l| l.borrow().clone()) else {
        return;
    };
    run(socklab(&["net", "set", "--name", net, &spec]), b"").assert_ok();
    for host in ["a", "b"] {
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("{net}-{host}"), "ss", "-K", "-ta"])
            .output()
            .unwrap();
        assert!(out.status.success(), "ss -K: {out:?}");
    }
}

pub(super) fn link_twins(lab: &str, key: &str) {
    LINK.with(|l| *l.borrow_mut() = Some("clear".into()));
    net_twins(lab, key);
    LINK.with(|l| *l.borrow_mut() = None);
}

/// Sends into a blackhole: `net | set blackhole` after the connect.
#[test]
fn emit_twins_record_of_lab_rto_backoff() {
    link_twins("rto-backoff", "r");
}

/// The link goes down while the connection is idle.
#[test]
fn emit_twins_record_of_lab_keepalive() {
    link_twins("keepalive", "k");
}

const CHANGES: &str = "s = socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n\
                       net | set blackhole\n\
                       close(s) = 0\n\
                       net | set delay=5ms,blackhole=off\n";

/// Both twins carry each `net | set` line (the step it comes before, its
/// line, its SPEC) and the control exchange; without the network they
/// fail at the line, exit 1, with socklab's hint. Before, `--emit`
/// refused the line (exit 2).
#[test]
fn emit_net_set_lines_are_the_forwarders_requests_in_both_twins() {
    let dir = TempDir::new("emit-netset");
    let file = dir.path("changes.script");
    std::fs::write(&file, CHANGES).unwrap();
    let c = run(socklab(&["script", &file, "--emit", "c"]), b"");
    c.assert_ok();
    for needle in [
        "\t{1, 2, \"blackhole\"},\n\t{2, 4, \"delay=5ms,blackhole=off\"},\n",
        "static const int RETURNS_BY[] = {0, 0};",
        "\"/run/socklab/%s/ctl\"",
        "getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len);",
        "snprintf(req, sizeof req, \"set %s\\n\", spec);",
        "\tSetLinksBefore(i); /* the `net | set` lines before it */",
    ] {
        assert!(c.stdout.contains(needle), "{needle}\n{}", c.dump());
    }
    let py = run(socklab(&["script", &file, "--emit", "python"]), b"");
    py.assert_ok();
    for needle in [
        "    (1, 2, \"blackhole\"),\n    (2, 4, \"delay=5ms,blackhole=off\"),\n",
        "RETURNS_BY = [0, 0]",
        "s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)",
        "os.write(s.fileno(), f\"set {spec}\\n\".encode())",
    ] {
        assert!(py.stdout.contains(needle), "{needle}\n{}", py.dump());
    }
    // A script without the line has none of it.
    let plain = run(
        socklab(&["script", "-", "--emit", "c"]),
        b"s = socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n",
    );
    plain.assert_ok();
    assert!(!plain.stdout.contains("SetLink("), "{}", plain.dump());
    // No such network: the C twin stops at the line.
    let net = format!("nonet{}", std::process::id() % 100_000);
    let bin = super::emit::build_c(&dir, &file);
    let mut cmd = bin;
    cmd.arg(&net);
    let out = run(cmd, b"");
    out.assert_code(1);
    assert!(
        out.stderr.contains(&format!(
            "{file}:2: net | set blackhole\n  the lab network '{net}' is not up (/run/socklab/{net}/ctl: No such file or directory); hint: bring it up first: socklab net up --name {net}"
        )),
        "{}",
        out.dump()
    );
}

/// A program's control exchange, as strace -f shows it, is a link change
/// when replayed: with no network, `socklab script` fails before its first
/// call with the hint of a `net | set` line (its calls would have gone to
/// the path the trace names instead).
#[test]
fn script_reads_a_traced_control_exchange_as_a_link_change() {
    let net = format!("nonet{}", std::process::id() % 100_000);
    let text = "[pid 7] socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
[pid 7] socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 4
[pid 7] connect(4, {sa_family=AF_UNIX, sun_path=\"/run/socklab/other/ctl\"}, 24) = 0
[pid 7] getsockopt(4, SOL_SOCKET, SO_PEERCRED, {pid=99, uid=0, gid=0}, [12]) = 0
[pid 7] write(4, \"set down\\n\", 9) = 9
[pid 7] shutdown(4, SHUT_WR) = 0
[pid 7] poll([{fd=4, events=POLLIN}], 1, 1000) = 1 ([{fd=4, revents=POLLIN|POLLHUP}])
[pid 7] read(4, \"ok\\nlink a>b: down\\nlink b>a: down\"..., 4096) = 41
[pid 7] poll([{fd=4, events=POLLIN}], 1, 1000) = 1 ([{fd=4, revents=POLLIN|POLLHUP}])
[pid 7] read(4, \"\", 4096) = 0
[pid 7] close(4) = 0
[pid 7] close(3) = 0
";
    let out = run(socklab(&["script", "-", "--net", &net]), text.as_bytes());
    out.assert_code(1);
    assert!(
        out.stderr.contains(&format!(
            "the script changes the link of the lab network '{net}', which is not up"
        )),
        "{}",
        out.dump()
    );
    assert!(!out.stdout.contains("socket("), "{}", out.dump());
    // Emitted, the exchange is the twin's link change at line 2.
    let c = run(socklab(&["script", "-", "--emit", "c"]), text.as_bytes());
    c.assert_ok();
    assert!(c.stdout.contains("\t{1, 2, \"down\"},\n"), "{}", c.dump());
}
