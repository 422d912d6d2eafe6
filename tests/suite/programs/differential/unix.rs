//! Differential scenarios: UNIX stream and datagram.

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // --- UNIX stream ---
    row(
        "unix_stream_path",
        server("unix_server", &["{DIR}/s.sock", "--once"]),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "unix_stream_abstract",
        server("unix_server", &["{ABS}", "--once"]),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "unix_stream_loop",
        server(
            "unix_server",
            &["{DIR}/s.sock", "--max-conns", "2", "--reuseaddr"],
        ),
        &[
            s("unix_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("unix_client", &["{ADDR}", "--connect-ex", "-m", "again"]),
        ],
    ),
    row(
        "unix_stream_timeout",
        server("unix_server", &["{DIR}/s.sock", "--once", "--timeout", "5"]),
        &[s(
            "unix_client",
            &["{ADDR}", "--timeout", "5", "-m", "hello"],
        )],
    ),
    row(
        "unix_stale_file_probe",
        server("unix_server", &["{STALE}", "--once"]),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "unix_unlink_stale",
        server("unix_server", &["{STALE}", "--unlink-stale", "--once"]),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    // Issue 15: a datagram client that binds its own name (--bind) and its
    // flags. (Not --no-reply here: the server's reply to a client that has
    // gone fails with ECONNREFUSED or not, as the two race.)
    row(
        "unix_dgram_bind_flags",
        server(
            "unix_server",
            &[
                "{DIR}/d.sock",
                "--dgram",
                "--once",
                "--recv-flags",
                "MSG_TRUNC",
            ],
        ),
        &[s(
            "unix_client",
            &[
                "{ADDR}",
                "--dgram",
                "--bind",
                "{ABS}",
                "--recv-flags",
                "MSG_PEEK|MSG_TRUNC",
                "-m",
                "hello",
            ],
        )],
    ),
    row(
        "unix_in_use",
        None,
        &[s("unix_server", &["{INUSE}"]).fails(1)],
    ),
    row(
        "unix_not_a_socket",
        None,
        &[s("unix_server", &["{FILE}"]).fails(1)],
    ),
    row(
        "unix_connect_enoent",
        None,
        &[s("unix_client", &["{DIR}/nobody.sock", "-m", "hello"]).fails(1)],
    ),
    row(
        "unix_abstract_eaddrinuse",
        None,
        &[s("unix_server", &["{TAKEN_ABS}"]).fails(1)],
    ),
    Row {
        name: "unix_sigterm_cleanup",
        server: server("unix_server", &["{DIR}/s.sock"]),
        steps: &[s("unix_client", &["{ADDR}", "-m", "hello"])],
        signal: Some(libc::SIGTERM),
    },
    // --- UNIX datagram ---
    row(
        "unix_dgram_path",
        server("unix_server", &["{DIR}/d.sock", "--dgram", "--once"]),
        &[s("unix_client", &["{ADDR}", "--dgram", "-m", "hello"])],
    ),
    row(
        "unix_dgram_abstract_autobind",
        server("unix_server", &["{ABS}", "--dgram", "--max-conns", "2"]),
        &[s("unix_client", &["{ADDR}", "--dgram"]).stdin("hello\n\n")],
    ),
    row(
        "unix_dgram_connect",
        server("unix_server", &["{DIR}/d.sock", "--dgram", "--once"]),
        &[s(
            "unix_client",
            &["{ADDR}", "--dgram", "--connect", "-m", "hello"],
        )],
    ),
    row(
        "unix_dgram_stale_file_probe",
        server("unix_server", &["{STALE}", "--dgram", "--once"]),
        &[s("unix_client", &["{ADDR}", "--dgram", "-m", "hello"])],
    ),
    row(
        "unix_dgram_timeout",
        server(
            "unix_server",
            &["{DIR}/d.sock", "--dgram", "--once", "--timeout", "5"],
        ),
        &[s(
            "unix_client",
            &["{ADDR}", "--dgram", "--timeout", "5", "-m", "hello"],
        )],
    ),
    row(
        "unix_dgram_batch",
        server(
            "unix_server",
            &[
                "{DIR}/d.sock",
                "--dgram",
                "--batch",
                "4",
                "--max-conns",
                "2",
            ],
        ),
        &[s(
            "unix_client",
            &["{ADDR}", "--dgram", "-m", "a", "-m", "b"],
        )],
    ),
];
