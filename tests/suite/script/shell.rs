//! `socklab shell` on a pseudo-terminal: the prompt, a blocking call
//! that gives the prompt back, its result printed when it comes; help,
//! hints, save; and without a terminal, no prompt.

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::{self, socklab};

/// What a child has printed so far, read on a thread.
pub(super) struct Reader {
    rx: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Reader {
    pub(super) fn new(mut r: impl Read + Send + 'static) -> Reader {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Reader {
            rx,
            seen: String::new(),
        }
    }

    /// What came since the last call (waiting for at least one chunk, up
    /// to the watchdog; empty when none came).
    pub(super) fn more(&mut self) -> String {
        if let Ok(b) = self.rx.recv_timeout(harness::WATCHDOG) {
            self.seen.push_str(&String::from_utf8_lossy(&b));
        }
        std::mem::take(&mut self.seen)
    }

    /// Wait (up to the watchdog) until the output holds `text` after
    /// what was already consumed; returns what came up to it.
    pub(super) fn until(&mut self, text: &str) -> String {
        let deadline = Instant::now() + harness::WATCHDOG;
        loop {
            if let Some(i) = self.seen.find(text) {
                let upto: String = self.seen.drain(..i + text.len()).collect();
                return upto;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(b) => self.seen.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => panic!("never saw {text:?}; output so far:\n{}", self.seen),
            }
        }
    }
}

/// `socklab shell ARGS` with its stdin on a pseudo-terminal: the
/// terminal's master (lines written to it are typed; dropped, the input
/// ends), the shell, and its stdout read as it comes.
fn shell_on_a_terminal(args: &[&str]) -> (std::fs::File, std::process::Child, Reader) {
    let (master, slave) = harness::pty();
    let mut all = vec!["shell"];
    all.extend_from_slice(args);
    let mut child = socklab(&all)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Reader::new(child.stdout.take().unwrap());
    (master, child, out)
}

#[test]
fn shell_on_a_terminal_a_blocking_accept_gives_the_prompt_back() {
    let dir = harness::TempDir::new("shell-save");
    let saved = dir.path("session.txt");
    let (mut master, child, mut out) = shell_on_a_terminal(&[]);
    let mut send = |line: &str| master.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.until("socklab> ");
    send("s = socket(AF_INET, SOCK_STREAM, 0)");
    assert_eq!(
        out.until("socklab> "),
        "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\nsocklab> "
    );
    send("bind(s, 127.0.0.1:0)");
    send("listen(s, 1)");
    send("getsockname(s, 127.0.0.1:40000, ...)");
    out.until("getsockname(3, ");
    out.until("socklab> ");
    send("accept(s)");
    // The prompt comes back while accept waits.
    assert_eq!(
        out.until("socklab> "),
        "accept(3,  <unfinished ...>\nsocklab> "
    );
    send("c = socket(AF_INET, SOCK_STREAM, 0)");
    send("connect(c, 127.0.0.1:40000)");
    out.until("connect(5, ");
    let resumed = out.until(") = 4\n");
    assert!(
        resumed.contains("<... accept resumed>{sa_family=AF_INET"),
        "{resumed}"
    );
    send("d = socket(AF_INET, SOCK_STREAM, 0)");
    send("connect(d, 127.0.0.1:1)");
    out.until("= -1 ECONNREFUSED (Connection refused)\n");
    out.until("  hint: no server is listening");
    send("help accept4");
    out.until("accept4(sockfd, addr, addrlen, flags)\n  errors (man 2 accept): EAGAIN, ");
    send("help");
    out.until("socketpair(");
    send(&format!("save {saved}"));
    out.until(&format!("saved 9 lines to {saved}"));
    drop(master);
    let done = harness::finish(child);
    done.assert_ok();
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text.starts_with("s = socket(AF_INET, SOCK_STREAM, 0)\nbind(s, 127.0.0.1:0)\n"),
        "{text}"
    );
    assert!(text.contains("accept(s)\n"), "{text}");
    // Typed while accept blocked, so run on a spare thread: saved with
    // its tag, `socklab script` runs the file (it waited 5 s, exit 1).
    assert!(
        text.contains("main-2 | c = socket(AF_INET, SOCK_STREAM, 0)\n"),
        "{text}"
    );
    let replay = harness::run(socklab(&["script", &saved]), b"");
    replay.assert_ok();
    assert!(
        replay.stdout.contains("  main | <... accept resumed>"),
        "{}",
        replay.dump()
    );
}

#[test]
fn shell_without_a_terminal_reads_lines_and_shows_no_prompt() {
    let out = harness::run(
        socklab(&["shell"]),
        b"s = socket(AF_INET, SOCK_DGRAM, 0)\nbind(s, 127.0.0.1:0) = 0\nfoo(s)\n",
    );
    out.assert_ok();
    assert!(!out.stdout.contains("socklab> "), "{}", out.dump());
    assert!(
        out.stdout
            .starts_with("socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3\nbind(3, "),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.contains("error: column 1: unknown call 'foo'"),
        "{}",
        out.dump()
    );
    assert!(out.stdout.ends_with("close(3) = 0\n"), "{}", out.dump());
}

#[test]
fn shell_without_a_terminal_exits_1_when_an_expectation_failed() {
    let out = harness::run(
        socklab(&["shell"]),
        b"s = socket(AF_INET, SOCK_DGRAM, 0)\nlisten(s, 1) = 0\nclose(s) = 0\n",
    );
    out.assert_code(1)
        .stderr_has("listen(s, 1) = 0\n  expected result: = 0\n  got      result: = -1 EOPNOTSUPP")
        .stderr_has("socklab: 1 line did not hold");
    // The session went on after it.
    assert!(out.stdout.ends_with("close(3) = 0\n"), "{}", out.dump());
}

/// Whether the output shows `text` within `wait` (false if not: no
/// assertion on time, only on what came).
fn shows_within(out: &mut Reader, text: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if out.seen.contains(text) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match out.rx.recv_timeout(left) {
            Ok(b) => out.seen.push_str(&String::from_utf8_lossy(&b)),
            Err(_) => return false,
        }
    }
}

/// Wait until process `pid` is stopped (state T in /proc/PID/stat).
fn stopped(pid: i32) {
    let deadline = Instant::now() + harness::WATCHDOG;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{pid} never stopped: {stat}");
        std::thread::yield_now();
    }
}

/// In the shell as in a script, a `net | set SPEC` line starts when the
/// calls under way have returned or sleep in them: a recv woken by data
/// while its process actor is stopped (SIGSTOP: woken, not asleep) returns
/// and prints before the link line, once the actor runs again (SIGCONT).
/// No network is up: the line is printed, then the shell says so.
#[test]
// The peer is the test's own socket (as the programs' tests use std::net).
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn shell_a_net_set_line_waits_for_a_woken_call_to_return() {
    let (mut master, child, mut out) =
        shell_on_a_terminal(&["--timeout", "60", "--net", "nosuchnet"]);
    let mut send = |line: &str| master.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.until("socklab> ");
    send("s = socket(AF_INET, SOCK_STREAM, 0)");
    send("bind(s, 127.0.0.1:0)");
    send("listen(s, 1)");
    send("getsockname(s, 127.0.0.1:40000, ...)");
    out.until("getsockname(3, {sa_family=AF_INET, sin_port=htons(");
    let port: u16 = out.until(")").trim_end_matches(')').parse().unwrap();
    let mut peer = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    out.until("socklab> ");
    send("a = accept(s)");
    out.until(") = 4\n");
    out.until("socklab> ");
    send("p = fork()");
    out.until("clone(");
    let pid: i32 = out
        .until("\n")
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    out.until("socklab> ");
    send("p | recv(a, 1024)");
    out.until("recvfrom(4,  <unfinished ...>\n");
    out.until("socklab> ");
    // SAFETY: kill sends a signal to the shell's own child process actor.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    stopped(pid);
    peer.write_all(b"hi").unwrap();
    send("net | set down");
    // Before the link line may print, the recv must have returned: give a
    // line printed too early the time to show (it must not), then let the
    // actor run.
    let early = shows_within(&mut out, "net | set down", Duration::from_secs(1));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let upto = out.until("net | set down");
    assert!(
        !early,
        "the link line came before the recv returned:\n{upto}"
    );
    assert!(
        upto.contains("<... recvfrom resumed>\"hi\", 1024, 0, NULL, NULL) = 2\n"),
        "{upto}"
    );
    out.until("socklab> ");
    drop(master);
    harness::finish(child).assert_ok();
}
