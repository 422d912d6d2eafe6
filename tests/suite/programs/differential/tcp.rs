//! Differential scenarios: TCP.

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // Issue 15: --bind before connect, the flags, --no-reply to a --sink.
    row(
        "tcp_client_bind_flags_peek",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s(
            "tcp_client",
            &[
                "{ADDR}",
                "--bind",
                "127.0.0.1:0",
                "--send-flags",
                "MSG_NOSIGNAL",
                "--recv-flags",
                "MSG_PEEK",
                "-m",
                "hello",
            ],
        )],
    ),
    row(
        "tcp_client_no_reply_to_a_sink",
        server("tcp_server", &["127.0.0.1:0", "--sink", "--max-conns", "1"]),
        // One message: two would reach the sink in one recv or in two.
        &[s("tcp_client", &["{ADDR}", "--no-reply", "-m", "one"])],
    ),
    // --- TCP ---
    row(
        "tcp_once",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s("tcp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "tcp_once_v6",
        server("tcp_server", &["[::1]:0", "--once"]),
        &[s("tcp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "tcp_loop",
        server("tcp_server", &["127.0.0.1:0", "--max-conns", "2"]),
        &[
            s("tcp_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("tcp_client", &["{ADDR}", "-m", "again"]),
        ],
    ),
    row(
        "tcp_reuseaddr",
        server("tcp_server", &[":0", "--reuseaddr", "--once"]),
        &[s("tcp_client", &["{ADDR}", "-m", "hi"])],
    ),
    row(
        "tcp_backlog_bufsize_quiet",
        server(
            "tcp_server",
            &[
                "127.0.0.1:0",
                "--backlog",
                "1",
                "--bufsize",
                "64",
                "-q",
                "--max-conns",
                "1",
            ],
        ),
        &[s(
            "tcp_client",
            &[
                "{ADDR}",
                "--bufsize",
                "64",
                "-m",
                "tab\there \"q\" \\ \u{1}",
            ],
        )],
    ),
    row(
        "tcp_timeout_0",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s("tcp_client", &["{ADDR}", "--timeout", "0", "-m", "hi"])],
    ),
    row(
        "tcp_stdin_skips_empty_lines",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s("tcp_client", &["{ADDR}"]).stdin("  hello  \n\n")],
    ),
    row(
        "tcp_naive",
        server(
            "tcp_server",
            &[
                "127.0.0.1:0",
                "--naive",
                "--naive-limit",
                "3",
                "--max-conns",
                "1",
            ],
        ),
        &[s("tcp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "tcp_timeout",
        server("tcp_server", &["127.0.0.1:0", "--once", "--timeout", "5"]),
        &[s(
            "tcp_client",
            &["{ADDR}", "--timeout", "5", "-m", "hello"],
        )],
    ),
    row(
        "tcp_send_empty",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s(
            "tcp_client",
            &["{ADDR}", "--send-empty", "--timeout", "0.3", "-m", ""],
        )
        .fails(1)],
    ),
    row(
        "tcp_connect_refused",
        None,
        &[s("tcp_client", &["{REFUSED}", "-m", "hello"]).fails(1)],
    ),
    row(
        "tcp_connect_ex_refused",
        None,
        &[s("tcp_client", &["{REFUSED}", "--connect-ex", "-m", "hello"]).fails(1)],
    ),
    row(
        "tcp_connect_ex_ok",
        server("tcp_server", &["127.0.0.1:0", "--once"]),
        &[s("tcp_client", &["{ADDR}", "--connect-ex", "-m", "hello"])],
    ),
    row(
        "tcp_eaddrinuse",
        None,
        &[s("tcp_server", &["{TAKEN_TCP}"]).fails(1)],
    ),
    row(
        "tcp_eaddrinuse_reuseaddr",
        None,
        &[s("tcp_server", &["{TAKEN_TCP}", "--reuseaddr"]).fails(1)],
    ),
];
