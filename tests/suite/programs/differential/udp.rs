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
    row(
        "udp_eaddrinuse",
        None,
        &[s("udp_server", &["{TAKEN_UDP}"]).fails(1)],
    ),
];
