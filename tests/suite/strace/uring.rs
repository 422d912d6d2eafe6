//! `--model uring`: socklab's trace equals strace's, io_uring_setup,
//! the mmaps of the rings, io_uring_register and each io_uring_enter.

use super::under::tcp_model;
use super::*;

#[test]
fn tcp_server_model_uring() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-uring");
    let mut srv = Traced::new(&dir, "server");
    let filter: &'static str = Box::leak(format!("{},mmap", model_filter()).into_boxed_str());
    srv.filter = filter;
    let server = Server::start_cmd(srv.command(&tcp_model("uring", "1")));
    run(
        harness::socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    server.finish().assert_ok();
    // The loader's and the allocator's mmaps come before io_uring_setup:
    // only the ones after it are compared (the rings', the buffers').
    let raw = srv.strace_lines();
    let setup = raw
        .iter()
        .position(|l| l.starts_with("io_uring_setup("))
        .expect("strace saw io_uring_setup");
    let raw = raw
        .iter()
        .enumerate()
        .filter(|(i, l)| *i > setup || !l.starts_with("mmap("))
        .map(|(_, l)| l.clone())
        .collect();
    let s = srv.assert_equal_to("uring server", raw);
    for call in [
        "io_uring_setup",
        "io_uring_register",
        "io_uring_enter",
        "getpeername",
    ] {
        assert!(
            s.iter().any(|l| l.starts_with(&format!("{call}("))),
            "server trace lacks {call}: {s:#?}"
        );
    }
    let mmaps = s.iter().filter(|l| l.starts_with("mmap(")).count();
    assert_eq!(mmaps, 3, "{s:#?}");
    // Nothing of the echo itself is a syscall: no recvfrom, no sendto.
    assert!(
        !s.iter()
            .any(|l| l.starts_with("recvfrom(") || l.starts_with("sendto(")),
        "{s:#?}"
    );
}

/// `udp server --model uring` and its C twin make the same io_uring
/// calls, in order, for one datagram with --once: io_uring_setup, the
/// register, an io_uring_enter that arms the RECVMSG and reaps the
/// datagram, one that submits the reply and the cancel; then the closes.
/// (Pointers and ports normalised.)
#[test]
fn udp_server_model_uring_same_io_uring_calls_as_c() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("uring-dgram-c");
    let mut seen = Vec::new();
    for side in [
        crate::harness::cmp::Side::Rust,
        crate::harness::cmp::Side::C,
    ] {
        let file = dir.path(&format!("{side:?}.strace"));
        let inner = crate::harness::cmp::program(
            side,
            "udp_server",
            &["127.0.0.1:0", "--model", "uring", "--once"].map(String::from),
        );
        let mut cmd = std::process::Command::new("strace");
        cmd.args(["-f", "-qq", "-e"])
            .arg("trace=io_uring_setup,io_uring_register,io_uring_enter,getsockname,close")
            .arg("-o")
            .arg(&file)
            .arg(inner.get_program())
            .args(inner.get_args());
        let server = Server::start_cmd(cmd);
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(harness::WATCHDOG)).unwrap();
        s.send_to(b"hello", &server.addr).unwrap();
        let mut b = [0u8; 16];
        let n = s.recv(&mut b).unwrap();
        assert_eq!(&b[..n], b"HELLO");
        server.finish().assert_ok();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("getsockname("),
            "{side:?}: no getsockname in\n{text}"
        );
        let calls: Vec<String> = text
            .lines()
            // The pid, and strace's padding after it (two spaces after a
            // 4-digit pid: failed whenever pids had wrapped below 10000).
            .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest.trim_start()))
            .skip_while(|l| !l.starts_with("getsockname("))
            .map(|l| {
                let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
                let mut out = String::new();
                let mut rest = l.as_str();
                while let Some(i) = rest.find("0x").or_else(|| rest.find("htons(")) {
                    let skip = if rest[i..].starts_with("0x") { 2 } else { 6 };
                    out.push_str(&rest[..i + skip]);
                    rest = &rest[i + skip..];
                    rest = rest.trim_start_matches(|c: char| c.is_ascii_hexdigit());
                }
                out.push_str(rest);
                out
            })
            .collect();
        seen.push(calls);
    }
    let enters = seen[0]
        .iter()
        .filter(|l| l.starts_with("io_uring_enter("))
        .count();
    assert_eq!(enters, 2, "{:#?}", seen[0]);
    assert_eq!(seen[0], seen[1], "socklab vs the C twin");
}
