//! Socket options: set, read back and shown, their phases, bad values.

use super::*;

#[test]
fn each_option_is_set_read_back_and_shown() {
    let settings = [
        ("SO_REUSEADDR=1", "SO_REUSEADDR", "[1], 4"),
        ("SO_REUSEPORT=on", "SO_REUSEPORT", "[1], 4"),
        ("SO_KEEPALIVE=1", "SO_KEEPALIVE", "[1], 4"),
        ("SO_LINGER=on:3", "SO_LINGER", "{l_onoff=1, l_linger=3}, 8"),
        ("SO_RCVBUF=65536", "SO_RCVBUF", "[65536], 4"),
        ("SO_SNDBUF=65536", "SO_SNDBUF", "[65536], 4"),
        ("SO_RCVLOWAT=2", "SO_RCVLOWAT", "[2], 4"),
        ("SO_SNDTIMEO=2.5", "SO_SNDTIMEO_OLD", ", 16"),
        ("SO_BROADCAST=1", "SO_BROADCAST", "[1], 4"),
        ("SO_DONTROUTE=1", "SO_DONTROUTE", "[1], 4"),
        ("SO_OOBINLINE=1", "SO_OOBINLINE", "[1], 4"),
        ("SO_PRIORITY=3", "SO_PRIORITY", "[3], 4"),
        ("SO_MARK=7", "SO_MARK", "[7], 4"),
        ("TCP_NODELAY=1", "TCP_NODELAY", "[1], 4"),
        ("TCP_CORK=0", "TCP_CORK", "[0], 4"),
        ("TCP_MAXSEG=1000", "TCP_MAXSEG", "[1000], 4"),
        ("TCP_KEEPIDLE=30", "TCP_KEEPIDLE", "[30], 4"),
        ("TCP_KEEPINTVL=5", "TCP_KEEPINTVL", "[5], 4"),
        ("TCP_KEEPCNT=3", "TCP_KEEPCNT", "[3], 4"),
        ("TCP_QUICKACK=1", "TCP_QUICKACK", "[1], 4"),
        ("TCP_USER_TIMEOUT=5000", "TCP_USER_TIMEOUT", "[5000], 4"),
        ("TCP_DEFER_ACCEPT=0", "TCP_DEFER_ACCEPT", "[0], 4"),
        ("TCP_NOTSENT_LOWAT=16384", "TCP_NOTSENT_LOWAT", "[16384], 4"),
        ("TCP_FASTOPEN=5", "TCP_FASTOPEN", "[5], 4"),
        ("IP_TTL=9", "IP_TTL", "[9], 4"),
        ("IP_TOS=16", "IP_TOS", "[16], 4"),
        ("SOL_SOCKET:9=1", "SO_KEEPALIVE", "[1], 4"),
    ];
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once", "-q"]);
    let mut args = vec![
        "--trace",
        "tcp",
        "client",
        server.addr.as_str(),
        "-m",
        "opts",
    ];
    for (s, _, _) in &settings {
        args.extend(["--sockopt", s]);
    }
    let out = run(socklab(&args), b"");
    out.assert_ok();
    for (setting, strace_name, strace_value) in settings {
        let user_name = setting.split(['=', ':']).next().unwrap();
        let set_line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("setsockopt(3, ") && l.contains(&format!(" {strace_name}, ")));
        let set_line =
            set_line.unwrap_or_else(|| panic!("no setsockopt of {strace_name}\n{}", out.dump()));
        assert!(
            set_line.contains(strace_value) && set_line.ends_with(") = 0"),
            "{set_line}"
        );
        assert!(
            out.stderr.contains(&format!(
                "getsockopt(3, {}",
                &set_line["setsockopt(3, ".len()..set_line.find(strace_name).unwrap()]
            )),
            "{}",
            out.dump()
        );
        if user_name != "SOL_SOCKET" {
            assert!(
                out.stdout
                    .contains(&format!("sockopt {user_name} on fd 3: requested ")),
                "{user_name}\n{}",
                out.dump()
            );
        }
    }
    assert!(out.stdout.ends_with("OPTS\n"), "{}", out.dump());
    server.finish().assert_ok();
}

#[test]
fn ipv6_options_and_phases() {
    let server = Server::start(&[
        "--trace",
        "tcp",
        "server",
        "[::1]:0",
        "--once",
        "--sockopt",
        "IPV6_V6ONLY=1",
        "--sockopt",
        "TCP_NODELAY=1@accepted",
    ]);
    let client = run(
        socklab(&[
            "--trace",
            "tcp",
            "client",
            &server.addr,
            "--sockopt",
            "IPV6_UNICAST_HOPS=5@connected",
            "-m",
            "six",
        ]),
        b"",
    );
    client.assert_ok();
    let connect = client.stderr.find("connect(3").unwrap();
    let hops = client
        .stderr
        .find("setsockopt(3, SOL_IPV6, IPV6_UNICAST_HOPS, [5], 4) = 0")
        .expect(&client.stderr);
    assert!(
        hops > connect,
        "@connected comes after connect\n{}",
        client.dump()
    );
    let out = server.finish();
    out.assert_ok();
    let bind = out.stderr.find("bind(3").unwrap();
    let v6only = out
        .stderr
        .find("setsockopt(3, SOL_IPV6, IPV6_V6ONLY, [1], 4) = 0")
        .expect(&out.stderr);
    assert!(
        v6only < bind,
        "set right after socket, before bind\n{}",
        out.dump()
    );
    let accept = out.stderr.find("accept4(3").unwrap();
    let nodelay = out
        .stderr
        .find("setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0")
        .expect(&out.stderr);
    assert!(
        nodelay > accept,
        "@accepted is on the accepted socket\n{}",
        out.dump()
    );
}

#[test]
fn sockopt_list_shows_the_kernels_defaults() {
    let out = run(
        socklab(&["sockopt", "list", "tcp", "udp6", "unix-dgram"]),
        b"",
    );
    out.assert_ok();
    let row = |section: &str, name: &str| -> String {
        let start = out.stdout.find(&format!("{section}: defaults")).unwrap();
        let rest = &out.stdout[start..];
        let end = rest.find("\n\n").unwrap_or(rest.len());
        let line = rest[..end]
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{section} {name}\n{}", out.stdout));
        line.split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(row("tcp", "SO_TYPE"), "1");
    assert_eq!(row("udp6", "SO_TYPE"), "2");
    assert_eq!(row("unix-dgram", "SO_TYPE"), "2");
    assert_eq!(row("tcp", "TCP_NODELAY"), "0");
    assert_eq!(row("tcp", "SO_LINGER"), "off");
    assert_eq!(
        row("udp6", "IPV6_V6ONLY"),
        std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")
            .unwrap()
            .trim()
    );
    assert_eq!(
        row("tcp", "IP_TTL"),
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
            .unwrap()
            .trim()
    );
    assert!(
        !out.stdout
            .contains("unix-dgram: defaults on a fresh socket\n  TCP_"),
        "TCP options only on TCP sockets"
    );
}

#[test]
fn bad_sockopt_values_are_usage_errors() {
    for bad in [
        "SO_NOPE=1",
        "SO_RCVBUF=big",
        "SO_LINGER=yes",
        "SO_KEEPALIVE=2",
        "SO_TYPE=1",
        "TCP_NODELAY=1@later",
        "7:1=1",
        "SO_RCVBUF",
    ] {
        let out = run(socklab(&["tcp", "client", "--sockopt", bad]), b"");
        out.assert_code(2);
        assert_eq!(out.stderr.lines().count(), 1, "{bad}\n{}", out.dump());
    }
    let out = run(
        socklab(&["tcp", "client", "--timeout", "1", "--nonblocking"]),
        b"",
    );
    out.assert_code(2);
}

#[test]
fn a_sockopt_phase_the_program_never_reaches_is_a_usage_error() {
    // Otherwise it would silently never be set.
    for args in [
        &["udp", "server", "--sockopt", "SO_RCVBUF=5000@accepted"][..],
        &["tcp", "server", "--sockopt", "TCP_NODELAY=1@connected"],
        &["tcp", "client", "--sockopt", "TCP_NODELAY=1@accepted"],
        &["udp", "client", "--sockopt", "SO_RCVBUF=5000@connected"],
        &[
            "unix",
            "server",
            "--dgram",
            "--sockopt",
            "SO_RCVBUF=5000@accepted",
        ],
    ] {
        let out = run(socklab(args), b"");
        out.assert_code(2);
        assert!(
            out.stderr.starts_with("socklab: --sockopt ") && out.stderr.lines().count() == 1,
            "{args:?}\n{}",
            out.dump()
        );
    }
    // A connected datagram client does reach @connected.
    let (_silent, addr) = silent_udp();
    let out = run(
        socklab(&[
            "udp",
            "client",
            &addr,
            "--connect",
            "--timeout",
            "0.1",
            "--sockopt",
            "SO_RCVBUF=5000@connected",
            "-m",
            "x",
        ]),
        b"",
    );
    out.stdout_has("sockopt SO_RCVBUF on fd 3: requested 5000");
}

/// An integer too big for a C int is a usage error that says so, not
/// "not an integer" (a raw option's number, an option's value).
#[test]
fn an_integer_out_of_a_c_ints_range_is_named_so() {
    for (opt, bad) in [
        (
            "SOL_IP:99999999999=1",
            "option number '99999999999' is out of a C int's range",
        ),
        (
            "SO_SNDBUF=99999999999",
            "'99999999999' is out of a C int's range",
        ),
        ("SOL_IP:1=x", "'x' is not an integer"),
    ] {
        let o = run(
            socklab(&["tcp", "client", "127.0.0.1:9", "--sockopt", opt]),
            b"",
        );
        o.assert_code(2).stderr_has(bad);
    }
}
