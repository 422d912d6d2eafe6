//! recvmmsg and sendmmsg as script lines (issue 14 rule 7): the batch UDP
//! server's record replays with its client, and a written script's calls
//! are the ones strace sees.

use super::emit_records::{calls, client_calls};
use super::script;
use crate::harness::{Server, TempDir, run, socklab};

/// `udp server --batch 4 --record` with `udp client --record` (two
/// messages), joined as one script (the client's fd named `c`): the server
/// up to its first recvmmsg, the client's first exchange, the server's
/// first recvmmsg/sendmmsg, and so on.
pub(super) fn joined(dir: &TempDir) -> String {
    let (s_rec, c_rec) = (dir.path("server.script"), dir.path("client.script"));
    let server = Server::start(&[
        "udp",
        "server",
        "127.0.0.1:0",
        "--batch",
        "4",
        "--max-conns",
        "2",
        "--record",
        &s_rec,
    ]);
    let addr = server.addr.clone();
    run(
        socklab(&[
            "udp", "client", &addr, "-m", "one", "-m", "two", "--record", &c_rec,
        ]),
        b"",
    )
    .assert_ok();
    server.finish().assert_ok();
    let s = calls(&std::fs::read_to_string(&s_rec).unwrap());
    let c = client_calls(&std::fs::read_to_string(&c_rec).unwrap());
    assert_eq!(
        s.iter().filter(|l| l.starts_with("recvmmsg(")).count(),
        2,
        "{s:?}"
    );
    assert_eq!(
        s.iter().filter(|l| l.starts_with("sendmmsg(")).count(),
        2,
        "{s:?}"
    );
    // server: socket, bind, getsockname | recvmmsg, sendmmsg (x2) | close;
    // client: socket, sendto, recvfrom (x2) | close.
    let tag = |who: &str, lines: &[String]| -> String {
        lines.iter().map(|l| format!("{who} | {l}\n")).collect()
    };
    [
        tag("server", &s[..3]),
        tag("client", &c[..3]),
        tag("server", &s[3..5]),
        tag("client", &c[3..5]),
        tag("server", &s[5..]),
        tag("client", &c[5..]),
    ]
    .concat()
}

#[test]
fn script_record_of_the_batch_udp_server_replays_with_its_client() {
    let dir = TempDir::new("mmsg-rec");
    let text = joined(&dir);
    let file = dir.path("joined.script");
    std::fs::write(&file, &text).unwrap();
    let mut replay = run(socklab(&["script", &file]), b"");
    replay.assert_ok();
    replay.stdout = crate::harness::untasked(&replay.stdout);
    for needle in [
        "server | recvmmsg(",
        "iov_base=\"one\", iov_len=1024}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}], 2, MSG_WAITFORONE, NULL) = 1",
        "msg_iov=[{iov_base=\"TWO\", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}], 1, 0) = 1",
    ] {
        assert!(
            replay.stdout.contains(needle),
            "{needle}\n{}",
            replay.dump()
        );
    }
    // An expectation on the bytes received fails with the line.
    let wrong = text.replacen("iov_base=\\\"one\\\"", "iov_base=\\\"oNe\\\"", 1);
    let wrong = wrong.replacen("iov_base=\"one\"", "iov_base=\"oNe\"", 1);
    assert_ne!(wrong, text);
    let file = dir.path("wrong.script");
    std::fs::write(&file, &wrong).unwrap();
    let bad = run(socklab(&["script", &file]), b"");
    assert_eq!(bad.code(), Some(1), "{}", bad.dump());
    assert!(bad.stderr.contains("server | recvmmsg("), "{}", bad.dump());
}

/// A written script: two datagrams in one sendmmsg, one recvmmsg of both
/// (the bytes and each msg_len expected), a connected sendmmsg (msg_name
/// NULL); K and msg_len checked, a wrong K exits 1.
pub(super) const TWO: &str = "\
a = socket(AF_INET, SOCK_DGRAM, 0)
bind(a, 127.0.0.1:0)
getsockname(a, {sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr(\"127.0.0.1\")}, [16])
b = socket(AF_INET, SOCK_DGRAM, 0)
bind(b, 127.0.0.1:0)
getsockname(b, {sa_family=AF_INET, sin_port=htons(40002), sin_addr=inet_addr(\"127.0.0.1\")}, [16])
connect(b, {sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr(\"127.0.0.1\")}, 16)
sendmmsg(b, [{msg_hdr={msg_name=NULL, msg_iov=[{iov_base=\"hi\", iov_len=2}]}}, {msg_hdr={msg_name=NULL, msg_iov=[{iov_base=\"there\", iov_len=5}]}}], 2, 0) = 2
recvmmsg(a, [{msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40002), sin_addr=inet_addr(\"127.0.0.1\")}, msg_iov=[{iov_base=\"hi\", iov_len=64}]}, msg_len=2}, {msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40002), sin_addr=inet_addr(\"127.0.0.1\")}, msg_iov=[{iov_base=\"there\", iov_len=64}]}, msg_len=5}], 4, MSG_DONTWAIT, NULL) = 2
sendmmsg(a, [{msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(40002), sin_addr=inet_addr(\"127.0.0.1\")}, msg_iov=[{iov_base=\"back\", iov_len=4}]}}], 1, 0) = 1
recvfrom(b, \"back\", 64, 0, NULL, NULL) = 4
";

#[test]
fn script_sendmmsg_and_recvmmsg_lines_with_their_expectations() {
    let o = script(TWO, &[]);
    o.assert_ok();
    assert!(
        o.stdout.contains("msg_iov=[{iov_base=\"there\", iov_len=64}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=5}], 4, MSG_DONTWAIT, NULL) = 2"),
        "{}",
        o.dump()
    );
    assert!(
        o.stdout.contains("sendmmsg(4, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"hi\", iov_len=2}]"),
        "{}",
        o.dump()
    );
    let wrong = script(
        &TWO.replace("MSG_DONTWAIT, NULL) = 2", "MSG_DONTWAIT, NULL) = 1"),
        &[],
    );
    assert_eq!(wrong.code(), Some(1), "{}", wrong.dump());
    assert!(
        wrong.stderr.contains("expected result: = 1"),
        "{}",
        wrong.dump()
    );
    let short = script(&TWO.replace("}}], 2, 0) = 2", "}}], 3, 0) = 2"), &[]);
    assert_eq!(short.code(), Some(1), "{}", short.dump());
    assert!(
        short
            .stderr
            .contains("sendmmsg's vlen 3: the line writes 2 entries"),
        "{}",
        short.dump()
    );
}

/// getpid/getppid (their results are pid labels) and prlimit64 as
/// `--model epoll` records it (the old limit read back and compared, then
/// set again) run as lines; a wrong old limit exits 1.
#[test]
fn script_getpid_getppid_and_prlimit64_lines() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: rl is a live rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    let (cur, max) = (rl.rlim_cur, rl.rlim_max);
    let text = format!(
        "getpid() = 100\ngetppid() = 1\ngetpid() = 100\n\
         prlimit64(0, RLIMIT_NOFILE, NULL, {{rlim_cur={cur}, rlim_max={max}}}) = 0\n\
         prlimit64(0, RLIMIT_NOFILE, {{rlim_cur={cur}, rlim_max={max}}}, NULL) = 0\n"
    );
    let o = script(&text, &[]);
    o.assert_ok();
    assert!(o.stdout.contains("getppid() = "), "{}", o.dump());
    let wrong = text.replacen(
        &format!("rlim_cur={cur}"),
        &format!("rlim_cur={}", cur + 1),
        1,
    );
    let bad = script(&wrong, &[]);
    assert_eq!(bad.code(), Some(1), "{}", bad.dump());
    assert!(
        bad.stderr.contains("argument 4 (old_limit)"),
        "{}",
        bad.dump()
    );
}
