//! `socklab shell`'s line editing on a terminal (rustyline): arrow keys,
//! Ctrl-R, history for the session (in memory; in a file only with
//! `--history FILE`), Tab completing call names. The editor runs on its
//! own thread (Tab as bash: the common part, then the list) and reads one line each time the shell asks for one; what
//! the shell prints while a line is being typed (a blocked call's
//! `<... NAME resumed>`) goes through the editor's external printer,
//! which prints it above the prompt line and redraws what was typed.

use std::io::Write;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{History, MemHistory};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};

use super::actors::Msg;
use crate::values::calls;
use crate::values::error::{Error, Result};

/// The shell's prompt (on a terminal).
pub const PROMPT: &str = "socklab> ";

/// The shell's own words, completed with the calls.
const WORDS: [&str; 4] = ["help", "save", "quit", "exit"];

/// Tab completes the word under the cursor with the call names (and
/// the shell's words).
struct CallNames;

impl Completer for CallNames {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = line.get(..pos).unwrap_or(line);
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let word = before.get(start..).unwrap_or("");
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let mut found: Vec<String> = calls::scriptable()
            .map(|r| r.name)
            .chain(WORDS.iter().copied())
            .filter(|name| name.starts_with(word))
            .map(|name| (*name).to_string())
            .collect();
        found.sort();
        found.dedup();
        Ok((start, found))
    }
}

impl Hinter for CallNames {
    type Hint = String;
}
impl Highlighter for CallNames {}
impl Validator for CallNames {}
impl Helper for CallNames {}

/// Where the shell's output goes while the editor may be showing its
/// prompt: whole lines, through the external printer.
struct Printed {
    printer: Box<dyn ExternalPrinter + Send>,
    pending: Vec<u8>,
}

/// A writer for the tracer and the shell's own lines (shared, so their
/// lines never interleave).
#[derive(Clone)]
pub struct Out(Arc<Mutex<Printed>>);

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut p = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("shell output lock"))?;
        p.pending.extend_from_slice(buf);
        if let Some(end) = p.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = p.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&lines).into_owned();
            p.printer.print(text).map_err(std::io::Error::other)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The editor thread: `go` asks it for one more line.
pub struct Editing {
    pub go: Sender<()>,
}

/// The editor and its printer, before its thread starts.
pub struct Ready {
    editor: Editor<CallNames, MemHistory>,
    pub out: Out,
}

/// Make the editor (None when the terminal cannot be driven, e.g.
/// TERM=dumb: the shell then reads plain lines). `history`: the lines
/// of an earlier session (`--history FILE`), oldest first.
pub fn prepare(history: &[String]) -> Result<Option<Ready>> {
    let config = Config::builder()
        .auto_add_history(true)
        .completion_type(CompletionType::List)
        .build();
    let mut mem = MemHistory::new();
    for line in history {
        mem.add(line).map_err(|e| fail(&e))?;
    }
    let mut editor: Editor<CallNames, MemHistory> =
        Editor::with_history(config, mem).map_err(|e| fail(&e))?;
    editor.set_helper(Some(CallNames));
    let Ok(printer) = above_the_fds(|| editor.create_external_printer()) else {
        return Ok(None);
    };
    let out = Out(Arc::new(Mutex::new(Printed {
        printer: Box::new(printer),
        pending: Vec::new(),
    })));
    Ok(Some(Ready { editor, out }))
}

/// The lowest fd the editor's own pipe may take: the fds below it stay
/// free, so the session's first socket is 3, as in a script.
const EDITOR_FDS: i32 = 10;

/// Run `make` (which opens the editor's pipe) while fds 3..EDITOR_FDS
/// are held by copies of stdin, so the pipe lands above them; the
/// copies are closed after.
fn above_the_fds<T>(make: impl FnOnce() -> T) -> T {
    use std::os::fd::{AsFd, AsRawFd};
    let mut held = Vec::new();
    while let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() {
        let top = fd.as_raw_fd();
        held.push(fd);
        if top >= EDITOR_FDS - 1 {
            break;
        }
    }
    let made = make();
    drop(held);
    made
}

impl Ready {
    /// Start the editor's thread: each `go` reads one line and sends it
    /// (or the end) to the runner.
    pub fn spawn(self, tx: Sender<Msg>) -> Result<Editing> {
        let (go, asked) = std::sync::mpsc::channel();
        let editor = self.editor;
        std::thread::Builder::new()
            .name("shell editor".into())
            .spawn(move || read_lines(editor, &asked, &tx))
            .map_err(|e| Error::Runtime(format!("cannot read the terminal: {e}")))?;
        Ok(Editing { go })
    }
}

fn fail(e: &ReadlineError) -> Error {
    Error::Runtime(format!("cannot edit lines on this terminal: {e}"))
}

fn read_lines(mut editor: Editor<CallNames, MemHistory>, asked: &Receiver<()>, tx: &Sender<Msg>) {
    while asked.recv().is_ok() {
        let msg = match editor.readline(PROMPT) {
            Ok(line) => Msg::Input(line),
            // Ctrl-C drops the line being typed, as in bash.
            Err(ReadlineError::Interrupted) => Msg::Input(String::new()),
            Err(_) => Msg::Eof,
        };
        let end = matches!(msg, Msg::Eof);
        if tx.send(msg).is_err() || end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &str) -> (usize, Vec<String>) {
        let history = MemHistory::new();
        let ctx = Context::new(&history);
        CallNames.complete(line, line.len(), &ctx).unwrap()
    }

    #[test]
    fn tab_completes_call_names_at_the_cursor() {
        assert_eq!(
            complete("getso"),
            (0, vec!["getsockname".to_string(), "getsockopt".to_string()])
        );
        assert_eq!(complete("getsocko"), (0, vec!["getsockopt".to_string()]));
        assert_eq!(
            complete("server | acc"),
            (9, vec!["accept".to_string(), "accept4".to_string()])
        );
        // After a space there is no word to complete.
        assert_eq!(complete("connect(s, "), (11, Vec::new()));
        assert_eq!(complete("he"), (0, vec!["help".to_string()]));
    }
}
