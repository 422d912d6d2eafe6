//! The messages a client sends: `-m TEXT` options, a `--size` pattern, or
//! stdin lines.

use std::io::{BufRead, IsTerminal, Write};

use crate::values::error::{Error, Result};

/// The longest line socklab holds: a client's stdin line (without its
/// `\n`), and what the `--lines` buffer holds without a newline (or one
/// `--bufsize`, when larger). 64 KiB.
pub const LINE_LIMIT: usize = 64 * 1024;

/// Where a client's messages come from: `-m TEXT` options, a `--size`
/// pattern, or stdin lines (stripped, as the tutorial's
/// `input('>>: ').strip()`; each at most [`LINE_LIMIT`] bytes).
pub enum Messages {
    List(std::vec::IntoIter<Vec<u8>>),
    Stdin { prompt: bool },
}

impl Messages {
    /// `list`: each message's bytes (`-m` takes any bytes: `$'caf\xe9'`).
    pub fn new(list: Vec<Vec<u8>>) -> Messages {
        if list.is_empty() {
            Messages::Stdin {
                prompt: std::io::stdin().is_terminal(),
            }
        } else {
            Messages::List(list.into_iter())
        }
    }

    /// One message: `--size N`'s pattern.
    pub fn one(msg: Vec<u8>) -> Messages {
        Messages::List(vec![msg].into_iter())
    }
}

impl Iterator for Messages {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Messages::List(list) => list.next().map(Ok),
            Messages::Stdin { prompt } => {
                if *prompt {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b">>: ").and_then(|()| out.flush());
                }
                // At most LINE_LIMIT bytes and the newline: stdin without
                // newlines (`< /dev/zero`) cannot make the line grow forever.
                let most = LINE_LIMIT as u64 + 1;
                let mut line = Vec::new();
                match read_line(most, &mut line) {
                    Ok(0) => None,
                    Ok(n) if n as u64 == most && line.last() != Some(&b'\n') => {
                        Some(Err(Error::Runtime(format!(
                            "a stdin line longer than {LINE_LIMIT} bytes (no newline in its first {LINE_LIMIT}): over the client's line limit; split it into lines, or send a pattern with --size"
                        ))))
                    }
                    Ok(_) => Some(Ok(line.trim_ascii().to_vec())),
                    Err(Stdin::Stopped(sig)) => Some(Err(Error::Signal(sig))),
                    Err(Stdin::Failed(e)) => {
                        Some(Err(Error::Runtime(format!("reading stdin: {e}"))))
                    }
                }
            }
        }
    }
}

/// Why a stdin line was not read.
enum Stdin {
    /// A stop signal arrived (sys/signals.rs): the client stops there.
    Stopped(nix::sys::signal::Signal),
    Failed(std::io::Error),
}

/// Up to `most` bytes of stdin into `line`, through a newline: std's
/// `read_until`, except that a read a stop signal interrupted (EINTR)
/// ends the wait (std's would read again, and a client waiting for its
/// user would not stop); its bytes so far: the number read.
fn read_line(most: u64, line: &mut Vec<u8>) -> std::result::Result<usize, Stdin> {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let start = line.len();
    loop {
        if let Some(sig) = crate::sys::signals::pending() {
            return Err(Stdin::Stopped(sig));
        }
        let room = most as usize - (line.len() - start);
        let (used, done) = match lock.fill_buf() {
            Ok([]) => return Ok(line.len() - start),
            Ok(buf) => {
                let buf = &buf[..buf.len().min(room)];
                match buf.iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        line.extend_from_slice(&buf[..=at]);
                        (at + 1, true)
                    }
                    None => {
                        line.extend_from_slice(buf);
                        (buf.len(), buf.len() == room)
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stdin::Failed(e)),
        };
        lock.consume(used);
        if done {
            return Ok(line.len() - start);
        }
    }
}
