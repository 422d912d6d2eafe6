//! socklab's trace equals strace's: TCP, UDP, UNIX stream and datagram, abstract names.

use super::*;
use crate::harness;

#[test]
fn tcp_server_and_client() {
    if !have("strace") {
        return;
    }
    let (_, client, s, c) = pair(
        "tcp",
        &["tcp", "server", "127.0.0.1:0", "--max-conns", "1"],
        &["tcp", "client", "-m", "hello", "-m", "world"],
        b"",
    );
    assert_eq!(client.stdout, "HELLO\nWORLD\n");
    for call in [
        "socket",
        "bind",
        "listen",
        "getsockname",
        "accept4",
        "recvfrom",
    ] {
        assert!(has_call(&s, call), "server trace lacks {call}: {s:#?}");
    }
    for call in ["socket", "connect", "sendto", "recvfrom", "close"] {
        assert!(has_call(&c, call), "client trace lacks {call}: {c:#?}");
    }
}

/// Issue 12: nix's `Backlog` refused a backlog above 4096 without a
/// syscall, and socklab printed `listen(3, 65535) = -1 EINVAL`, a line the
/// kernel never returned. Now listen(2) gets the value (the kernel caps it
/// at net.core.somaxconn, which a note says) and serves.
#[test]
fn listen_with_a_backlog_above_4096_is_the_kernels_call() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("backlog");
    let srv = Traced::new(&dir, "server");
    let server = Server::start_cmd(srv.command(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--backlog",
        "65535",
        "--max-conns",
        "1",
    ]));
    let client = run(
        harness::socklab(&["tcp", "client", &server.addr, "-m", "hi"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "HI\n");
    server.finish().assert_ok();
    let ours = srv.assert_equal("listen 65535");
    // fd 3 is the trace file: the socket is 4.
    assert!(
        ours.contains(&"listen(4, 65535) = 0".to_string()),
        "{ours:#?}"
    );
    let somaxconn: i32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let text = std::fs::read_to_string(&srv.trace_file).unwrap();
    if somaxconn < 65535 {
        assert!(
            text.contains(&format!(
                "listen(4, 65535) = 0\n[listen: the kernel caps the backlog 65535 at \
                 net.core.somaxconn = {somaxconn}]\n"
            )),
            "{text}"
        );
    }
}

/// A message over 128 KiB goes out while its echo is read (issue 12):
/// `sendto(..., MSG_DONTWAIT, NULL, 0)` and `poll([{fd=N,
/// events=POLLIN|POLLOUT}], 1, -1)` lines equal strace's.
#[test]
fn tcp_client_long_message_sendto_dontwait_and_poll() {
    if !have("strace") {
        return;
    }
    let (_, client, _, c) = pair(
        "long",
        &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "1",
            "-q",
            "--bufsize",
            "65536",
        ],
        &["tcp", "client", "--size", "8388608", "--bufsize", "65536"],
        b"",
    );
    assert!(
        client.stdout.contains("the upper-cased message, intact"),
        "{}",
        client.dump()
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("sendto(") && l.contains(", MSG_DONTWAIT, NULL, 0) = ")),
        "{c:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("poll([{fd=")
                && l.contains(", events=POLLIN|POLLOUT}], 1, -1) = 1 ")),
        "{c:#?}"
    );
}

#[test]
fn udp_server_and_client_with_an_empty_datagram() {
    if !have("strace") {
        return;
    }
    let (_, client, s, c) = pair(
        "udp",
        &["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
        &["udp", "client", "-m", "hello", "-m", ""],
        b"",
    );
    assert!(client.stdout.starts_with("HELLO\n"), "{}", client.dump());
    assert!(
        s.iter()
            .any(|l| l.starts_with("recvfrom(") && l.ends_with(" = 0")),
        "the server should trace the empty datagram: {s:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("sendto(") && l.contains("\"\", 0, 0")),
        "the client should trace the empty send: {c:#?}"
    );
}

#[test]
fn unix_stream_on_a_path_client_reading_stdin() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-unix-path");
    let path = dir.path("srv.sock");
    // The client reads stdin: std's is_terminal() on it is an ioctl on fd 0
    // (rule 2), which socklab's trace rightly does not show.
    let (_, client, s, _) = pair(
        "unix-stream",
        &["unix", "server", &path, "--max-conns", "1"],
        &["unix", "client"],
        b"hi\nthere\n",
    );
    assert_eq!(client.stdout, "HI\nTHERE\n");
    assert!(has_call(&s, "newfstatat"), "the path check: {s:#?}");
    // The directory fd opened before bind, the bound inode looked at
    // after bind and at exit, and the file removed relative to it.
    let dir_fd = s
        .iter()
        .find_map(|l| {
            l.strip_prefix(&format!("openat(AT_FDCWD, \"{}\", ", dir.dir().display()))
                .and_then(|r| {
                    r.strip_prefix("O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH|O_DIRECTORY) = ")
                })
        })
        .unwrap_or_else(|| panic!("the directory's openat: {s:#?}"))
        .to_string();
    let stat = format!("newfstatat({dir_fd}, \"srv.sock\", {{st_mode=S_IFSOCK|");
    assert_eq!(
        s.iter().filter(|l| l.starts_with(&stat)).count(),
        2,
        "after bind and at exit: {s:#?}"
    );
    let pin = format!("openat({dir_fd}, \"srv.sock\", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH) = ");
    let pin_fd = s
        .iter()
        .find_map(|l| l.strip_prefix(&pin))
        .unwrap_or_else(|| panic!("the socket file held after bind: {s:#?}"))
        .to_string();
    assert_eq!(
        s[s.len() - 3..],
        [
            format!("unlinkat({dir_fd}, \"srv.sock\", 0) = 0"),
            format!("close({pin_fd}) = 0"),
            format!("close({dir_fd}) = 0")
        ]
    );
}

#[test]
fn unix_dgram_on_a_path_with_autobind() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-unix-dgram");
    let path = dir.path("srv.sock");
    let (_, client, s, c) = pair(
        "unix-dgram",
        &["unix", "server", &path, "--dgram", "--max-conns", "1"],
        &["unix", "client", "--dgram", "-m", "dgram"],
        b"",
    );
    assert_eq!(client.stdout, "DGRAM\n");
    assert!(
        s.iter()
            .any(|l| l.starts_with("sendto(") && l.contains("\"DGRAM\", 5, MSG_DONTWAIT, {")),
        "the reply to a UNIX peer never waits: {s:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("bind(") && l.contains("{sa_family=AF_UNIX}, 2)")),
        "the autobind: {c:#?}"
    );
}

#[test]
fn abstract_stream_and_dgram() {
    if !have("strace") {
        return;
    }
    let name = abstract_name("trace-abs");
    let (_, client, s, _) = pair(
        "abstract",
        &["unix", "server", &name, "--max-conns", "1"],
        &["unix", "client", "-m", "abs"],
        b"",
    );
    assert_eq!(client.stdout, "ABS\n");
    assert!(
        s.iter()
            .any(|l| l.contains(&format!("sun_path=@\"{}\"", &name[1..]))),
        "{s:#?}"
    );
    let name = abstract_name("trace-abs-dgram");
    let (_, client, _, _) = pair(
        "abstract-dgram",
        &["unix", "server", &name, "--dgram", "--max-conns", "1"],
        &["unix", "client", "--dgram", "-m", "abs"],
        b"",
    );
    assert_eq!(client.stdout, "ABS\n");
}
