//! Issue 15 item 4: with `--wire`, a program's own stdout lines come
//! after the call that produced it in the combined output (`2>&1`), as
//! a lab's do; stdout alone stays the program's own.

use super::*;
use crate::harness::bin;

/// The index of the first line of `text` containing every one of `parts`.
fn index_of(text: &str, parts: &[&str]) -> usize {
    text.lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?}\n{text}"))
}

#[test]
fn a_programs_stdout_line_comes_after_its_call_with_wire() {
    if !can_capture() {
        return;
    }
    // stderr into stdout, as a user's `2>&1`: one stream, in write order.
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", "exec \"$0\" \"$@\" 2>&1", bin()]);
    sh.args(["--wire", "tcp", "server", "127.0.0.1:0", "--once"]);
    let server = Server::start_cmd(sh);
    run(socklab(&["tcp", "client", "-m", "hi", &server.addr]), b"").assert_ok();
    let o = server.finish();
    o.assert_ok();
    let all = &o.stdout;
    let listen = index_of(all, &["listen(", ") = 0"]);
    let getsockname = index_of(all, &["getsockname(", ") = 0"]);
    let listening = index_of(all, &["listening on 127.0.0.1:"]);
    let accepted = index_of(all, &["accept4", ") = "]);
    let connection = index_of(all, &["connection from 127.0.0.1:"]);
    let received = index_of(all, &["recvfrom(", "\"hi\""]);
    let from = index_of(all, &["from 127.0.0.1:", ": 2 bytes \"hi\""]);
    let order = [
        listen,
        getsockname,
        listening,
        accepted,
        connection,
        received,
        from,
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "expected listen, getsockname, `listening on`, accept4, `connection from`, \
         recvfrom, `from ...` in this order: {order:?}\n{all}"
    );
}

#[test]
fn with_wire_stdout_is_still_the_programs_own() {
    if !can_capture() {
        return;
    }
    let server = Server::start(&["--wire", "tcp", "server", "127.0.0.1:0", "--once"]);
    run(socklab(&["tcp", "client", "-m", "hi", &server.addr]), b"").assert_ok();
    let o = server.finish();
    o.assert_ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        lines.len() == 3
            && lines[0].starts_with("listening on 127.0.0.1:")
            && lines[1].starts_with("connection from 127.0.0.1:")
            && lines[2].ends_with(": 2 bytes \"hi\""),
        "{}",
        o.dump()
    );
    assert!(!o.stderr.contains("listening on"), "{}", o.dump());
    assert!(o.stderr.contains("accept4("), "{}", o.dump());
}
