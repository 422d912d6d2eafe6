//! A lab that is a script (`src/lab/scripts/NAME.script`): its calls run
//! through the script runner (`crate::script`) on the lab's timeline, each
//! actor tag a side (`server | ...`); the lab reads what every line did
//! ([`Ran`]) and computes its verdict from that.

use std::time::Duration;

use nix::errno::Errno;

use super::ctx::Ctx;
use crate::strace::Format;
use crate::values::error::{Error, Result};

/// What one script line did.
pub struct Step {
    /// 1-based line number in the script.
    pub line: usize,
    pub actor: String,
    /// The call as strace names it (`accept(s)` is `accept`, `send` is `sendto`).
    pub call: &'static str,
    pub ret: std::result::Result<i64, Errno>,
    /// The bytes it received, if any.
    pub out: Vec<u8>,
    /// Its strace line, as the timeline printed it.
    pub text: String,
    /// From entry to return.
    pub took: Duration,
}

/// What a script run did: every line that ran, in file order; whether
/// every expectation written in it held; and if not, the runner's message.
pub struct Ran {
    pub steps: Vec<Step>,
    /// How each process actor (`NAME = fork()`) ended.
    pub ends: Vec<(String, crate::sys::untraced::Ended)>,
    pub held: bool,
    pub failure: Option<String>,
}

impl Step {
    /// Its result in one word: the value, or the errno's name.
    pub fn result(&self) -> String {
        match self.ret {
            Ok(v) => v.to_string(),
            Err(e) => format!("{e:?}"),
        }
    }

    pub fn is(&self, errno: Errno) -> bool {
        self.ret == Err(errno)
    }

    pub fn returned(&self, v: i64) -> bool {
        self.ret == Ok(v)
    }

    /// The first port its line shows (`sin_port=htons(N)`).
    pub fn port(&self) -> Option<u16> {
        self.int_after("htons(").and_then(|p| u16::try_from(p).ok())
    }

    /// The first `[N]` its line shows as an argument (an int written
    /// back: FIONREAD, SO_ERROR).
    pub fn int_out(&self) -> Option<i64> {
        self.int_after(", [")
    }

    /// The number right after the first `marker` in its line
    /// (`cmsg_data=[`: the fd SCM_RIGHTS passed).
    pub fn int_after(&self, marker: &str) -> Option<i64> {
        let (_, rest) = self.text.split_once(marker)?;
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(rest.len());
        rest.get(..end)?.parse().ok()
    }

    pub fn ms(&self) -> f64 {
        self.took.as_secs_f64() * 1000.0
    }
}

impl Ran {
    /// The lines of `actor` (any actor: "") making `call`, in file order.
    pub fn calls(&self, actor: &str, call: &str) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| s.call == call && (actor.is_empty() || s.actor == actor))
            .collect()
    }

    /// How the process actor `actor` ended (None: it did not, or is none).
    pub fn ended(&self, actor: &str) -> Option<crate::sys::untraced::Ended> {
        self.ends.iter().find(|(a, _)| a == actor).map(|(_, e)| *e)
    }

    /// Their results in one word each, joined by ", ".
    pub fn results(&self, actor: &str, call: &str) -> String {
        self.calls(actor, call)
            .iter()
            .map(|s| s.result())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A lab's verdict: what it checked in the steps, and every
    /// expectation written in the script held.
    pub fn pass(&self, checked: bool) -> bool {
        checked && self.held
    }

    /// `observed` when the script ran to its end with every expectation
    /// held; else the runner's message after it (a lab's verdict says
    /// both: what it saw, and where the script stopped).
    pub fn observed(&self, observed: String) -> String {
        match &self.failure {
            Some(f) => format!("{observed}; the script stopped: {f}"),
            None => observed,
        }
    }
}

/// Run `text` (a lab's script, named `name` in messages) on the lab's
/// timeline: each actor a side, its calls printed as `actor | strace
/// line` (a script with no actor tag prints plain lines). A script that
/// does not parse or check is a runtime failure of the lab (the lab's
/// unit test parses every script, so it is a bug).
pub fn run_script(ctx: &Ctx, name: &str, text: &str) -> Result<Ran> {
    let opts = crate::script::Options {
        trace: if ctx.json { Format::Json } else { Format::Text },
        file_name: format!("src/lab/scripts/{name}.script"),
        ..crate::script::Options::default()
    };
    ctx.note_once("lab", super::own::RUNNER);
    let outcome = crate::script::run_with(text, &opts, &ctx.tracer)
        .map_err(|e| Error::Runtime(format!("the lab's script: {e}")))?;
    if let Some(f) = &outcome.failure {
        for line in f.lines() {
            ctx.note("lab", line);
        }
    }
    let mut steps: Vec<Step> = outcome
        .lines
        .into_iter()
        .map(|d| Step {
            line: d.line_no,
            actor: d.actor,
            call: d.call,
            ret: d.ret,
            out: d.out,
            text: d.text,
            took: d.took,
        })
        .collect();
    // The runner lists calls as they returned; a lab reads them in file
    // order (the end's clean-up closes last).
    steps.sort_by_key(|s| s.line);
    Ok(Ran {
        ends: outcome.ends.clone(),
        held: outcome.pass,
        failure: outcome
            .failure
            .as_deref()
            .and_then(|f| f.lines().next())
            .map(str::to_string),
        steps,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::Step;
    use nix::errno::Errno;
    use std::time::Duration;

    fn step(call: &'static str, ret: Result<i64, Errno>, text: &str) -> Step {
        Step {
            line: 1,
            actor: "main".into(),
            call,
            ret,
            out: Vec::new(),
            text: text.into(),
            took: Duration::from_micros(1500),
        }
    }

    #[test]
    fn a_step_reads_its_port_int_and_result() {
        let s = step(
            "getsockname",
            Ok(0),
            r#"getsockname(3, {sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr("0.0.0.0")}, [128 => 16]) = 0"#,
        );
        assert_eq!(s.port(), Some(40001));
        assert_eq!(s.result(), "0");
        let s = step("ioctl", Ok(0), "ioctl(4, FIONREAD, [5]) = 0");
        assert_eq!(s.int_out(), Some(5));
        assert_eq!(s.port(), None);
        let s = step(
            "connect",
            Err(Errno::EALREADY),
            "connect(5, {...}, 16) = -1 EALREADY (Operation already in progress)",
        );
        assert_eq!(s.result(), "EALREADY");
        assert!(s.is(Errno::EALREADY) && !s.returned(0));
        assert!((s.ms() - 1.5).abs() < 1e-9);
        let s = step(
            "recvmsg",
            Ok(2),
            "recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"fd\", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=24, msg_flags=0}, 0) = 2",
        );
        assert_eq!(s.int_after("cmsg_data=["), Some(7));
        assert_eq!(s.int_out(), None);
    }

    /// Every lab script parses (the runner checks it again before a call).
    #[test]
    fn every_lab_script_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lab/scripts");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            match crate::script::parse::parse(&text) {
                Ok(script) => assert!(!script.lines.is_empty(), "{}", path.display()),
                Err(errors) => panic!("{}: {errors:?}", path.display()),
            }
            n += 1;
        }
        assert!(n >= 10, "{n} scripts in {}", dir.display());
    }
}
