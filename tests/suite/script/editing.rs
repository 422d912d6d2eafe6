//! `socklab shell` with stdin and stdout on a pseudo-terminal: the line
//! editor (arrow keys recall history, Tab completes call names) and a
//! blocked call's result printed above the line being typed, which the
//! editor then redraws intact.

use std::io::Write;
use std::process::Stdio;

use super::shell::Reader;
use crate::harness::{self, socklab};

/// The text a terminal would show, without the editor's escape
/// sequences (CSI `ESC [ ... letter`) and carriage returns.
pub(super) fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // Kept whole when it has not ended yet (the rest comes).
                let mut seq = String::from(c);
                let mut ended = false;
                for c in chars.by_ref() {
                    seq.push(c);
                    if seq.len() > 2 && (c.is_ascii_alphabetic() || c == '~') {
                        ended = true;
                        break;
                    }
                }
                if !ended {
                    out.push_str(&seq);
                }
            }
            '\r' | '\x07' => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn shell_line_editing_history_completion_and_results_above_the_line() {
    let (mut master, slave) = harness::pty();
    let child = socklab(&["shell"])
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Reader::new(master.try_clone().unwrap());
    let mut shown = String::new();
    let mut until = |text: &str| -> String {
        loop {
            if let Some(i) = shown.find(text) {
                return shown.drain(..i + text.len()).collect();
            }
            let more = out.more();
            assert!(!more.is_empty(), "never saw {text:?}; so far:\n{shown}");
            shown.push_str(&more);
            shown = plain(&shown);
        }
    };
    let mut keys = |k: &str| master.write_all(k.as_bytes()).unwrap();
    until("socklab> ");
    keys("s = socket(AF_INET, SOCK_STREAM, 0)\r");
    // The editor's pipe sits above fd 10: the first socket is 3.
    assert!(
        until("= 3\n").ends_with("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n"),
        "the socket line"
    );
    until("socklab> ");
    // Arrow up recalls the line typed before; Ctrl-U drops it again.
    keys("\x1b[A");
    until("s = socket(AF_INET, SOCK_STREAM, 0)");
    keys("\x15");
    // Tab completes as bash does: the common part, then the rest.
    keys("getso\t");
    until("getsock");
    keys("o\t");
    until("getsockopt");
    keys("(s, SOL_SOCKET, SO_TYPE, [SOCK_STREAM], [4])\r");
    until("getsockopt(3, SOL_SOCKET, SO_TYPE, [1], [4]) = 0\n");
    // Keys go only to a prompt: between two lines the terminal is
    // cooked, and its line discipline would take Ctrl-U or Ctrl-D.
    until("socklab> ");
    keys("bind(s, 127.0.0.1:0)\r");
    until("= 0\n");
    until("socklab> ");
    keys("listen(s, 1)\r");
    until("= 0\n");
    until("socklab> ");
    keys("getsockname(s)\r");
    let name = until("= 0\n");
    let port: String = name
        .rsplit("htons(")
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    until("socklab> ");
    keys("accept(s)\r");
    // The prompt comes back while accept waits.
    until("accept(3,  <unfinished ...>\n");
    until("socklab> ");
    // Half a line typed, then a client connects from another process.
    keys("c = sock");
    until("c = sock");
    let client = format!(
        "c = socket(AF_INET, SOCK_STREAM, 0)\nconnect(c, 127.0.0.1:{port}) = 0\nclose(c) = 0\n"
    );
    harness::run(socklab(&["script", "-"]), client.as_bytes()).assert_ok();
    // The result prints above the line, which is drawn again as typed.
    let resumed = until("c = sock");
    assert!(
        resumed.contains("<... accept resumed>{sa_family=AF_INET"),
        "{resumed:?}"
    );
    assert!(resumed.contains(") = 4\n"), "{resumed:?}");
    assert!(resumed.ends_with("\nsocklab> c = sock"), "{resumed:?}");
    keys("et(AF_INET, SOCK_STREAM, 0)\r");
    until("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5\n");
    until("socklab> ");
    keys("\x04");
    let done = harness::finish(child);
    done.assert_ok();
}
