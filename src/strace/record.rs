//! `--record FILE`: a run's timeline written as a script (`socklab script
//! FILE` replays it). Call lines (`accept4(3, ...) = 4`, `server |
//! accept4(...)`, `<... accept4 resumed>...`) are written as they are;
//! every other line (a lab's header and verdict, a program's output
//! `server > text`) becomes a `# ` comment, so that the file holds only
//! calls and comments. A line a tracer marked with [`mark`] (a program's
//! `--wire` capture: `Tracer::record_tagged`) is written `TAG | line`
//! here, and without its mark to the trace, which stays strace's.

use std::io::Write;

/// Writes whole lines to the record file, as a script; and, if given,
/// every line unchanged to `also` (stdout for a lab, stderr or
/// `--trace-file` for a program run with `--trace`).
pub struct Recorder {
    file: Box<dyn Write + Send>,
    also: Option<Box<dyn Write + Send>>,
    pending: Vec<u8>,
}

impl Recorder {
    /// `header` is the first line of the file (a comment naming the command).
    pub fn new(
        mut file: Box<dyn Write + Send>,
        header: &str,
        also: Option<Box<dyn Write + Send>>,
    ) -> Recorder {
        super::write_line(&mut *file, &format!("# {header}"));
        Recorder {
            file,
            also,
            pending: Vec::new(),
        }
    }
}

/// What starts and ends a record-only tag at a line's start: a control
/// character, which no trace line holds raw (strings are escaped).
const MARK: char = '\u{1}';

/// The record-only tag that makes a line a `# ` comment in the record
/// (and leaves it as it is in the trace): a program's own end,
/// `exit_group(N) = ?`, which a replay does not make (`cli/end.rs`).
pub const COMMENT: &str = "#";

/// The mark of the record-only tag `tag`, to put first on a line.
pub fn mark(tag: &str) -> String {
    format!("{MARK}{tag}{MARK}")
}

/// A line's record-only tag, if marked, and the line without its mark.
fn marked(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let m = MARK as u8;
    match line.strip_prefix(&[m]) {
        Some(rest) => match rest.iter().position(|&b| b == m) {
            Some(end) => (Some(&rest[..end]), &rest[end + 1..]),
            None => (None, line),
        },
        None => (None, line),
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(also) = &mut self.also {
            // A mark is only ever first on a line (one write per line).
            match self.pending.is_empty() {
                true => also.write_all(marked(buf).1)?,
                false => also.write_all(buf)?,
            }
        }
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = match marked(&line[..end]) {
                (Some(tag), rest) if tag == COMMENT.as_bytes() => {
                    format!("# {}", String::from_utf8_lossy(rest))
                }
                (Some(tag), rest) => format!(
                    "{} | {}",
                    String::from_utf8_lossy(tag),
                    String::from_utf8_lossy(rest)
                ),
                (None, line) => String::from_utf8_lossy(line).into_owned(),
            };
            super::write_line(&mut *self.file, &as_script(&line));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(also) = &mut self.also {
            also.flush()?;
        }
        self.file.flush()
    }
}

/// The line as a script line: a call as it is, anything else commented.
pub fn as_script(line: &str) -> String {
    let body = match line.split_once(" | ") {
        // A lab network's link change (`script::link`): a script line.
        Some((tag, rest)) if tag.trim_start() == "net" && rest.starts_with("set ") => {
            return line.to_string();
        }
        Some((tag, rest)) if is_name(tag.trim_start()) => rest,
        _ => line,
    };
    let body = after_stamp(after_task(body));
    if line.trim().is_empty() || body.starts_with('#') || is_call(body) {
        line.to_string()
    } else {
        format!("# {line}")
    }
}

/// The line after its task's `[pid N] ` (a timeline's, `tasks::Seen`),
/// if any.
fn after_task(body: &str) -> &str {
    body.strip_prefix("[pid ")
        .and_then(|r| r.split_once("] "))
        .map_or(body, |(_, rest)| rest)
}

/// The line after its `--trace-time` stamp, if any (`stamp.rs`:
/// `10:11:12.123456 `, `1700000000.123456 `, `     0.000123 `, with
/// `(+     0.000123) ` after a clock).
fn after_stamp(body: &str) -> &str {
    let t = body.trim_start();
    let n = t
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(t.len());
    if n == 0 || !t[..n].contains(['.', ':']) || !t[n..].starts_with(' ') {
        return body;
    }
    let rest = &t[n + 1..];
    match rest.strip_prefix("(+").and_then(|r| r.split_once(") ")) {
        Some((_, r)) => r,
        None => rest,
    }
}

/// An actor's tag (`server`, `srv-2`, `client@b` on a lab network's
/// host) or a fork's child's name.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@'))
}

/// `name(` or strace's `<... name resumed>`, maybe after `NAME = `
/// (a script's fork line names its child: `srv = clone(...) = 7001`).
fn is_call(s: &str) -> bool {
    if s.starts_with("<... ") {
        return true;
    }
    let s = match s.split_once(" = ") {
        Some((name, call)) if is_name(name) => call,
        _ => s,
    };
    match s.split_once('(') {
        Some((name, _)) => {
            is_name(name) && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::as_script;

    #[test]
    fn calls_stay_and_the_rest_becomes_comments() {
        for call in [
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3",
            "server | listen(3, 5) = 0",
            "client@b | connect(5, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0",
            "client | recvfrom(5,  <unfinished ...>",
            "client | <... recvfrom resumed>\"HI\", 1024, 0, NULL, NULL) = 2",
            "   lab | # the accept queue holds 2",
            "   net | set blackhole",
            "server | 10:11:12.123456 accept4(3,  <unfinished ...>",
            "server | 1700000000.123456 (+     0.000123) close(3) = 0 <0.000004>",
            "client | [pid  4242] connect(5, {sa_family=AF_UNIX, sun_path=\"s\"}, 110) = 0",
            "server | [pid 42] 10:11:12 <... accept4 resumed>NULL, NULL, 0) = 4",
            "     0.000123 <... recvfrom resumed>\"HI\", 1024, 0, NULL, NULL) = 2",
            "",
        ] {
            assert_eq!(as_script(call), call);
        }
        for other in [
            "== lab phone-call: One connection, one message: does it come back?",
            "server > listening on 127.0.0.1:4000",
            "observed: the server heard \"x\"",
            "lab phone-call: observed x (expected y): PASS",
            "listening on 127.0.0.1:4000",
        ] {
            assert_eq!(as_script(other), format!("# {other}"));
        }
    }

    /// A shared buffer, for the record file and the trace.
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            crate::strace::lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8_lossy(&crate::strace::lock(&self.0)).into_owned()
        }
    }

    #[test]
    fn a_marked_line_is_tagged_in_the_record_only() {
        let (file, trace) = (Buf::default(), Buf::default());
        let mut r =
            super::Recorder::new(Box::new(file.clone()), "h", Some(Box::new(trace.clone())));
        let lines = [
            format!(
                "{}socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 3",
                super::mark("wire")
            ),
            format!("{}[pid 7] # wire: a note", super::mark("wire")),
            "[pid 7] listen(4, 5) = 0".to_string(),
        ];
        for l in &lines {
            super::super::write_line(&mut r, l);
        }
        assert_eq!(
            trace.text(),
            "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 3\n[pid 7] # wire: a note\n\
             [pid 7] listen(4, 5) = 0\n"
        );
        assert_eq!(
            file.text(),
            "# h\nwire | socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 3\n\
             wire | [pid 7] # wire: a note\n[pid 7] listen(4, 5) = 0\n"
        );
    }
}
