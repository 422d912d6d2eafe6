//! What a lab gets: one traced `Sys` (and `Output`) per side on the
//! lab's timeline, notes.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::now;
use super::timeline::{JsonLines, Out};
use crate::inspect::tcp_state_name;
use crate::strace::{Format, Tracer, json_str};
use crate::sys::{Socket, Sys};

/// What a lab gets: one traced `Sys` per side, notes on the timeline.
/// (A clone shares all of it.)
#[derive(Clone)]
pub struct Ctx {
    name: &'static str,
    pub(super) json: bool,
    pub(super) out: Out,
    pub(super) tracer: Tracer,
    pub(super) quiet: Sys,
    /// The kinds of socklab's own calls already named on this timeline
    /// (one note per kind, where it first happens: [`Ctx::note_once`]).
    noted: Arc<Mutex<Vec<&'static str>>>,
}

impl Ctx {
    pub(crate) fn new(name: &'static str, json: bool, out: Out) -> Ctx {
        let (format, sink): (Format, Box<dyn Write + Send>) = if json {
            (Format::Json, Box::new(JsonLines::new(name, out.clone())))
        } else {
            (Format::Text, Box::new(out.clone()))
        };
        let tracer = Tracer::shared(format, sink);
        Ctx {
            name,
            json,
            out,
            tracer,
            quiet: Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink()))),
            noted: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The syscall layer of one side: every call it makes is a timeline line.
    pub fn sys(&self, side: &'static str) -> Sys {
        Sys::new(self.tracer.with_side(side))
    }

    /// The program output of one side, on the same timeline.
    pub fn output(&self, side: &'static str) -> crate::output::Output {
        crate::output::Output::new(self.tracer.with_side(side))
    }

    /// An untraced layer for what the lab only looks at (TCP_INFO) or for
    /// long loops the lab summarises in a note instead; named in a note
    /// the first time (issue 15: a call strace -f sees is a line or named).
    pub fn quiet(&self) -> &Sys {
        self.note_once("lab", super::own::QUIET);
        &self.quiet
    }

    /// A `# text` line for a kind of socklab's own calls (`own.rs`), the
    /// first time that kind happens in this lab; later ones are silent.
    pub fn note_once(&self, side: &str, text: &'static str) {
        {
            let mut noted = crate::strace::lock(&self.noted);
            if noted.iter().any(|n| std::ptr::eq(*n, text)) {
                return;
            }
            noted.push(text);
        }
        self.note(side, text);
    }

    /// A `# text` line on the timeline, on behalf of `side`.
    pub fn note(&self, side: &str, text: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"note\",\"side\":{},\"text\":{}}}",
                now(),
                json_str(self.name),
                json_str(side),
                json_str(text)
            ));
        } else {
            self.line(&format!("{side:>6} | # {text}"));
        }
    }

    /// A heading inside the timeline (`-- with Nagle off --`).
    pub fn part(&self, title: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"part\",\"title\":{}}}",
                now(),
                json_str(self.name),
                json_str(title)
            ));
        } else {
            self.line(&format!("-- {title} --"));
        }
    }

    /// A line among the syscall lines: through the `--wire` timeline when
    /// there is one (it prints in time order), else straight out.
    pub(super) fn line(&self, text: &str) {
        match self.tracer.timeline() {
            Some(t) => t.note(SystemTime::now(), text.to_string()),
            None => self.out.line(text),
        }
    }

    /// The TCP state of `s` as the kernel reports it (getsockopt TCP_INFO,
    /// untraced), noted on the timeline.
    pub fn show_state(&self, side: &str, s: Socket) -> String {
        let state = self.state(s);
        self.note(side, &format!("fd {s} is {state} (TCP_INFO)"));
        state
    }

    pub fn state(&self, s: Socket) -> String {
        self.quiet()
            .tcp_info(s)
            .map_or("?".into(), |i| tcp_state_name(i.tcpi_state).to_string())
    }
}
