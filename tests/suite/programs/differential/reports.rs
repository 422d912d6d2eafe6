//! Differential scenarios: What the programs report: --names, --shutdown, --lines, --show-state.

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // --- --names, --shutdown, --lines ---
    row(
        "tcp_names",
        server("tcp_server", &["127.0.0.1:0", "--once", "--names"]),
        &[s("tcp_client", &["{ADDR}", "--names", "-m", "hello"])],
    ),
    row(
        "udp_connect_names",
        server("udp_server", &["127.0.0.1:0", "--once", "--names"]),
        &[s(
            "udp_client",
            &["{ADDR}", "--connect", "--names", "-m", "hello"],
        )],
    ),
    row(
        "udp_names",
        server("udp_server", &["127.0.0.1:0", "--max-conns", "2"]),
        &[s(
            "udp_client",
            &["{ADDR}", "--names", "-m", "hello", "-m", "again"],
        )],
    ),
    row(
        "unix_stream_names",
        server("unix_server", &["{DIR}/s.sock", "--once", "--names"]),
        &[s("unix_client", &["{ADDR}", "--names", "-m", "hello"])],
    ),
    row(
        "tcp_shutdown",
        server("tcp_server", &["127.0.0.1:0", "--max-conns", "1"]),
        &[s(
            "tcp_client",
            &["{ADDR}", "--shutdown", "-m", "hello", "-m", "world"],
        )],
    ),
    row(
        "unix_stream_shutdown_timeout",
        server("unix_server", &["{DIR}/s.sock", "--max-conns", "1"]),
        &[s(
            "unix_client",
            &["{ADDR}", "--shutdown", "--timeout", "5", "-m", "hello"],
        )],
    ),
    // --bufsize 4 on both sides: each recv's length is fixed by the
    // byte counts (14 sent in one segment; replies of 4, 4 and 6 in one
    // segment each), so the buffer lines do not depend on timing.
    row(
        "tcp_lines",
        server(
            "tcp_server",
            &[
                "127.0.0.1:0",
                "--lines",
                "--bufsize",
                "4",
                "--max-conns",
                "1",
            ],
        ),
        &[s(
            "tcp_client",
            &[
                "{ADDR}",
                "--lines",
                "--bufsize",
                "4",
                "-m",
                "one",
                "-m",
                "two",
                "-m",
                "three",
            ],
        )],
    ),
    row(
        "tcp_lines_shutdown",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--lines", "--max-conns", "1"],
        ),
        &[s(
            "tcp_client",
            &["{ADDR}", "--lines", "--shutdown", "-m", "only"],
        )],
    ),
    // --- --show-state: getsockopt(TCP_INFO), ioctl(FIONREAD),
    // ioctl(TIOCOUTQ) after each call on a TCP socket (rules 14a-c) ---
    row(
        "tcp_show_state",
        server("tcp_server", &["127.0.0.1:0", "--once", "--show-state"]),
        &[s("tcp_client", &["{ADDR}", "--show-state", "-m", "hello"])],
    ),
    row(
        "tcp_show_state_loop_names",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--max-conns", "1", "--names", "--show-state"],
        ),
        &[s("tcp_client", &["{ADDR}", "--show-state", "-m", "hello"])],
    ),
    row(
        "tcp_show_state_timeout",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--once", "--timeout", "5", "--show-state"],
        ),
        &[s(
            "tcp_client",
            &["{ADDR}", "--timeout", "5", "--show-state", "-m", "hello"],
        )],
    ),
    row(
        "tcp_show_state_refused",
        None,
        &[s("tcp_client", &["{REFUSED}", "--show-state", "-m", "hello"]).fails(1)],
    ),
    row(
        "udp_unix_show_state_ignored",
        server("udp_server", &["127.0.0.1:0", "--once", "--show-state"]),
        &[s("udp_client", &["{ADDR}", "--show-state", "-m", "hello"])],
    ),
];
