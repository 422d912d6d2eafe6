//! The two examples at the top of issue 14, a failed expectation, and
//! scripts with errors (exit 2, no call made).

use super::{lines, norm, script};
use crate::harness;

pub const PHONE_CALL: &str = r#"# the phone call; 'NAME | ' picks the actor, as lab timelines tag lines
server | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
server | bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
server | listen(3, 5) = 0
server | getsockname(3, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
client | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4
client | connect(4, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
server | accept4(3, ..., ..., SOCK_CLOEXEC) = 5
client | sendto(4, "hello", 5, 0, NULL, 0) = 5
server | recvfrom(5, "hello", 1024, 0, NULL, NULL) = 5
server | sendto(5, "HELLO", 5, 0, NULL, 0) = 5
client | recvfrom(4, "HELLO", 1024, 0, NULL, NULL) = 5
client | close(4) = 0
server | recvfrom(5, "", 1024, 0, NULL, NULL) = 0
server | close(5) = 0
server | close(3) = 0
"#;

pub const CONNECT_TWICE: &str = "# connect twice, with names and the short forms
s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
listen(s, 1) = 0
getsockname(s, 127.0.0.1:40001, ...) = 0
c = socket(AF_INET, SOCK_STREAM, 0)
connect(c, 127.0.0.1:40001) = 0
connect(c, 127.0.0.1:40001) = -1 EISCONN
";

#[test]
fn script_phone_call_replays_with_its_labels() {
    let out = script(PHONE_CALL, &[]);
    out.assert_ok();
    let addr = r#"{sa_family=AF_INET, sin_port=htons(P), sin_addr=inet_addr("127.0.0.1")}"#;
    let want = [
        "server | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3".to_string(),
        r#"server | bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#.into(),
        "server | listen(3, 5) = 0".into(),
        format!("server | getsockname(3, {addr}, [128 => 16]) = 0"),
        "client | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4".into(),
        format!("client | connect(4, {addr}, 16) = 0"),
        format!("server | accept4(3, {addr}, [128 => 16], SOCK_CLOEXEC) = 5"),
        r#"client | sendto(4, "hello", 5, 0, NULL, 0) = 5"#.into(),
        r#"server | recvfrom(5, "hello", 1024, 0, NULL, NULL) = 5"#.into(),
        r#"server | sendto(5, "HELLO", 5, 0, NULL, 0) = 5"#.into(),
        r#"client | recvfrom(4, "HELLO", 1024, 0, NULL, NULL) = 5"#.into(),
        "client | close(4) = 0".into(),
        r#"server | recvfrom(5, "", 1024, 0, NULL, NULL) = 0"#.into(),
        "server | close(5) = 0".into(),
        "server | close(3) = 0".into(),
    ];
    assert_eq!(lines(&out), want, "{}", out.dump());
    // The port the server got is the one the client connected to.
    let port = |l: &str| {
        l.split("htons(")
            .nth(1)
            .map(|r| r.split(')').next().unwrap().to_string())
    };
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(port(got[3]), port(got[5]), "{}", out.dump());
    assert_ne!(port(got[3]).as_deref(), Some("40000"));
}

#[test]
fn script_connect_twice_with_names_and_short_forms() {
    let out = script(CONNECT_TWICE, &[]);
    out.assert_ok();
    let l = lines(&out);
    assert_eq!(
        l[0],
        "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3",
        "{}",
        out.dump()
    );
    assert_eq!(
        l[1],
        r#"bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#
    );
    assert_eq!(l[2], "listen(3, 1) = 0");
    assert!(
        l[3].starts_with("getsockname(3, {sa_family=AF_INET, sin_port=htons(P)"),
        "{}",
        out.dump()
    );
    assert_eq!(l[4], "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 4");
    assert!(
        l[5].starts_with("connect(4, {sa_family=AF_INET, sin_port=htons(P)")
            && l[5].ends_with(", 16) = 0")
    );
    assert!(
        l[6].ends_with(", 16) = -1 EISCONN (Transport endpoint is already connected)"),
        "{}",
        out.dump()
    );
    // What the script left open is closed at the end, shown.
    assert_eq!(&l[7..], ["close(3) = 0", "close(4) = 0"], "{}", out.dump());
}

#[test]
fn script_a_failed_expectation_exits_1_with_the_line_expected_and_got() {
    let text = CONNECT_TWICE.replace("= -1 EISCONN", "= 0");
    let out = script(&text, &[]);
    out.assert_code(1)
        .stderr_has("-:8: connect(c, 127.0.0.1:40001) = 0\n")
        .stderr_has("expected result: = 0")
        .stderr_has("got      result: = -1 EISCONN")
        .stderr_has("last calls:")
        .stderr_has("  main | connect(4, ");
    // The fds are still closed at the end.
    assert!(out.stdout.contains("close(4) = 0"), "{}", out.dump());
}

#[test]
fn script_a_received_string_that_differs_fails() {
    let text = PHONE_CALL.replace(r#"recvfrom(4, "HELLO""#, r#"recvfrom(4, "HELLX""#);
    let out = script(&text, &[]);
    out.assert_code(1)
        .stderr_has("-:12: client | recvfrom(4, \"HELLX\"")
        .stderr_has("expected argument 2 (buf): \"HELLX\"")
        .stderr_has("got      argument 2 (buf): \"HELLO\"")
        .stderr_has("server | sendto(5, \"HELLO\"");
}

const BAD: &str = "s = socket(AF_INET, SOCK_STREAM, 0)
frobnicate(s)
listen(s)
bind(s, 127.0.0.1:0, 16, 5)
socket(AF_NOPE, SOCK_STREAM, 0)
connect(t, 127.0.0.1:1)
close(7)
send(s, \"x\") = -1 ENOSUCH
recv(s, 10
";

#[test]
fn script_errors_exit_2_each_with_its_position_and_no_call_is_made() {
    if !harness::have("strace") {
        return;
    }
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=socket,bind,listen,connect,close",
        "-o",
        "/dev/stderr",
    ]);
    cmd.args([harness::bin(), "script", "-"]);
    let out = harness::run(cmd, BAD.as_bytes());
    out.assert_code(2);
    let has = |line: usize, col: Option<usize>, msg: &str| {
        let at = match col {
            Some(c) => format!("-:{line}:{c}: "),
            None => format!("-:{line}:"),
        };
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(msg)),
            "no {at} ... {msg}\n{}",
            out.dump()
        );
    };
    has(2, Some(1), "unknown call 'frobnicate'");
    has(
        3,
        Some(1),
        "listen takes 2 arguments (sockfd, backlog), not 1",
    );
    has(4, Some(1), "bind takes 3 arguments");
    has(5, Some(8), "unknown constant 'AF_NOPE'");
    has(6, Some(9), "'t' is used before a line binds it");
    has(7, Some(7), "fd 7 is never opened by an earlier line");
    has(8, None, "unknown errno 'ENOSUCH'");
    has(9, None, "");
    assert!(
        out.stderr
            .contains("socklab: -: 8 errors in the script; no call was made"),
        "{}",
        out.dump()
    );
    assert!(
        !out.stderr.contains("socket(AF_INET"),
        "a call was made\n{}",
        out.dump()
    );
    assert!(out.stdout.is_empty(), "{}", out.dump());
}

#[test]
fn script_reads_a_file_too() {
    let dir = harness::TempDir::new("script-file");
    let path = dir.path("twice.txt");
    std::fs::write(&path, CONNECT_TWICE).unwrap();
    let out = harness::run(harness::socklab(&["script", &path]), b"");
    out.assert_ok();
    assert!(
        out.stdout.lines().any(|l| norm(l).contains("EISCONN")),
        "{}",
        out.dump()
    );
}

#[test]
fn script_trace_json_gives_the_timeline_as_json_lines() {
    let out = script(PHONE_CALL, &["--trace=json"]);
    out.assert_ok();
    let l: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(l.len(), 15, "{}", out.dump());
    assert!(l[0].starts_with("{\"time\":"), "{}", out.dump());
    assert!(
        l[0].contains("\"side\":\"server\",\"call\":\"socket\""),
        "{}",
        out.dump()
    );
    assert!(
        l[11].contains("\"side\":\"client\",\"call\":\"close\""),
        "{}",
        out.dump()
    );
}

#[test]
fn script_show_state_prints_each_tcp_socket_state_after_its_call() {
    let out = script(CONNECT_TWICE, &["--show-state"]);
    out.assert_ok();
    let l = lines(&out);
    let at = l
        .iter()
        .position(|x| x.starts_with("listen(3, 1) = 0"))
        .unwrap();
    assert_eq!(
        l[at + 1],
        "[state fd 3: LISTEN, accept queue 0 of 1]",
        "{}",
        out.dump()
    );
    assert!(
        l.iter().any(|x| x.starts_with("[state fd 4: ESTABLISHED")),
        "{}",
        out.dump()
    );
}

/// `--wire`: the script's packets among its lines (needs root, as the
/// wire tests do; skipped otherwise, a failure under CI).
#[test]
fn script_wire_shows_the_handshake_among_the_lines() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "capturing needs root"
        );
        return;
    }
    let out = script(PHONE_CALL, &["--wire"]);
    out.assert_ok();
    let l: Vec<&str> = out.stdout.lines().collect();
    let at = |part: &str| {
        l.iter()
            .position(|x| x.contains(part))
            .unwrap_or(usize::MAX)
    };
    let syn = at("Flags [S], seq");
    assert!(syn != usize::MAX, "{}", out.dump());
    assert!(at("client | connect(") < syn, "{}", out.dump());
    assert!(syn < at("server | accept4("), "{}", out.dump());
    assert!(
        at("length 5: \"hello\"") < at("server | recvfrom("),
        "{}",
        out.dump()
    );
}

/// Every script in examples/ runs and its expectations hold (exit 0);
/// each one's key line is in its timeline.
#[test]
fn every_example_script_holds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let key = [
        ("blocked-accept.script", "<... accept4 resumed>"),
        (
            "connect-twice.script",
            "= -1 EISCONN (Transport endpoint is already connected)",
        ),
        (
            "dup-iovec.script",
            "msg_iov=[{iov_base=\"hello\", iov_len=5}, {iov_base=\" world\", iov_len=6}]",
        ),
        (
            "epoll-echo.script",
            "[{events=EPOLLIN|EPOLLRDHUP, data={u32=",
        ),
        (
            "handler-restart.script",
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)",
        ),
        (
            "nonblocking-connect.script",
            "SO_ERROR, [ECONNREFUSED], [4]) = 0",
        ),
        (
            "phone-call.script",
            "client | recvfrom(4, \"HELLO\", 1024, 0, NULL, NULL) = 5",
        ),
        ("signals.script", "w | +++ killed by SIGTERM +++"),
        (
            "udp-echo.script",
            "server | recvfrom(3, \"hi\", 1024, 0, {sa_family=AF_INET, sin_port=htons(",
        ),
        (
            "unix-permissions.script",
            "w | connect(9, {sa_family=AF_UNIX, sun_path=\"unix-example.d/s.sock\"}, 23) = -1 EACCES",
        ),
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".script"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        key.iter().map(|k| k.0).collect::<Vec<_>>(),
        "an example without a key line here"
    );
    for (name, line) in key {
        // It gives up root in a child: as another user setgroups fails.
        // SAFETY: geteuid only reads the process's effective uid.
        if name == "unix-permissions.script" && unsafe { libc::geteuid() } != 0 {
            continue;
        }
        let o = harness::run(harness::socklab(&["script", &format!("{dir}/{name}")]), b"")
            .without_tasks();
        o.assert_ok();
        assert!(o.stdout.contains(line), "{name}: no {line:?}\n{}", o.dump());
    }
}

/// `script --pcap F`: the script's packets in a pcap file (needs root, as
/// the wire tests do; skipped otherwise, a failure under CI): its magic,
/// and a record per packet, the phone call's handshake and data among
/// them (at least 3 SYN/ACK and 2 data segments: 8 or more).
#[test]
fn script_pcap_writes_the_scripts_packets() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "capturing needs root"
        );
        return;
    }
    let dir = harness::TempDir::new("script-pcap");
    let file = dir.path("call.pcap");
    script(PHONE_CALL, &["--pcap", &file]).assert_ok();
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        matches!(
            bytes.get(..4),
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1])
        ),
        "not a pcap file: {:?}",
        bytes.get(..4)
    );
    let (mut at, mut packets) = (24, 0);
    while let Some(h) = bytes.get(at..at + 16) {
        let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        at += 16 + len;
        packets += 1;
    }
    assert_eq!(at, bytes.len(), "the records end with the file");
    assert!(packets >= 8, "{packets} packets");
}
