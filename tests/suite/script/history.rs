//! `socklab shell --history FILE` on a pseudo-terminal: the session's
//! lines are appended to FILE only with the flag, the next session
//! recalls them (arrow up, Ctrl-R's reverse search), and FILE is read and
//! written only as itself (O_NOFOLLOW): a symbolic link there is refused,
//! its target left untouched; so is a FIFO or a directory.

use std::io::Write;
use std::process::{Child, Stdio};

use super::editing::plain;
use super::shell::Reader;
use crate::harness::{self, socklab};

/// A shell session on a pty: its keys, and what it shows.
struct Session {
    child: Child,
    keys: std::fs::File,
    out: Reader,
    shown: String,
}

impl Session {
    fn start(args: &[&str]) -> Session {
        let (master, slave) = harness::pty();
        let mut all = vec!["shell"];
        all.extend_from_slice(args);
        let child = socklab(&all)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Session {
            child,
            out: Reader::new(master.try_clone().unwrap()),
            keys: master,
            shown: String::new(),
        }
    }

    /// What the terminal showed up to `text` (it must come).
    fn until(&mut self, text: &str) -> String {
        loop {
            if let Some(i) = self.shown.find(text) {
                return self.shown.drain(..i + text.len()).collect();
            }
            let more = self.out.more();
            assert!(
                !more.is_empty(),
                "never saw {text:?}; so far:\n{}",
                self.shown
            );
            self.shown.push_str(&more);
            self.shown = plain(&self.shown);
        }
    }

    fn keys(&mut self, k: &str) {
        self.keys.write_all(k.as_bytes()).unwrap();
    }

    /// Type a line at the prompt, wait for its call's line.
    fn line(&mut self, typed: &str, result: &str) {
        self.until("socklab> ");
        self.keys(&format!("{typed}\r"));
        self.until(result);
    }

    /// Ctrl-D at the prompt; what came after, and the exit.
    fn end(mut self) -> String {
        self.until("socklab> ");
        self.keys("\x04");
        let done = harness::finish(self.child);
        done.assert_ok();
        let mut rest = self.shown;
        loop {
            let more = self.out.more();
            if more.is_empty() {
                break;
            }
            rest.push_str(&more);
        }
        plain(&rest)
    }
}

const SOCKET: &str = "s = socket(AF_INET, SOCK_DGRAM, 0)";

#[test]
fn shell_history_file_is_recalled_next_session_and_ctrl_r_finds_a_line() {
    let dir = harness::TempDir::new("shell-history");
    let file = dir.path("history");
    // Without --history nothing is written anywhere we name.
    let mut s = Session::start(&[]);
    s.line(SOCKET, "IPPROTO_IP) = 3\n");
    s.end();
    assert!(!std::path::Path::new(&file).exists());
    // The first session with the file: its lines appended at the end.
    let mut s = Session::start(&["--history", &file]);
    s.line(SOCKET, "IPPROTO_IP) = 3\n");
    s.line("close(s)", "close(3) = 0\n");
    s.end();
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written, format!("{SOCKET}\nclose(s)\n"));
    // The next session: arrow up shows the previous session's last line,
    // then the one before; Ctrl-U drops it.
    let mut s = Session::start(&["--history", &file]);
    s.until("socklab> ");
    s.keys("\x1b[A");
    s.until("close(s)");
    s.keys("\x1b[A");
    s.until(SOCKET);
    s.keys("\x15");
    // Ctrl-R: the reverse search finds the line by a word in it; Enter runs it.
    s.keys("\x12DGRAM");
    s.until("reverse-i-search)`DGRAM': ");
    s.until(SOCKET);
    s.keys("\r");
    s.until("socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3\n");
    s.end();
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written, format!("{SOCKET}\nclose(s)\n{SOCKET}\n"));
}

/// Written with create_output (O_NOFOLLOW): a symbolic link planted at
/// the path during the session is refused at the end, its target left
/// uncreated and the link as it was.
#[test]
fn shell_history_refuses_to_write_through_a_symbolic_link_planted_at_its_path() {
    let dir = harness::TempDir::new("shell-history-link");
    let (link, target) = (dir.path("history"), dir.path("elsewhere"));
    let mut s = Session::start(&["--history", &link]);
    s.line(SOCKET, "IPPROTO_IP) = 3\n");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let rest = s.end();
    assert!(
        rest.contains("cannot write the history file") && rest.contains("symbolic link (ELOOP)"),
        "{rest}"
    );
    assert!(
        !std::path::Path::new(&target).exists(),
        "nothing written through the link"
    );
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is left as it was");
}

/// Read as it is written: a symbolic link at the path (O_NOFOLLOW: ELOOP)
/// or anything but a regular file (a FIFO: no hang; a directory) is
/// refused before the session starts, in one line, exit 1 (a file that
/// cannot be read is a runtime failure, as an output file), no call made
/// and the link's target neither read nor changed.
#[test]
fn shell_history_refuses_to_read_a_symbolic_link_or_a_file_that_is_not_regular() {
    let dir = harness::TempDir::new("shell-history-read");
    let (link, target) = (dir.path("history"), dir.path("elsewhere"));
    std::fs::write(&target, "close(0)\n").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path("fifo");
    let c = std::ffi::CString::new(fifo.as_str()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path it is given.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let sub = dir.path("sub");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&sub)
        .unwrap();
    for (path, why) in [
        (
            &link,
            "it is a symbolic link (ELOOP); socklab does not read through one",
        ),
        (&fifo, "it is not a regular file"),
        (&sub, "it is not a regular file"),
    ] {
        let out = harness::run(socklab(&["shell", "--history", path]), b"close(0)\n");
        out.assert_code(1);
        let want = format!("cannot read the history file {path}: {why}");
        assert!(out.stderr.contains(&want), "{want}\n{}", out.dump());
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.dump());
        assert_eq!(out.stdout, "", "no call made");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "close(0)\n");
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is left as it was");
}
