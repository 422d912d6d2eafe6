//! The messages a client sends, the buffers sized from the command line,
//! and how socklab prints bytes and errno codes.

use std::io::{BufRead, IsTerminal, Read, Write};

use nix::errno::Errno;

use crate::strace::{errno_text, escape_byte, quote};
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
    pub fn new(list: Vec<String>) -> Messages {
        if list.is_empty() {
            Messages::Stdin {
                prompt: std::io::stdin().is_terminal(),
            }
        } else {
            Messages::List(
                list.into_iter()
                    .map(String::into_bytes)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
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
                match std::io::stdin()
                    .lock()
                    .take(most)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) => None,
                    Ok(n) if n as u64 == most && line.last() != Some(&b'\n') => {
                        Some(Err(Error::Runtime(format!(
                            "a stdin line longer than {LINE_LIMIT} bytes (no newline in its first {LINE_LIMIT}): over the client's line limit; split it into lines, or send a pattern with --size"
                        ))))
                    }
                    Ok(_) => Some(Ok(line.trim_ascii().to_vec())),
                    Err(e) => Some(Err(Error::Runtime(format!("reading stdin: {e}")))),
                }
            }
        }
    }
}

/// A zeroed buffer of `n` bytes sized from the command line (`what`:
/// `--bufsize`, `--size`): a failed allocation is an error, exit 1
/// (`cannot allocate N bytes for --size`), not an abort, so the caller's
/// cleanup (a UNIX server's unlink) still runs. Zeroed pages are only
/// touched when used, as with `vec![0; n]`.
pub fn buffer(n: usize, what: &str) -> Result<Vec<u8>> {
    let cannot = || {
        Error::Runtime(format!(
            "cannot allocate {n} bytes for {what} (out of memory, or over the address-space limit: ulimit -v)"
        ))
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(n).map_err(|_| cannot())?;
    // SAFETY: the layout's size is not zero (n > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(cannot());
    }
    // SAFETY: ptr was allocated by the global allocator with the layout
    // of n bytes of u8 (align 1), and all n bytes are initialised (zero).
    Ok(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

/// `n` bytes of `abc...xyz` repeated: lowercase, so the echo is checkable.
/// Allocated as [`buffer`] (for `what`, `--size`).
pub fn pattern(n: usize, what: &str) -> Result<Vec<u8>> {
    let mut msg = buffer(n, what)?;
    for (b, c) in msg.iter_mut().zip((b'a'..=b'z').cycle()) {
        *b = c;
    }
    Ok(msg)
}

/// The peer's bytes as a client prints them: as they came with `raw`
/// (`--raw`, or stdout is not a terminal, as the C twins print); on a
/// terminal, control characters escaped as the trace escapes them (`\33`,
/// `\7`, `\r`; newline and tab kept) and bytes that are not UTF-8 in
/// octal, so a server cannot send escape sequences to the user's terminal.
pub fn peer_text(bytes: &[u8], raw: bool) -> String {
    if raw {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            if c.is_control() && c != '\n' && c != '\t' {
                let mut utf8 = [0; 4];
                let encoded = c.encode_utf8(&mut utf8).as_bytes();
                for (j, &b) in encoded.iter().enumerate() {
                    let next = bytes.get(at + i + j + 1).copied();
                    escape_byte(&mut out, b, next);
                }
            } else {
                out.push(c);
            }
        }
        at += chunk.valid().len();
        for (j, &b) in chunk.invalid().iter().enumerate() {
            escape_byte(&mut out, b, bytes.get(at + j + 1).copied());
        }
        at += chunk.invalid().len();
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_escapes_control_characters_as_the_trace_does() {
        let hostile = b"\x1b]0;pwned\x07\x1b[2J";
        assert_eq!(peer_text(hostile, false), "\\33]0;pwned\\7\\33[2J");
        assert_eq!(peer_text(hostile, true), "\x1b]0;pwned\x07\x1b[2J");
        // strace's octal: three digits before an octal digit.
        assert_eq!(peer_text(b"\x1b1", false), "\\0331");
        assert_eq!(peer_text(b"a\rb", false), "a\\rb");
        // Newline and tab stay; UTF-8 text stays; C1 controls and bytes
        // that are not UTF-8 are escaped.
        assert_eq!(peer_text("é\tx\n".as_bytes(), false), "é\tx\n");
        assert_eq!(peer_text("\u{9b}".as_bytes(), false), "\\302\\233");
        assert_eq!(peer_text(b"\xffA", false), "\\377A");
    }

    #[test]
    fn pattern_and_buffer() {
        assert_eq!(
            pattern(28, "--size").unwrap(),
            b"abcdefghijklmnopqrstuvwxyzab"
        );
        assert_eq!(buffer(3, "--bufsize").unwrap(), [0, 0, 0]);
        assert!(buffer(0, "--bufsize").unwrap().is_empty());
        let e = buffer(usize::MAX, "--size").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot allocate 18446744073709551615 bytes for --size")
        );
    }
}
