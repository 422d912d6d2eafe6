//! Issue 17's universal twin: a program's or a lab's `--record`, emitted.
//! `socklab tcp server --model epoll` with a client (both records, joined
//! into one script: the client's lines while the server waits in
//! epoll_wait) and a lab on the lab network (host-unreachable: its
//! `client@b` actor enters host b; the network brought up from the
//! record's `# net:` line, as tests/suite/lab/roundtrip_net.rs does, and
//! taken down): the script, its C twin and its Python twin make the same
//! calls (the epoll calls and the hosts' setns compared too).

use std::process::Command;

use super::emit::{NET, c_twin_with, python_twin};
use crate::harness::{Server, TempDir, bin, run, socklab};

/// A record's calls: comments and socklab's own prlimit64 (the server
/// raises RLIMIT_NOFILE for itself; a script cannot make it) left out.
pub(super) fn calls(record: &str) -> Vec<String> {
    record
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.starts_with("prlimit64("))
        .map(str::to_string)
        .collect()
}

/// The client's fd (its socket's number) as the name `c`.
pub(super) fn client_named(call: &str, fd: &str) -> String {
    if let Some(rest) = call.strip_prefix("socket(") {
        let head = rest.rsplit_once(" = ").map_or(rest, |(h, _)| h);
        return format!("c = socket({head}");
    }
    for end in [", ", ")"] {
        if let Some((name, rest)) = call.split_once(&format!("({fd}{end}")) {
            return format!("{name}(c{end}{rest}");
        }
    }
    call.to_string()
}

/// The server's and the client's records as one script: the server up to
/// its first epoll_wait, the client but its close, the server up to the
/// epoll_wait before the read of its end, the client's close, the rest.
fn joined(server: &str, client: &str) -> String {
    let s = calls(server);
    let c = calls(client);
    let fd = c
        .first()
        .and_then(|l| l.rsplit_once(" = "))
        .map(|(_, fd)| fd.to_string())
        .unwrap();
    let c: Vec<String> = c.iter().map(|l| client_named(l, &fd)).collect();
    let first = s.iter().position(|l| l.starts_with("epoll_wait(")).unwrap();
    let eof = s
        .iter()
        .position(|l| l.contains("\"\", 1024, 0, NULL, NULL) = 0"))
        .unwrap();
    let tag = |who: &str, lines: &[String]| -> String {
        lines.iter().map(|l| format!("{who} | {l}\n")).collect()
    };
    let (c_close, c_rest) = c.split_last().unwrap();
    [
        tag("server", &s[..=first]),
        tag("client", c_rest),
        tag("server", &s[first + 1..eof]),
        tag("client", std::slice::from_ref(c_close)),
        tag("server", &s[eof..]),
    ]
    .concat()
}

#[test]
fn emit_twins_record_of_the_epoll_server_and_a_client() {
    let dir = TempDir::new("emit-epoll-record");
    let s_rec = dir.path("server.script");
    let c_rec = dir.path("client.script");
    let server = Server::start(&[
        "tcp",
        "server",
        "--model",
        "epoll",
        "127.0.0.1:0",
        "--max-conns",
        "1",
        "--record",
        &s_rec,
    ]);
    run(
        socklab(&["tcp", "client", &server.addr, "--record", &c_rec]),
        b"hi\n",
    )
    .assert_ok();
    server.finish().assert_ok();
    let text = joined(
        &std::fs::read_to_string(&s_rec).unwrap(),
        &std::fs::read_to_string(&c_rec).unwrap(),
    );
    assert!(text.contains("server | epoll_wait("), "{text}");
    let file = dir.path("joined.script");
    std::fs::write(&file, &text).unwrap();
    c_twin_with(&file, "epoll-record", true);
    python_twin(&file, "epoll-record");
}

/// A lab network of the test's own, down on drop.
struct Net(String);

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .args(["net", "down", "--name", &self.0])
            .output();
    }
}

/// The words after `socklab net up` on the record's `# net: ` line (this
/// lab's have no quotes).
fn net_words(record: &str) -> Vec<String> {
    let line = record
        .lines()
        .find_map(|l| l.split_once("# net: socklab net up").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no '# net: socklab net up' line\n{record}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn emit_twins_record_of_a_network_lab() {
    // SAFETY: geteuid only reads the process's effective uid.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the lab network needs root; under CI a missing capability is a failure"
        );
        eprintln!("SKIPPED: the lab network needs root");
        return;
    }
    let dir = TempDir::new("emit-net-record");
    let file = dir.path("host-unreachable.script");
    run(
        socklab(&["lab", "host-unreachable", "--record", &file]),
        b"",
    )
    .assert_ok();
    let record = std::fs::read_to_string(&file).unwrap();
    assert!(record.contains("client@b | connect("), "{record}");
    let net = Net(format!("em{}", std::process::id() % 1_000_000));
    let mut args = vec!["net", "up", "--name", net.0.as_str()];
    let words = net_words(&record);
    args.extend(words.iter().map(String::as_str));
    run(socklab(&args), b"").assert_ok();
    NET.with(|n| *n.borrow_mut() = Some(net.0.clone()));
    // No round trip: strace does not know the C thread's host, so its
    // trace as a script would connect from socklab's own namespace.
    c_twin_with(&file, "host-unreachable", false);
    python_twin(&file, "host-unreachable");
    NET.with(|n| *n.borrow_mut() = None);
}

/// Ancillary data received (IP_TOS via IP_RECVTOS): emitted, and the twins
/// make the same calls; the C twin's trace (strace's `cmsg_type=IP_TOS,
/// cmsg_data=[0x10]`, as socklab prints it) replays as a script.
#[test]
fn emit_twins_received_ancillary_data() {
    let dir = TempDir::new("emit-cmsg");
    let file = dir.path("tos.script");
    std::fs::write(
        &file,
        "server | s = socket(AF_INET, SOCK_DGRAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | getsockname(s, 127.0.0.1:40006, ...) = 0
server | setsockopt(s, SOL_IP, IP_RECVTOS, [1], 4) = 0
client | c = socket(AF_INET, SOCK_DGRAM, 0)
client | setsockopt(c, SOL_IP, IP_TOS, [16], 4) = 0
client | sendto(c, \"hello\", 5, 0, 127.0.0.1:40006, 16) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"hello\", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=17, cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=[0x10]}], msg_controllen=64 => 24, msg_flags=0}, 0) = 5
server | close(s) = 0
client | close(c) = 0
",
    )
    .unwrap();
    c_twin_with(&file, "ancillary", true);
    python_twin(&file, "ancillary");
}
