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
    let received = index_of(all, &["recvfrom", "\"hi\", 1024"]);
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

/// A thread model's main thread waits in accept4 while a worker serves:
/// the worker's stdout line comes while the server runs (the blocked
/// accept4 prints `<unfinished ...>` instead of holding every line after
/// it until it returns), and stdout is still the program's own.
#[test]
fn a_workers_line_comes_while_the_main_thread_waits_in_accept4() {
    use std::io::{BufRead, Write};
    if !can_capture() {
        return;
    }
    let mut cmd = socklab(&[
        "--wire",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "thread",
    ]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = || rx.recv_timeout(std::time::Duration::from_secs(10));
    let first = next().unwrap_or_default();
    let addr = first.strip_prefix("listening on ").unwrap_or_else(|| {
        let _ = child.kill();
        panic!("first stdout line: {first:?}")
    });
    // The client stays connected: the server's main thread is back in
    // accept4, its worker in recvfrom.
    let mut client = socklab(&["tcp", "client", addr]);
    client
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut client = client.spawn().unwrap();
    let mut to_client = client.stdin.take().unwrap();
    to_client.write_all(b"hi\n").unwrap();
    let connection = next();
    let from = next();
    // SAFETY: our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    drop(to_client);
    let _ = client.wait();
    assert!(
        matches!(&connection, Ok(l) if l.starts_with("connection from 127.0.0.1:"))
            && matches!(&from, Ok(l) if l.contains(" bytes \"hi")),
        "the worker's lines did not come while the server ran: {connection:?} {from:?}"
    );
}
