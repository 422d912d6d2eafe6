//! The labs that are scripts (src/lab/scripts/): each passes and its
//! timeline shows the call that is its phenomenon.

use super::{lab, line_with};

#[test]
fn lab_connect_twice() {
    let o = lab("connect-twice");
    line_with(
        &o,
        &[
            "connect(",
            ") = -1 EISCONN (Transport endpoint is already connected)",
        ],
    );
    line_with(
        &o,
        &[
            "connect(",
            ") = -1 EALREADY (Operation already in progress)",
        ],
    );
    // The poll waits for the resent SYN; written whole in the script, the
    // next line waits for it (src/script/waits.rs): one line.
    line_with(
        &o,
        &[
            "poll([{fd=",
            "events=POLLOUT}], 1, 5000) = 1 ([{fd=",
            "revents=POLLOUT}])",
        ],
    );
}

#[test]
fn lab_accept_without_listen() {
    let o = lab("accept-without-listen");
    line_with(&o, &["accept(", ") = -1 EINVAL (Invalid argument)"]);
    line_with(
        &o,
        &["accept(", ") = -1 EOPNOTSUPP (Operation not supported)"],
    );
}

#[test]
fn lab_listen_without_bind() {
    let o = lab("listen-without-bind");
    line_with(
        &o,
        &[
            "getsockname(",
            "sin_port=htons(0), sin_addr=inet_addr(\"0.0.0.0\")",
        ],
    );
    o.stdout_has("on 0.0.0.0 after; connect 0");
}

#[test]
fn lab_send_after_shut_wr() {
    let o = lab("send-after-shut-wr");
    line_with(&o, &["client | shutdown(", ", SHUT_WR) = 0"]);
    line_with(
        &o,
        &[
            "client | sendto(",
            r#""late", 4, MSG_NOSIGNAL, NULL, 0) = -1 EPIPE (Broken pipe)"#,
        ],
    );
    line_with(
        &o,
        &[
            "client | sendto(",
            r#""late", 4, 0, NULL, 0) = -1 EPIPE (Broken pipe)"#,
        ],
    );
}

#[test]
fn lab_recv_after_shut_rd() {
    let o = lab("recv-after-shut-rd");
    line_with(&o, &["client | ioctl(", "FIONREAD, [5]) = 0"]);
    line_with(
        &o,
        &["client | recvfrom(", r#""after", 1024, 0, NULL, NULL) = 5"#],
    );
    line_with(
        &o,
        &[
            "client | recvfrom(",
            ") = -1 ECONNRESET (Connection reset by peer)",
        ],
    );
}

#[test]
fn lab_close_vs_blocked_accept() {
    let o = lab("close-vs-blocked-accept");
    line_with(&o, &["server | accept(", "<unfinished ...>"]);
    line_with(&o, &[" other | close(", ") = 0"]);
    line_with(&o, &[" other | shutdown(", ", SHUT_RD) = 0"]);
    line_with(
        &o,
        &[
            "server | <... accept resumed>",
            ") = -1 EINVAL (Invalid argument)",
        ],
    );
}

#[test]
fn lab_peek_waitall() {
    let o = lab("peek-waitall");
    line_with(
        &o,
        &[
            "server | recvfrom(",
            r#""hello", 5, MSG_PEEK, NULL, NULL) = 5"#,
        ],
    );
    line_with(
        &o,
        &[
            "server | ",
            r#""abcdefgh", 8, MSG_WAITALL, NULL, NULL) = 8"#,
        ],
    );
}

#[test]
fn lab_socketpair_rights() {
    let o = lab("socketpair-rights");
    line_with(
        &o,
        &["server | socketpair(AF_UNIX, SOCK_STREAM, 0, [", "]) = 0"],
    );
    line_with(
        &o,
        &[
            "worker | recvmsg(",
            "cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[",
            ") = 2",
        ],
    );
    line_with(
        &o,
        &["worker | recvfrom(", r#""hi", 1024, 0, NULL, NULL) = 2"#],
    );
}

#[test]
fn lab_self_connect() {
    let o = lab("self-connect");
    line_with(&o, &["recvfrom(", r#""echo?", 1024, 0, NULL, NULL) = 5"#]);
    o.stdout_has("received \"echo?\"");
}

#[test]
fn lab_nagle_stall() {
    let o = lab("nagle-stall");
    line_with(
        &o,
        &["client | setsockopt(", "SOL_TCP, TCP_NODELAY, [1], 4) = 0"],
    );
    o.stdout_has("x slower with Nagle");
}
