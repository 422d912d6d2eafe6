//! Differential scenarios: The server models (--model).

use super::{Row, row, s, server};

pub const SCENARIOS: &[Row] = &[
    // --- server models (--model): the socket calls of each model's C
    // twin (epoll's own calls are outside the trace set; programs::model
    // and trace_equals_strace.rs check them). Clients one after the
    // other; fork, and thread with more than one connection, interleave
    // processes or threads as the scheduler likes (their syscall counts
    // per echo are compared in programs::model). Pools of one thread
    // only: a prefork worker blocks in accept4 while its parent works,
    // and strace splits the line (`<unfinished ...>`) or not.
    row(
        "tcp_model_epoll",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--model", "epoll", "--max-conns", "2"],
        ),
        &[
            s("tcp_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("tcp_client", &["{ADDR}", "--size", "100000"]),
        ],
    ),
    row(
        "tcp_model_epoll_once_names_sockopt",
        server(
            "tcp_server",
            &[
                "127.0.0.1:0",
                "--model",
                "epoll",
                "--once",
                "--names",
                "--sockopt",
                "TCP_NODELAY=1@accepted",
            ],
        ),
        &[s("tcp_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "unix_model_epoll",
        server(
            "unix_server",
            &["{DIR}/s.sock", "--model", "epoll", "--max-conns", "2", "-q"],
        ),
        &[
            s("unix_client", &["{ADDR}", "-m", "hello"]),
            s("unix_client", &["{ADDR}", "-m", "again"]),
        ],
    ),
    // --model uring: the io_uring loop (issue 18). Its io_uring_enter
    // calls are outside the trace set (how many depends on when the CQEs
    // arrive: strace::uring compares socklab's trace with strace's); the
    // output and the socket calls (getpeername, close) are compared.
    row(
        "tcp_model_uring",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--model", "uring", "--max-conns", "2"],
        ),
        &[
            s("tcp_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("tcp_client", &["{ADDR}", "--size", "100000"]),
        ],
    ),
    row(
        "unix_model_uring_once",
        server(
            "unix_server",
            &["{DIR}/s.sock", "--model", "uring", "--once"],
        ),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "tcp_model_thread",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--model", "thread", "--max-conns", "1"],
        ),
        &[s("tcp_client", &["{ADDR}", "-m", "hello", "-m", "world"])],
    ),
    row(
        "tcp_model_poll",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--model", "poll", "--max-conns", "2"],
        ),
        &[
            s("tcp_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("tcp_client", &["{ADDR}", "--size", "100000"]),
        ],
    ),
    row(
        "unix_model_poll_abstract",
        server("unix_server", &["{ABS}", "--model", "poll", "--once"]),
        &[s("unix_client", &["{ADDR}", "-m", "hello"])],
    ),
    row(
        "tcp_model_prethread_1",
        server(
            "tcp_server",
            &["127.0.0.1:0", "--model", "prethread:1", "--max-conns", "2"],
        ),
        &[
            s("tcp_client", &["{ADDR}", "-m", "hello"]),
            s("tcp_client", &["{ADDR}", "-m", "again"]),
        ],
    ),
    row(
        "udp_model_epoll",
        server(
            "udp_server",
            &["127.0.0.1:0", "--model", "epoll", "--max-conns", "2"],
        ),
        &[s("udp_client", &["{ADDR}", "-m", "hello", "-m", "world"])],
    ),
    // The datagram server's --model uring (issue 18): the same lines and
    // socket calls; its io_uring_enter calls are outside the trace set.
    row(
        "udp_model_uring",
        server(
            "udp_server",
            &["127.0.0.1:0", "--model", "uring", "--max-conns", "3"],
        ),
        &[
            s("udp_client", &["{ADDR}", "-m", "hello", "-m", "world"]),
            s("udp_client", &["{ADDR}"]).stdin("\n"),
        ],
    ),
    row(
        "unix_dgram_model_uring_once",
        server(
            "unix_server",
            &["{DIR}/d.sock", "--dgram", "--model", "uring", "--once"],
        ),
        &[s("unix_client", &["{ADDR}", "--dgram", "-m", "hello"])],
    ),
];
