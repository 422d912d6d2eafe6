//! `net | set SPEC`: a script line that changes the lab network's link
//! at that point of the timeline (issue 16 + 14), as `socklab net set
//! SPEC` does: `blackhole`, `down`, `up`, `delay=50ms`, ... It is not a
//! call (no parentheses, the tag `net` names no actor): the runner asks
//! the forwarder of the network `--net N` names (default `socklab`) over
//! its control socket, `/run/socklab/N/ctl`, with socklab's own calls
//! (socket, connect, getsockopt SO_PEERCRED, write, shutdown, poll, read,
//! close), which are not the script's: a note line after it names them.
//! A lab that changes its link mid-run prints the same line, so its
//! record replays.

use std::time::Instant;

use super::ast::ParseError;
use super::run::Runner;
use crate::net::{Names, control, spec::Link};
use crate::strace::Tracer;
use crate::values::error::{Error, Result};

/// The tag of the line: not an actor's name.
pub const TAG: &str = "net";

/// The note (after `# `) printed after a `net | set SPEC` line.
pub fn note(net: &str) -> String {
    format!(
        "asked the link's forwarder at /run/socklab/{net}/ctl (socklab's own socket, connect, getsockopt SO_PEERCRED, write, shutdown, poll, read, close: not shown)"
    )
}

/// A `net | ...` line: Some(Ok(SPEC)) for `net | set SPEC`, Some(Err)
/// for any other `net | ` line that is not a `#` note; None for a line
/// of another tag.
pub fn directive(no: usize, text: &str) -> Option<std::result::Result<String, ParseError>> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    let rest = text.trim_start().strip_prefix(TAG)?;
    let bar = rest.trim_start().strip_prefix('|')?;
    let body_at = text.len() - bar.trim_start().len();
    let body = bar.split('#').next().unwrap_or("").trim();
    if body.is_empty() {
        return None;
    }
    let error = |col: usize, msg: String| ParseError {
        line: no,
        col: col + 1,
        msg,
    };
    let Some(spec) = body.strip_prefix("set ").map(str::trim) else {
        return Some(Err(error(
            body_at,
            format!(
                "a '{TAG} | ' line changes the lab network's link: '{TAG} | set SPEC' (blackhole, down, up, delay=50ms, ...); an actor cannot be named {TAG}"
            ),
        )));
    };
    let spec_at = body_at + body.find(spec).unwrap_or(0);
    if spec.contains(char::is_whitespace) {
        return Some(Err(error(
            spec_at,
            "one SPEC, comma-separated without spaces (as socklab net set SPEC)".into(),
        )));
    }
    Some(match Link::parse(spec) {
        Ok(_) => Ok(spec.to_string()),
        Err(e) => Err(error(spec_at, format!("bad link SPEC '{spec}': {e}"))),
    })
}

/// Every `net | set SPEC` of `text`: (line number, SPEC), and the errors.
pub fn directives(text: &str) -> (Vec<(usize, String)>, Vec<ParseError>) {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        match directive(i + 1, line) {
            Some(Ok(spec)) => found.push((i + 1, spec)),
            Some(Err(e)) => errors.push(e),
            None => {}
        }
    }
    (found, errors)
}

/// The network `net`'s control socket answers (before a script's first
/// call, when it has `net | set` lines).
pub fn check_up(net: &str) -> Result<()> {
    let names = Names::new(Some(net))?;
    if names.ctl_path().exists() {
        return Ok(());
    }
    Err(not_up(net, &names))
}

fn not_up(net: &str, names: &Names) -> Error {
    let up = match net {
        "socklab" => "socklab net up".to_string(),
        n => format!("socklab net up --name {n}"),
    };
    Error::Runtime(format!(
        "the script changes the link of the lab network '{net}', which is not up (nothing at {}); hint: bring it up first: {up} (a network of another name: script --net NAME)",
        names.ctl_path().display()
    ))
}

impl Runner {
    /// Before a `net | set` line that comes before step `next`: the
    /// calls under way that the script shows returned before it (written
    /// whole, or resumed before it) return first (within `--timeout`), so
    /// that the link changes where the timeline says: a recv written
    /// `= 5` before `net | set down` gets its bytes before the link goes.
    /// A call written `<unfinished ...>` and resumed after it may stay
    /// blocked across the change. In the shell (no line after it is
    /// known yet) the rule of any line: every call under way has returned
    /// (its result printed) or sleeps in it again, as after a line.
    pub(super) fn before_link(&mut self, next: usize) {
        if self.keep_going {
            self.settle();
            return;
        }
        let deadline = Instant::now() + self.timeout;
        while self.under.keys().any(|j| {
            self.steps
                .get(*j)
                .is_some_and(|s| s.whole || s.resumed_at.is_some_and(|r| r <= next))
        }) {
            if !self.wait_any(deadline) {
                return;
            }
        }
    }
}

/// Line `no`'s `net | set SPEC`: printed on the timeline (tagged `net`,
/// with the note naming socklab's own calls), then asked of the
/// forwarder of network `net`.
pub fn set(tracer: &Tracer, net: &str, no: usize, spec: &str) -> Result<()> {
    let t = tracer.with_side(TAG);
    t.note(&format!("set {spec}"));
    t.note(&format!("# {}", note(net)));
    let names = Names::new(Some(net))?;
    match control::request(&names, &format!("set {spec}")) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(not_up(net, &names)),
        Err(e) => Err(Error::Runtime(format!(
            "line {no}: the link refused 'set {spec}': {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{directive, directives};

    #[test]
    fn net_set_lines_are_read_and_others_are_left() {
        assert_eq!(
            directive(1, "   net | set blackhole"),
            Some(Ok("blackhole".into()))
        );
        assert_eq!(
            directive(1, "net | set a>b:loss=5%,delay=10ms # lossy\r"),
            Some(Ok("a>b:loss=5%,delay=10ms".into()))
        );
        // Notes, other actors, calls: not link lines.
        assert_eq!(directive(1, "   net | # asked the forwarder"), None);
        assert_eq!(directive(1, "network | set x"), None);
        assert_eq!(
            directive(1, "client | sendto(3, \"net | set\", 9, 0, NULL, 0)"),
            None
        );
        let e = directive(4, "net | setx").and_then(Result::err);
        assert_eq!(e.map(|e| (e.line, e.col)), Some((4, 7)));
        let e = directive(2, "net | set nope=1").and_then(Result::err);
        assert_eq!(e.map(|e| (e.line, e.col)), Some((2, 11)));
        let (found, errors) = directives("a\nnet | set down\nnet | set up\n");
        assert_eq!(found, [(2, "down".to_string()), (3, "up".to_string())]);
        assert!(errors.is_empty());
    }
}
