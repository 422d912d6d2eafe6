//! Issue 15 item 3: the names strace knows, in socklab's line as in
//! strace's for the same run: a raw `--sockopt LEVEL:N`'s option name (from
//! strace's xlat lists), SO_ERROR's errno, an IPv4-compatible IPv6 address.

use super::*;

/// One traced `tcp client` run; its lines, after checking they equal strace's.
fn client_lines(tag: &str, args: &[&str], code: i32) -> Vec<String> {
    let dir = TempDir::new(tag);
    let cli = Traced::new(&dir, "client");
    let client = run(cli.command(args), b"");
    client.assert_code(code);
    cli.assert_equal(tag)
}

/// The line `CALL(FD, REST...`, whatever the fd (`setsockopt(3, SOL_IP, ...`).
fn find<'a>(lines: &'a [String], want: &str) -> &'a str {
    let (call, rest) = want.split_once("(3, ").unwrap_or((want, ""));
    lines
        .iter()
        .find(|l| {
            l.strip_prefix(call)
                .and_then(|l| l.strip_prefix('('))
                .and_then(|l| l.split_once(", "))
                .is_some_and(|(_, r)| r.starts_with(rest))
        })
        .unwrap_or_else(|| panic!("no line {want} (any fd): {lines:#?}"))
}

#[test]
fn raw_sockopts_print_strace_names() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    // Set and read back, then TCP_CONGESTION's int is refused (ENOENT).
    let c = client_lines(
        "names-ip",
        &[
            "tcp",
            "client",
            &addr,
            "--sockopt",
            "SOL_IP:13=1",
            "--sockopt",
            "0:8=1",
            "--sockopt",
            "SOL_TCP:13=1",
            "-m",
            "x",
        ],
        1,
    );
    for want in [
        "setsockopt(3, SOL_IP, IP_RECVTOS, [1], 4) = 0",
        "getsockopt(3, SOL_IP, IP_RECVTOS, [1], [4]) = 0",
        "setsockopt(3, SOL_IP, IP_PKTINFO, [1], 4) = 0",
        "getsockopt(3, SOL_IP, IP_PKTINFO, [1], [4]) = 0",
        "setsockopt(3, SOL_TCP, TCP_CONGESTION, [1], 4) = -1 ENOENT",
    ] {
        find(&c, want);
    }
    // Each refused by the kernel, so one run each.
    for (opt, name) in [
        ("SOL_TCP:11=1", "SOL_TCP, TCP_INFO"),
        ("SOL_SOCKET:20=1", "SOL_SOCKET, SO_RCVTIMEO_OLD"),
        ("SOL_SOCKET:50=1", "SOL_SOCKET, SO_ATTACH_BPF"),
    ] {
        let c = client_lines(
            "names-raw",
            &["tcp", "client", &addr, "--sockopt", opt, "-m", "x"],
            1,
        );
        find(&c, &format!("setsockopt(3, {name}, [1], 4) = -1 "));
    }
}

#[test]
fn ipv6_option_and_v4_compatible_address() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("[::127.0.0.1]:{port}");
    let c = client_lines(
        "names-v6",
        &["tcp", "client", &addr, "--sockopt", "41:67=32", "-m", "x"],
        1,
    );
    find(&c, "setsockopt(3, SOL_IPV6, IPV6_TCLASS, [32], 4) = 0");
    let connect = find(&c, "connect(3, ");
    assert!(
        connect.contains(r#"inet_pton(AF_INET6, "::127.0.0.1", &sin6_addr)"#),
        "{connect}"
    );
}

#[test]
fn so_error_prints_the_errno_name() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let c = client_lines(
        "names-so-error",
        &["tcp", "client", &addr, "--timeout", "1", "-m", "x"],
        1,
    );
    find(
        &c,
        "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0",
    );
}
