//! Differential scenarios: UDP.

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // --- UDP ---
    row(
        "udp_once",
        server("udp_server", &["127.0.0.1:0", "--once"]),
        &[s("udp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "udp_once_v6",
        server("udp_server", &["[::1]:0", "--once"]),
        &[s("udp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "udp_loop",
        server("udp_server", &["127.0.0.1:0", "--max-conns", "3"]),
        &[
            s("udp_client", &["{ADDR}", "-m", "one", "-m", "two"]),
            s("udp_client", &["{ADDR}", "-m", "three"]),
        ],
    ),
    row(
        "udp_reuseaddr_bufsize",
        server(
            "udp_server",
            &["127.0.0.1:0", "--reuseaddr", "--bufsize", "8", "--once"],
        ),
        &[s(
            "udp_client",
            &["{ADDR}", "--bufsize", "8", "-m", "hello"],
        )],
    ),
    row(
        "udp_connect",
        server("udp_server", &["127.0.0.1:0", "--once"]),
        &[s("udp_client", &["{ADDR}", "--connect", "-m", "hello"])],
    ),
    row(
        "udp_empty_datagram",
        server("udp_server", &["127.0.0.1:0", "--max-conns", "2"]),
        &[s("udp_client", &["{ADDR}"]).stdin("\nhello\n")],
    ),
    row(
        "udp_timeout",
        server("udp_server", &["127.0.0.1:0", "--once", "--timeout", "5"]),
        &[s(
            "udp_client",
            &["{ADDR}", "--timeout", "5", "-m", "hello"],
        )],
    ),
    // Issue 15: no MSG_TRUNC unasked (the server keeps 4 bytes and says
    // nothing more); with --recv-flags MSG_TRUNC both sides report it.
    row(
        "udp_bufsize_without_msg_trunc",
        server("udp_server", &["127.0.0.1:0", "--once", "--bufsize", "4"]),
        &[s(
            "udp_client",
            &["{ADDR}", "--bufsize", "4", "-m", "hello world"],
        )],
    ),
    row(
        "udp_recv_flags_msg_trunc",
        server(
            "udp_server",
            &[
                "127.0.0.1:0",
                "--once",
                "--bufsize",
                "4",
                "--recv-flags",
                "MSG_TRUNC",
            ],
        ),
        &[s(
            "udp_client",
            &[
                "{ADDR}",
                "--bufsize",
                "4",
                "--recv-flags",
                "MSG_TRUNC",
                "-m",
                "hello world",
            ],
        )],
    ),
    // The clients' flags, --bind and --no-reply.
    row(
        "udp_client_bind_flags_peek",
        server("udp_server", &["127.0.0.1:0", "--max-conns", "2"]),
        &[
            s(
                "udp_client",
                &[
                    "{ADDR}",
                    "--bind",
                    "127.0.0.1:0",
                    "--send-flags",
                    "MSG_NOSIGNAL|MSG_DONTWAIT",
                    "--recv-flags",
                    "MSG_PEEK",
                    "--recv-flags",
                    "MSG_WAITALL",
                    "-m",
                    "hello",
                ],
            ),
            s("udp_client", &["{ADDR}", "--no-reply", "-m", "bye"]),
        ],
    ),
    row(
        "udp_eaddrinuse",
        None,
        &[s("udp_server", &["{TAKEN_UDP}"]).fails(1)],
    ),
    // Issue 18: --batch N, recvmmsg (MSG_WAITFORONE) and sendmmsg; each
    // client waits for its reply, so each batch holds one datagram.
    row(
        "udp_batch",
        server(
            "udp_server",
            &["127.0.0.1:0", "--batch", "8", "--max-conns", "3"],
        ),
        &[
            s("udp_client", &["{ADDR}", "-m", "one"]).stdin(""),
            s("udp_client", &["{ADDR}"]).stdin("\ntwo\n"),
        ],
    ),
    row(
        "udp_batch_epoll_msg_trunc",
        server(
            "udp_server",
            &[
                "127.0.0.1:0",
                "--batch",
                "4",
                "--model",
                "epoll",
                "--once",
                "--bufsize",
                "4",
                "--recv-flags",
                "MSG_TRUNC",
            ],
        ),
        &[s("udp_client", &["{ADDR}", "-m", "hello world"])],
    ),
];
