//! Issue 17's universal twin: a program's or a lab's `--record`, emitted.
//! `socklab tcp server --model epoll` with a client (both records, joined
//! into one script: the client's lines while the server waits in
//! epoll_wait) and every lab on the lab network (its `NAME@HOST` actors
//! enter their hosts; the network brought up from the record's `# net:`
//! line, as tests/suite/lab/roundtrip_net.rs does, and taken down): the
//! script, its C twin and its Python twin make the same calls (the epoll
//! calls and the hosts' setns compared too), and the C twin's trace
//! replays (on the network: the replay puts each thread back on the host
//! its setns entered). And inline scripts: received ancillary data, an
//! inet msg_name asked for, a process killed in a blocked accept.

use std::process::Command;

use super::emit::{NET, c_twin_with, python_twin};
use crate::harness::{Server, TempDir, bin, run, socklab};

/// A record's calls, comments left out (the epoll server's prlimit64,
/// raising RLIMIT_NOFILE, is a line both twins make: emit/own.rs).
pub(super) fn calls(record: &str) -> Vec<String> {
    record
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A client's record's calls (as [`calls`]), its socket's fd (the first
/// line's result) named `c`.
pub(super) fn client_calls(record: &str) -> Vec<String> {
    let c = calls(record);
    let fd = c
        .first()
        .and_then(|l| l.rsplit_once(" = "))
        .map(|(_, fd)| fd.to_string())
        .unwrap();
    c.iter().map(|l| client_named(l, &fd)).collect()
}

/// The client's fd (its socket's number) as the name `c`.
fn client_named(call: &str, fd: &str) -> String {
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
    let c = client_calls(client);
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
pub(super) fn emit_twins_record_of_the_epoll_server_and_a_client() {
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
pub(super) struct Net(pub(super) String);

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .args(["net", "down", "--name", &self.0])
            .output();
    }
}

/// A network lab's record, its twins run on a network brought up from
/// the record's `# net:` line; the C twin's trace replays there (each
/// thread's openat of /run/netns/NET-HOST and setns put its actor back
/// on its host: script/hosts.rs).
pub(super) fn net_twins(lab: &str, key: &str) {
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
    let file = dir.path(&format!("{lab}.script"));
    run(socklab(&["lab", lab, "--record", &file]), b"").assert_ok();
    let record = std::fs::read_to_string(&file).unwrap();
    assert!(
        record.contains("@a | ") || record.contains("@b | "),
        "{lab}: no actor on a host\n{record}"
    );
    let net = Net(format!("em{key}{}", std::process::id() % 1_000_000));
    let mut args = vec![
        "net".to_string(),
        "up".into(),
        "--name".into(),
        net.0.clone(),
    ];
    args.extend(crate::lab::roundtrip_net::net_up_args(&record));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(socklab(&refs), b"").assert_ok();
    NET.with(|n| *n.borrow_mut() = Some(net.0.clone()));
    c_twin_with(&file, lab, true);
    python_twin(&file, lab);
    NET.with(|n| *n.borrow_mut() = None);
}

macro_rules! net_twins {
    ($($test:ident: $lab:literal $key:literal,)*) => {
        /// The network labs whose records are emitted.
        pub(super) const NET_EMITTED: &[&str] = &[$($lab),*];
        $(
            #[test]
            fn $test() {
                net_twins($lab, $key);
            }
        )*
    };
}

net_twins! {
    emit_twins_record_of_lab_syn_timeout: "syn-timeout" "s",
    emit_twins_record_of_lab_host_unreachable: "host-unreachable" "h",
    emit_twins_record_of_lab_udp_loss: "udp-loss" "u",
    emit_twins_record_of_lab_nagle_rtt: "nagle-rtt" "n",
    emit_twins_record_of_lab_pmtu: "pmtu" "p",
    emit_twins_record_of_lab_slow_start: "slow-start" "w",
}

#[test]
fn emit_covers_every_network_lab() {
    let mut ours: Vec<&str> = NET_EMITTED
        .iter()
        .chain(super::emit_netset::NET_SET)
        .copied()
        .collect();
    let mut all = crate::lab::roundtrip_net::NET_SAME.to_vec();
    ours.sort_unstable();
    all.sort_unstable();
    assert_eq!(ours, all, "a network lab without its twin test");
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

/// An inet msg_name asked for in a recvmsg (the sender's address, its
/// port a label) beside one asked as NULL: the Python twin's recvmsg
/// passes an address buffer in both (the allow-list), and the comparison
/// takes it back only where the script's line passed none; the asked-for
/// name is compared as it came.
#[test]
fn emit_twins_recvmsg_asks_for_an_inet_name() {
    let dir = TempDir::new("emit-name");
    let file = dir.path("name.script");
    std::fs::write(
        &file,
        "server | s = socket(AF_INET, SOCK_DGRAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | getsockname(s, 127.0.0.1:40006, ...) = 0
client | c = socket(AF_INET, SOCK_DGRAM, 0)
client | bind(c, 127.0.0.1:0) = 0
client | getsockname(c, 127.0.0.1:40007, ...) = 0
client | sendto(c, \"hello\", 5, 0, 127.0.0.1:40006, 16) = 5
server | recvmsg(s, {msg_name={sa_family=AF_INET, sin_port=htons(40007), sin_addr=inet_addr(\"127.0.0.1\")}, msg_namelen=128 => 16, msg_iov=[{iov_base=\"hello\", iov_len=16}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 5
client | sendto(c, \"again\", 5, 0, 127.0.0.1:40006, 16) = 5
server | recvmsg(s, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"again\", iov_len=16}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 5
server | close(s) = 0
client | close(c) = 0
",
    )
    .unwrap();
    c_twin_with(&file, "inet-name", true);
    python_twin(&file, "inet-name");
}

/// A process actor blocked in accept killed by a thread actor's kill (its
/// pid written: the fork's result names it), another ending itself with
/// exit_group(3), its parent's wait4: the twins make the same calls. No
/// round trip: strace shows the cut accept as `-1 EINTR` where socklab
/// (and a script) writes `= ? ERESTARTSYS`.
#[test]
fn emit_twins_kill_a_process_blocked_in_accept() {
    let dir = TempDir::new("emit-kill");
    let file = dir.path("kill.script");
    std::fs::write(
        &file,
        "server | l = socket(AF_INET, SOCK_STREAM, IPPROTO_IP)
server | bind(l, 127.0.0.1:0) = 0
server | listen(l, 1) = 0
server | w = fork() = 4242
     w | signal(SIGTERM, SIG_DFL) = 0
     w | accept(l, NULL, NULL) = ?
  boss | kill(4242, SIGTERM) = 0
server | x = fork()
     x | exit_group(3) = ?
server | wait4(x, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 77
server | close(l) = 0
",
    )
    .unwrap();
    c_twin_with(&file, "kill", false);
    python_twin(&file, "kill");
}

/// A lab whose record has a failed accept (`accept(3, 0x7ffd..., [128])
/// = -1 EINVAL`: strace prints the buffer's address, nothing was
/// written): both twins emit it, as a buffer to pass, and make its calls.
#[test]
fn emit_twins_record_of_labs_with_a_failed_accept() {
    for lab in ["accept-without-listen", "close-vs-blocked-accept"] {
        let dir = TempDir::new("emit-failed-accept");
        let rec = dir.path("rec.script");
        run(socklab(&["--record", &rec, "lab", lab]), b"").assert_ok();
        c_twin_with(&rec, lab, false);
        python_twin(&rec, lab);
    }
}
