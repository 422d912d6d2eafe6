//! What a program prints: its stdout lines (`listening on ADDR`, the
//! peers' lines, bytes shown as the trace shows them), the comment lines
//! it adds to the trace stream, and the error report on stderr. Built on the strace layer's [`Tracer`], so that
//! a program's lines and its trace lines keep their order in a shared
//! transcript (`socklab demo`, the labs, `--wire` timelines).
//!
//! A program gets an [`Output`] beside its [`crate::sys::Sys`]: `Sys` makes
//! the calls, `Output` prints.

use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use nix::errno::Errno;

use crate::strace::{self, Tracer, errno_text, quote};
use crate::values::addr::Addr;
use crate::values::error::Error;

/// A program's printer: its tracer, plus what happens when its server
/// is listening.
#[derive(Clone)]
pub struct Output {
    tracer: Tracer,
    /// `socklab demo` learns its server's address here.
    on_listening: Option<SyncSender<Addr>>,
    /// A line printed right after `listening on ADDR` (a UNIX server's
    /// socket file mode), so that the listening line stays the first.
    after_listening: Option<Arc<str>>,
    /// `--raw`: addresses as they are also on a terminal.
    raw: bool,
}

impl Output {
    /// Print through `tracer` (the same tracer the program's `Sys` has).
    pub fn new(tracer: Tracer) -> Output {
        Output {
            tracer,
            on_listening: None,
            after_listening: None,
            raw: false,
        }
    }

    /// The same output, printing UNIX names as they are also on a
    /// terminal (a client's `--raw`).
    pub fn with_raw(&self, raw: bool) -> Output {
        Output {
            raw: self.raw || raw,
            ..self.clone()
        }
    }

    /// The same output, printing `line` after its `listening on` line.
    pub fn with_after_listening(&self, line: String) -> Output {
        Output {
            after_listening: Some(line.into()),
            ..self.clone()
        }
    }

    /// `socklab demo` learns a server's address this way instead of reading
    /// its `listening on` line.
    pub fn notify_listening(mut self, tx: SyncSender<Addr>) -> Output {
        self.on_listening = Some(tx);
        self
    }

    /// One line of program output on stdout.
    pub fn say(&self, text: &str) {
        self.tracer.say(text);
    }

    /// A peer's bytes, as [`peer_text`] says: raw, as they came (bytes
    /// that are not UTF-8 too); else escaped.
    pub fn say_peer(&self, bytes: &[u8], raw: bool) {
        if raw {
            self.tracer.say_bytes(bytes);
        } else {
            self.say(&peer_text(bytes, false));
        }
    }

    /// `before ADDR after`: [`Output::say_addrs`] with one address.
    pub fn say_addr(&self, before: &str, addr: &Addr, after: &str) {
        self.say_addrs(&[(before, addr)], after);
    }

    /// A line of text and addresses (`fd 3: local A, peer B`). A UNIX
    /// name with bytes that are not UTF-8 or control characters is written
    /// as it is (as the C twins print it) when stdout is not a terminal or
    /// with `--raw`, the rule for a peer's bytes ([`peer_text`]); on a
    /// terminal escaped, as `Addr`'s Display writes it.
    pub fn say_addrs(&self, parts: &[(&str, &Addr)], tail: &str) {
        let unprintable = parts.iter().any(|(_, a)| a.has_unprintable_name());
        if unprintable && (self.raw || !stdout_is_terminal()) {
            let mut line = Vec::new();
            for (text, addr) in parts {
                line.extend_from_slice(text.as_bytes());
                line.extend_from_slice(&addr.shown_bytes());
            }
            line.extend_from_slice(tail.as_bytes());
            self.tracer.say_bytes(&line);
            return;
        }
        let mut line = String::new();
        for (text, addr) in parts {
            line.push_str(text);
            line.push_str(&addr.to_string());
        }
        line.push_str(tail);
        self.say(&line);
    }

    /// A line about `what` (e.g. "wire"): `what: text` on its own, and just
    /// `text` in a shared transcript whose side tag already names it.
    pub fn say_about(&self, what: &str, text: &str) {
        match self.tracer.side() {
            Some(side) if side == what => self.say(text),
            _ => self.say(&format!("{what}: {text}")),
        }
    }

    /// Whether the calls are traced (`--trace`).
    pub fn tracing(&self) -> bool {
        self.tracer.enabled()
    }

    /// A comment line in the trace stream (stderr when tracing), or on
    /// stdout when not tracing.
    pub fn note(&self, text: &str) {
        if self.tracer.enabled() {
            self.tracer.note(text);
        } else {
            self.say(text);
        }
    }

    /// A comment line in the trace stream (stderr, or `--trace-file`), only
    /// when tracing: what a traced call did, said in words. Never on stdout,
    /// whose first line of a server is `listening on ADDR`.
    pub fn note_traced(&self, text: &str) {
        self.tracer.note(text);
    }

    /// Print the contract line `listening on ADDR` (tests and scripts read
    /// it), then the line set by [`Output::with_after_listening`]. Also
    /// tells the tracer the server's port, so that a `--wire` capture of a
    /// server on port 0 shows its packets.
    pub fn listening(&self, addr: &Addr) {
        self.tracer.watch_port(addr.port());
        self.say_addr("listening on ", addr, "");
        if let Some(line) = &self.after_listening {
            self.say(line);
        }
        if let Some(tx) = &self.on_listening {
            let _ = tx.send(*addr);
        }
    }
}

/// Whether stdout is a terminal, asked once (`ioctl(1, TCGETS)`, as
/// isatty does) and only when a line has an address to escape or not.
fn stdout_is_terminal() -> bool {
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stdout()))
}

/// One line on stdout; a closed stdout (`socklab demo | head -1`) is not an
/// error and never a panic, as println! would make it; another failure is
/// reported once and makes the exit code 1 (`strace::Stream`).
pub fn print_line(text: &str) {
    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
        strace::write_failed("stdout", &e);
    }
}

/// What to say of a datagram read as `n` bytes (`real`: recvfrom's
/// result, with MSG_TRUNC, `trunc`, its length) into `cap` bytes: that it
/// is empty, or with --bufsize 0 and no MSG_TRUNC that its length is not
/// known, or nothing (a truncated one is said by programs::dgram's say_truncated).
pub fn zero_bytes(n: usize, real: usize, cap: usize, trunc: bool) -> Option<&'static str> {
    match (n, real) {
        (0, 0) if cap == 0 && !trunc => Some(
            "--bufsize 0 reads 0 bytes of any datagram, whatever its length: --recv-flags MSG_TRUNC tells it",
        ),
        (0, 0) => Some("an empty datagram"),
        _ => None,
    }
}

/// [`zero_bytes`] as the end of a `datagram from` line: ` (...)` or "".
pub fn zero_bytes_suffix(n: usize, real: usize, cap: usize, trunc: bool) -> String {
    zero_bytes(n, real, cap, trunc).map_or(String::new(), |t| format!(" ({t})"))
}

/// What a program says after a recv of `--bufsize 0` returned 0 (the
/// kernel's answer to a zero-length read, peer closed or not); it then
/// closes the connection. `who`: the peer, or `server` for a client.
pub fn zero_length_recv(who: &str) -> String {
    format!(
        "{who}: recv with --bufsize 0 returned 0, as a zero-length recv always does (not an end of file); closing the connection"
    )
}

/// Print an error as DESIGN.md §3 says: `socklab: <call> = -1 ENAME (text)`
/// and, on the next line, the hint.
pub fn report(e: &Error) {
    // One write: a forked server's children share this stderr.
    let text = match e.hint() {
        Some(hint) => format!("socklab: {e}\n  hint: {hint}"),
        None => format!("socklab: {e}"),
    };
    strace::write_line(&mut std::io::stderr().lock(), &text);
}

/// The peer's bytes as a client prints them: as they came with `raw`
/// (`--raw`, or stdout is not a terminal, as the C twins print); on a
/// terminal, control characters escaped as the trace escapes them (`\33`,
/// `\7`, `\r`; newline and tab kept) and bytes that are not UTF-8 in
/// octal, so a server cannot send escape sequences to the user's terminal.
pub fn peer_text(bytes: &[u8], raw: bool) -> String {
    if raw {
        // Only where a String is needed; the client's lines go through
        // [`Output::say_peer`], which writes the bytes themselves.
        return String::from_utf8_lossy(bytes).into_owned();
    }
    strace::terminal_safe(bytes, true)
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
}
