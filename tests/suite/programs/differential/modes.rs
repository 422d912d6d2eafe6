//! Differential scenarios: Python's modes: non-blocking (EAGAIN, poll, the call again), --sockopt in its phases, --rcvtimeo, --sndtimeo, --send-mode and --size.

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // --- Non-blocking mode: EAGAIN, poll(..., -1), the call again ---
    row(
        "tcp_nonblocking",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--nonblocking", "--max-conns", "1"],
        ),
        &[s(
            "tcp_client",
            &["{ADDR}", "--nonblocking", "-m", "hello", "-m", "world"],
        )],
    ),
    row(
        "udp_nonblocking",
        server("udp_server", &["127.0.0.1:0", "--nonblocking", "--once"]),
        &[s("udp_client", &["{ADDR}", "--nonblocking", "-m", "hello"])],
    ),
    row(
        "unix_stream_nonblocking",
        server(
            "unix_server",
            &["{DIR}/s.sock", "--nonblocking", "--max-conns", "1"],
        ),
        &[s(
            "unix_client",
            &["{ADDR}", "--nonblocking", "-m", "hello"],
        )],
    ),
    row(
        "unix_dgram_nonblocking",
        server(
            "unix_server",
            &["{ABS}", "--dgram", "--nonblocking", "--once"],
        ),
        &[s(
            "unix_client",
            &["{ADDR}", "--dgram", "--nonblocking", "-m", "hello"],
        )],
    ),
    row(
        "tcp_nonblocking_connect_ex",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s(
            "tcp_client",
            &["{ADDR}", "--nonblocking", "--connect-ex", "-m", "hello"],
        )],
    ),
    row(
        "tcp_nonblocking_connect_ex_refused",
        None,
        &[s(
            "tcp_client",
            &["{REFUSED}", "--nonblocking", "--connect-ex", "-m", "hello"],
        )
        .fails(1)],
    ),
    // --- --sockopt in its three phases, --rcvtimeo, --sndtimeo ---
    row(
        "tcp_sockopts_phases",
        server(
            "tcp_server",
            &[
                "127.0.0.1:0",
                "--once",
                "--reuseaddr",
                "--sockopt",
                "SO_RCVBUF=4096",
                "--sockopt",
                "tcp_nodelay=1",
                "--sockopt",
                "SO_LINGER=on:5",
                "--sockopt",
                "SO_SNDBUF=8192@accepted",
                "--sockopt",
                "SO_RCVTIMEO=1.5@accepted",
                "--sockopt",
                "SO_KEEPALIVE=on@accepted",
            ],
        ),
        &[s(
            "tcp_client",
            &[
                "{ADDR}",
                "--rcvtimeo",
                "2",
                "--sockopt",
                "SO_LINGER=off",
                "--sockopt",
                "SOL_IP:13=1",
                "--sockopt",
                "6:1=1",
                "--sockopt",
                "SO_SNDTIMEO=0.0001",
                "--sockopt",
                "TCP_NODELAY=yes@connected",
                "--sockopt",
                "SO_KEEPALIVE=1@connected",
                "--sockopt",
                "TCP_KEEPIDLE=30@connected",
                "--sndtimeo",
                "2.25",
                "-m",
                "hello",
            ],
        )],
    ),
    row(
        "udp_sockopts_phases",
        server(
            "udp_server",
            &[
                "127.0.0.1:0",
                "--once",
                "--sockopt",
                "SO_RCVBUF=1000",
                "--sockopt",
                "IP_TTL=7",
            ],
        ),
        &[s(
            "udp_client",
            &[
                "{ADDR}",
                "--connect",
                "--sockopt",
                "SO_BROADCAST=on",
                "--sockopt",
                "IP_TOS=16@connected",
                "--sockopt",
                "SOL_SOCKET:6=0@connected",
                "-m",
                "hello",
            ],
        )],
    ),
    row(
        "udp_rcvtimeo_silent",
        None,
        &[s(
            "udp_client",
            &["{TAKEN_UDP}", "--rcvtimeo", "0.2", "-m", "hello"],
        )
        .fails(1)],
    ),
    // --- --send-mode and --size ---
    row(
        "tcp_send_mode_send_size",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s(
            "tcp_client",
            &[
                "{ADDR}",
                "--send-mode",
                "send",
                "--size",
                "1000",
                "--bufsize",
                "64",
            ],
        )],
    ),
    row(
        "tcp_sendall_size",
        server("tcp_server", &["127.0.0.1:0", "--max-conns", "1"]),
        &[s("tcp_client", &["{ADDR}", "--size", "5000"])],
    ),
    row(
        "tcp_send_mode_send_partial",
        None,
        &[s(
            "tcp_client",
            &[
                "{SINK}",
                "--timeout",
                "0.3",
                "--send-mode",
                "send",
                "--size",
                "200000",
                "--sockopt",
                "SO_SNDBUF=4096",
            ],
        )
        .fails(1)],
    ),
    row(
        "tcp_sndtimeo_sendall_partial",
        None,
        &[s(
            "tcp_client",
            &[
                "{SINK}",
                "--sndtimeo",
                "0.2",
                "--size",
                "200000",
                "--sockopt",
                "SO_SNDBUF=4096",
            ],
        )
        .fails(1)],
    ),
    row(
        "udp_size",
        server("udp_server", &["127.0.0.1:0", "--once"]),
        &[s("udp_client", &["{ADDR}", "--size", "100"])],
    ),
];
