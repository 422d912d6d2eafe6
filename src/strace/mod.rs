//! Trace output in strace's own syntax (DESIGN.md §2), and the JSON Lines form.
//!
//! `sys` renders each call's arguments from its row of the call table
//! (`args.rs`: one [`ArgVal`] per argument, joined by [`render`]) with the
//! text forms re-exported here (`values::quoting`, `values::sockaddr`:
//! strace 6.x's string escaping and 32-byte cut, `print_sockaddr`,
//! `[in => out]` lengths), then hands one
//! [`Event`] (its row of the call table, its text, its typed address) to
//! the [`Tracer`] here, which writes it as strace's line (or JSON:
//! `json.rs`) to its sinks (`sink.rs`) or to the `--wire` timeline
//! (`timeline.rs`: the trait it is seen through).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

mod args;
mod event;
pub mod host;
mod json;
pub mod open_line;
mod open_tracer;
mod record;
mod sink;
mod split;
pub mod stamp;
pub mod tasks;
mod timeline;

pub use args::{ArgVal, entry_len, render, render_named, resumed_args, top_level_commas};
pub use event::Event;
pub use json::json_line;
pub use json::json_str;
pub use record::{COMMENT as RECORD_COMMENT, Recorder};
pub use sink::{Stream, output_failed, write_failed, write_line};
use split::{Returned, Split};
pub use split::{resumed_line, resumed_text, unfinished_text};
use stamp::Stamps;
pub use timeline::{Entered, ForkHeld, Timeline};
// The text forms of values, for the layers above that render calls.
pub use crate::values::error::errno_text;
pub use crate::values::quoting::{
    STRACE_MAX_STRLEN, escape_byte, len_in_out, octal_mode, quote, terminal_safe,
};
pub use crate::values::sockaddr::{sockaddr, unix_path_bytes};

/// Where program output and trace lines go, shared by every clone of a [`Tracer`].
type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Off,
    Text,
    Json,
}

/// Trace and program output, tagged with the side (`server`, `client`) when
/// several programs share one process (`socklab demo`).
#[derive(Clone)]
pub struct Tracer {
    format: Format,
    trace: Sink,
    out: Sink,
    side: Option<&'static str>,
    /// `socklab demo`: several sides in one process, lines in causal order.
    ordered: bool,
    /// `--wire`: where the syscall lines go.
    timeline: Option<Arc<dyn Timeline>>,
    /// A shared text transcript: calls that block while another side
    /// prints are split (`split.rs`).
    split: Option<Arc<Mutex<Split>>>,
    /// `--trace-time`: strace's -t/-tt/-ttt/-r/-T (`stamp.rs`).
    stamps: Option<Arc<Stamps>>,
    /// A timeline's tasks that made calls (`[pid N]` after the tag:
    /// [`tasks::Seen`]), shared by its sides.
    seen: Option<Arc<tasks::Seen>>,
    /// The task whose calls this side prints, when the thread printing
    /// them is not it (a script's runner); None: the calling thread.
    task: Option<i32>,
    /// A tag only a `--record` file shows ([`Tracer::record_tagged`]).
    record_tag: Option<&'static str>,
}

/// The sink held across one syscall in ordered mode.
pub type Held<'a> = std::sync::MutexGuard<'a, Box<dyn Write + Send>>;

impl Tracer {
    pub fn new(format: Format, trace: Box<dyn Write + Send>) -> Tracer {
        Tracer {
            format,
            trace: Arc::new(Mutex::new(trace)),
            out: Arc::new(Mutex::new(Box::new(Stream::stdout()))),
            side: None,
            ordered: false,
            timeline: None,
            split: None,
            stamps: stamp::stamps(),
            seen: None,
            task: None,
            record_tag: None,
        }
    }

    /// Trace and output both go to `sink`, each line prefixed with its side,
    /// in causal order: a call that wakes the other side (sendto, connect,
    /// close) holds the sink until its line is written, so the woken call's
    /// line comes after it. For small exchanges only: a sendto that blocks
    /// on a full buffer would hold the sink while the reader waits for it.
    /// A call that waits for the peer (accept4, recvfrom) is split as
    /// strace -f splits it when another side prints while it runs
    /// (`split.rs`); in text only.
    pub fn shared(format: Format, sink: Box<dyn Write + Send>) -> Tracer {
        let sink: Sink = Arc::new(Mutex::new(sink));
        Tracer {
            format,
            trace: sink.clone(),
            out: sink,
            side: None,
            ordered: true,
            timeline: None,
            split: (format == Format::Text).then(Arc::default),
            stamps: stamp::stamps(),
            seen: Some(Arc::default()),
            task: None,
            record_tag: None,
        }
    }

    /// In ordered mode, the sink to hold across a call that does not wait
    /// for the peer (see [`Tracer::shared`]).
    pub fn hold(&self, waits_for_peer: bool) -> Option<Held<'_>> {
        (self.ordered && self.enabled() && !waits_for_peer).then(|| lock(&self.trace))
    }

    pub fn with_side(&self, side: &'static str) -> Tracer {
        Tracer {
            side: Some(side),
            ..self.clone()
        }
    }

    /// The same tracer, its `--wire` timeline's lines tagged `TAG | `
    /// in the `--record` file only (`record::tagged`); the trace shows
    /// them as strace does. A program's capture under `--wire --record`:
    /// its replay skips them, as a lab's `wire |` lines.
    pub fn record_tagged(&self, tag: &'static str) -> Tracer {
        Tracer {
            record_tag: Some(tag),
            ..self.clone()
        }
    }

    /// The record-only tag's mark, first on each of this tracer's lines.
    pub fn record_mark(&self) -> String {
        self.record_tag.map_or_else(String::new, record::mark)
    }

    pub fn enabled(&self) -> bool {
        self.format != Format::Off
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// The trace sink, for the `--wire` timeline to print into.
    pub fn sink(&self) -> Arc<Mutex<Box<dyn Write + Send>>> {
        self.trace.clone()
    }

    /// The program's stdout when it is not the trace's stream (a
    /// program's `--wire` timeline prints its lines there, in order).
    pub fn own_stdout(&self) -> Option<Sink> {
        (!self.one_stream()).then(|| self.out.clone())
    }

    /// `--wire`: the timeline, if any (labs route their notes through it).
    pub fn timeline(&self) -> Option<Arc<dyn Timeline>> {
        self.timeline.clone()
    }

    /// `--wire`: send the syscall lines through `timeline`.
    pub fn with_timeline(mut self, timeline: Arc<dyn Timeline>) -> Tracer {
        self.timeline = Some(timeline);
        self
    }

    /// `--wire`: a call starts (`sys` holds the guard until its line is out).
    pub fn enter(&self) -> Option<Entered> {
        self.timeline.as_ref().map(|t| Entered {
            token: t.enter(),
            timeline: t.clone(),
        })
    }

    /// `--wire`: packets to or from this port are the program's.
    pub fn watch_port(&self, port: Option<u16>) {
        if let (Some(t), Some(port)) = (&self.timeline, port) {
            t.watch_port(port);
        }
    }

    /// Write one event, through `held` if the caller holds the sink.
    pub fn emit(&self, ev: &Event, held: Option<&mut Held>) {
        if let Some(t) = &self.timeline {
            let (prefix, line) = match (self.format, self.side()) {
                (Format::Off, _) => return,
                (Format::Json, side) => (String::new(), json_line(ev, side)),
                (Format::Text, Some(side)) => (
                    format!("{side:>6} | {}", self.task_prefix()),
                    ev.strace_line(),
                ),
                // strace -f's `[pid N] ` (`tasks.rs`), then the stamp.
                (Format::Text, None) => (
                    format!("{}{}", self.record_mark(), tasks::prefix()),
                    ev.strace_line(),
                ),
            };
            t.call(
                ev.start,
                ev.start + ev.duration,
                prefix,
                ev.call,
                line,
                ev.addr.copied(),
            );
            return;
        }
        if self.format == Format::Off {
            return;
        }
        if self.format == Format::Text && held.is_none() && self.open_emit(ev, &self.took(ev)) {
            return;
        }
        let mut guard = None;
        let w: &mut dyn Write = match held {
            Some(w) => &mut ***w,
            None => &mut ***guard.insert(lock(&self.trace)),
        };
        if self.format == Format::Json {
            write_line(w, &json_line(ev, self.side()));
            return;
        }
        let took = self.took(ev);
        self.count_task();
        let (before, how) = match &self.split {
            Some(split) => lock(split).returned(),
            None => (None, Returned::Unentered),
        };
        if let Some(line) = before {
            write_line(w, &line);
        }
        let line = match how {
            Returned::Whole(head) => {
                format!("{}{}{took}", head.with(tasks::Seen::call), ev.strace_line())
            }
            Returned::Resumed => format!(
                "{}{}{took}",
                self.head_parts(ev.start + ev.duration)
                    .with(tasks::Seen::resumed),
                resumed_text(ev)
            ),
            Returned::Unentered => format!("{}{}{took}", self.head(ev.start), ev.strace_line()),
        };
        write_line(w, &line);
    }

    /// A comment line among the trace lines (`--show-state`).
    pub fn note(&self, text: &str) {
        let line = match (self.format, self.side()) {
            (Format::Off, _) => return,
            (Format::Json, side) => format!(
                "{{\"note\":{},\"side\":{}}}",
                json_str(text),
                side.map_or("null".to_string(), json_str)
            ),
            (Format::Text, Some(side)) => format!("{side:>6} | {text}"),
            (Format::Text, None) => format!("{}{text}", self.record_mark()),
        };
        // `--wire`: among the call lines, in time order (JSON's too,
        // whose notes would otherwise come before the calls they follow).
        if let Some(t) = &self.timeline {
            t.note(SystemTime::now(), line);
            return;
        }
        if self.open_write(&line) {
            return;
        }
        let mut w = lock(&self.trace);
        self.interrupt(&mut w);
        write_to(&mut w, &line);
    }

    /// strace's line for a delivered signal (`--- SIGCHLD {...} ---`),
    /// with the task's `[pid N] ` as a call's line has it (on a
    /// timeline: after the side's tag, `Tracer::task_note`).
    pub fn signal(&self, text: &str) {
        match (self.format, self.side()) {
            (Format::Text, None) => {
                if let Some(t) = &self.timeline {
                    // `--wire`: stamped as the timeline prints it, as strace
                    // stamps these lines (a `# ` note is not stamped).
                    match text.starts_with("# ") {
                        true => self.note(&format!("{}{text}", tasks::prefix())),
                        false => {
                            let prefix = format!("{}{}", self.record_mark(), tasks::prefix());
                            t.signal(SystemTime::now(), prefix, text.to_string());
                        }
                    }
                    return;
                }
                // strace stamps a signal's line (and `+++ killed by`) as
                // a call's: `[pid N] 10:11:12 --- SIGTERM {...} ---`.
                // A note (`# ...`) is no strace line: not stamped, and
                // `-r` does not count from it.
                let head = match text.starts_with("# ") {
                    true => tasks::prefix(),
                    false => self.head(SystemTime::now()),
                };
                // A program's end in a record: a `# ` comment there.
                let mark = match self.record_tag == Some(record::COMMENT) {
                    true => self.record_mark(),
                    false => String::new(),
                };
                let line = format!("{mark}{head}{text}");
                if !self.open_write(&line) {
                    write_to(&mut lock(&self.trace), &line);
                }
            }
            _ => self.task_note(text),
        }
    }

    /// The side tag of a shared transcript (`client`, `wire`), if any;
    /// `client@b` on a thread that is on a host of the lab network (`host.rs`).
    pub fn side(&self) -> Option<&'static str> {
        self.side.map(host::tagged)
    }

    /// One line of program output (`listening on ...`), flushed at once:
    /// scripts and tests read it while the program runs.
    pub fn say(&self, text: &str) {
        let line = match self.side() {
            Some(side) => format!("{side:>6} > {text}"),
            None => text.to_string(),
        };
        if self.said_in_timeline(line.as_bytes()) {
            return;
        }
        let mut w = lock(&self.out);
        self.interrupt(&mut w);
        write_to(&mut w, &line);
    }

    /// `--wire`: a line of program output goes into the timeline, after
    /// the call that made it, in time order: on a shared transcript (a
    /// lab) as a note; else (a traced program) to stdout at its place,
    /// while stdout stays the program's own. False: print it now.
    fn said_in_timeline(&self, line: &[u8]) -> bool {
        let Some(t) = &self.timeline else {
            return false;
        };
        match std::str::from_utf8(line) {
            Ok(text) if self.one_stream() => t.note(SystemTime::now(), text.to_string()),
            _ if self.enabled() && !self.one_stream() => t.say(SystemTime::now(), line.to_vec()),
            _ => return false,
        }
        true
    }

    /// Program output and trace lines go to one stream (demo, a lab).
    fn one_stream(&self) -> bool {
        Arc::ptr_eq(&self.out, &self.trace)
    }

    /// A line of bytes as they came (a peer's reply with `--raw`): not
    /// UTF-8 stays not UTF-8, as the C twins `fwrite` it.
    pub fn say_bytes(&self, bytes: &[u8]) {
        let mut line = match self.side() {
            Some(side) => format!("{side:>6} > ").into_bytes(),
            None => Vec::new(),
        };
        line.extend_from_slice(bytes);
        if self.said_in_timeline(&line) {
            return;
        }
        line.push(b'\n');
        let mut w = lock(&self.out);
        self.interrupt(&mut w);
        // Output errors (a closed pipe) must not turn into socket errors.
        let _ = w.write_all(&line);
        let _ = w.flush();
    }
}

/// A mutex's guard, poisoned or not: a poisoned lock only means another
/// thread panicked holding it (mid-line); the data is still usable. The
/// one such helper (the trace's sinks, the wire's timeline, a script's
/// actors, a model's pause).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_to(w: &mut Held, line: &str) {
    write_line(&mut **w, line);
}
