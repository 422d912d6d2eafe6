//! The messages a client sends, and how socklab prints bytes and errno codes.

use std::io::{BufRead, IsTerminal, Write};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::trace::{errno_text, quote};

/// Where a client's messages come from: `-m TEXT` options, or stdin lines
/// (stripped, as the tutorial's `input('>>: ').strip()`).
pub enum Messages {
    List(std::vec::IntoIter<String>),
    Stdin { prompt: bool },
}

impl Messages {
    pub fn new(list: Vec<String>) -> Messages {
        if list.is_empty() {
            Messages::Stdin {
                prompt: std::io::stdin().is_terminal(),
            }
        } else {
            Messages::List(list.into_iter())
        }
    }
}

impl Iterator for Messages {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Messages::List(list) => list.next().map(|m| Ok(m.into_bytes())),
            Messages::Stdin { prompt } => {
                if *prompt {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b">>: ").and_then(|()| out.flush());
                }
                let mut line = Vec::new();
                match std::io::stdin().lock().read_until(b'\n', &mut line) {
                    Ok(0) => None,
                    Ok(_) => Some(Ok(line.trim_ascii().to_vec())),
                    Err(e) => Some(Err(Error::Runtime(format!("reading stdin: {e}")))),
                }
            }
        }
    }
}

/// `n` bytes of `abc...xyz` repeated: lowercase, so the echo is checkable.
pub fn pattern(n: usize) -> String {
    (b'a'..=b'z').cycle().take(n).map(char::from).collect()
}

/// `5 bytes "hello"`: a message as the servers print it (strace's escaping,
/// never cut).
pub fn shown(msg: &[u8]) -> String {
    let unit = if msg.len() == 1 { "byte" } else { "bytes" };
    format!("{} {unit} {}", msg.len(), quote(msg, usize::MAX))
}

/// `111 ECONNREFUSED (Connection refused)`, or `0` for success.
pub fn errno_code(code: i32) -> String {
    match code {
        0 => "0".to_string(),
        n => format!("{n} {}", errno_text(Errno::from_raw(n))),
    }
}
