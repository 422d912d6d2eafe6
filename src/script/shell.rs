//! `socklab shell`: the script language one line at a time. Each line
//! runs as it is typed and its strace line prints at once (with the
//! call table's hint on an error); a call that blocks gives the prompt
//! back (`<unfinished ...>`) and its `<... NAME resumed>` line prints
//! when it returns, so two sockets need no second terminal. `help`,
//! `help CALL`, `save FILE`, `quit`. The prompt `socklab> ` shows only
//! when stdin is a terminal; otherwise each line still runs as it comes
//! (a bad one is reported and the session goes on, unlike `script -`),
//! and the shell exits 1 if an expectation did not hold.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc::Sender;

use super::actors::Msg;
use super::check;
use super::run::Runner;
use super::{Options, parse};
use super::{ast, editing};
use crate::strace::{Stream, Tracer};
use crate::sys::untraced;
use crate::values::calls;
use crate::values::error::{Error, Result};

use editing::PROMPT;

/// How lines come in: plain lines from stdin (a prompt printed when
/// stdin is a terminal), or the line editor (stdin and stdout both a
/// terminal).
enum Input {
    Plain { terminal: bool },
    Edited(editing::Editing),
}

impl Input {
    /// Ready for the next line: the prompt, or the editor asked for it.
    fn ready(&self) {
        match self {
            Input::Plain { terminal: true } => prompt(),
            Input::Plain { terminal: false } => {}
            Input::Edited(e) => {
                let _ = e.go.send(());
            }
        }
    }
}

/// Run the shell on stdin until it ends (or `quit`). `history`: the
/// file `--history` named (read at the start, the session's lines
/// appended at the end); without it nothing is written.
pub fn run(opts: &Options, history: Option<&Path>) -> Result<()> {
    let terminal = std::io::stdin().is_terminal();
    let earlier = match history {
        Some(file) => read_history(file)?,
        None => Vec::new(),
    };
    let ready = if terminal && std::io::stdout().is_terminal() {
        editing::prepare(&earlier)?
    } else {
        None
    };
    let sink: Box<dyn Write + Send> = match &ready {
        Some(r) => {
            OUT.with(|o| *o.borrow_mut() = Some(r.out.clone()));
            Box::new(r.out.clone())
        }
        None => Box::new(std::io::stdout()),
    };
    let tracer = Tracer::new(opts.trace, Box::new(Stream::new("stdout", sink)));
    let _chld = super::chld_mask::Blocked::new();
    let mut runner = Runner::new(Vec::new(), opts, tracer);
    let input = match ready {
        Some(r) => Input::Edited(r.spawn(runner.sender())?),
        None => {
            plain_input(runner.sender())?;
            Input::Plain { terminal }
        }
    };
    runner.keep_going = true;
    let plain = matches!(input, Input::Plain { terminal: true });
    let mut lines: Vec<ast::Line> = Vec::new();
    let mut typed: Vec<String> = Vec::new();
    let mut entered: Vec<String> = Vec::new();
    let mut no = 0;
    loop {
        input.ready();
        let text = loop {
            match runner.next() {
                Ok(text) => break text,
                Err(msg) => {
                    // A blocked call returned while the prompt was shown
                    // (the editor prints it above its line by itself).
                    if plain {
                        println!();
                    }
                    runner.handle(*msg);
                    if plain {
                        prompt();
                    }
                }
            }
        };
        let Some(text) = text else { break };
        no += 1;
        if !text.trim().is_empty() {
            entered.push(text.clone());
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [] => continue,
            ["quit" | "exit"] => break,
            ["help"] => say(&help_all()),
            ["help", name] => say(&help_call(name)),
            ["save", file] => say(&save(file, &typed)),
            _ if super::link::directive(no, &text).is_some() => {
                // `net | set SPEC`: the link changes now (link.rs), once
                // the calls under way returned or sleep in them.
                let set = match super::link::directive(no, &text) {
                    Some(Ok(spec)) => {
                        runner.before_link(no);
                        super::link::set(&runner.tracer, &runner.net, no, &spec)
                    }
                    Some(Err(e)) => Err(Error::Usage(format!("column {}: {}", e.col, e.msg))),
                    None => Ok(()),
                };
                match set {
                    Ok(()) => typed.push(text.clone()),
                    Err(e) => {
                        runner.failed_lines += 1;
                        say(&format!("error: {e}"));
                    }
                }
            }
            _ => {
                if let Some(id) = accept(&mut runner, &mut lines, no, &text) {
                    typed.push(text.clone());
                    // An actor on a host that is not there: said, and
                    // the session goes on (the line is not run).
                    if let Err(e) = runner.enter_host_of(id) {
                        runner.failed_lines += 1;
                        say(&format!("error: {e}"));
                        continue;
                    }
                    runner.run_step(id)?;
                    // Saved with the spare actor it ran on (spare.rs), so
                    // `socklab script` does not wait for the blocked one.
                    if let (Some(name), Some(last)) = (runner.moved_to(id), typed.last_mut()) {
                        *last = format!("{name} | {text}");
                    }
                }
            }
        }
    }
    if let (Some(file), Input::Edited(_)) = (history, &input) {
        write_history(file, &entered);
    }
    runner.end()?;
    // Read like `script -`: a line whose expectation failed (reported
    // when it came) makes the exit code 1.
    match runner.failed_lines {
        0 => Ok(()),
        n if !terminal => Err(Error::Runtime(format!(
            "{n} line{} did not hold",
            if n == 1 { "" } else { "s" }
        ))),
        _ => Ok(()),
    }
}

/// stdin read line by line on a thread (not a terminal, or the editor
/// could not drive it).
fn plain_input(tx: Sender<Msg>) -> Result<()> {
    std::thread::Builder::new()
        .name("shell input".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(Msg::Input(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Msg::Eof);
        })
        .map(drop)
        .map_err(|e| Error::Runtime(format!("cannot read stdin: {e}")))
}

/// `--history FILE`: its lines (none if it does not exist yet).
/// Read as it is written: never through a symbolic link (O_NOFOLLOW),
/// and only a regular file.
fn read_history(file: &Path) -> Result<Vec<String>> {
    match untraced::read_input(file) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Runtime(format!(
            "cannot read the history file {}: {}",
            file.display(),
            untraced::input_error(&e)
        ))),
    }
}

/// The session's lines appended to the `--history` file.
fn write_history(file: &Path, lines: &[String]) {
    let mut text = String::new();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    let done =
        untraced::create_output(file, true, 0).and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = done {
        say(&format!(
            "cannot write the history file {}: {}",
            file.display(),
            untraced::output_error(&e)
        ));
    }
}

fn prompt() {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(PROMPT.as_bytes());
    let _ = out.flush();
}

thread_local! {
    /// The editor's printer, for the shell's own lines (main thread).
    static OUT: std::cell::RefCell<Option<editing::Out>> = const { std::cell::RefCell::new(None) };
}

fn say(text: &str) {
    let edited = OUT.with(|o| o.borrow().clone());
    match edited {
        Some(mut out) => crate::strace::write_line(&mut out, text),
        None => crate::strace::write_line(&mut std::io::stdout().lock(), text),
    }
}

/// Parse and check a typed line with the lines before it (their names
/// and fds); the id of its step, or None (its errors printed).
fn accept(runner: &mut Runner, lines: &mut Vec<ast::Line>, no: usize, text: &str) -> Option<usize> {
    let line = match parse::parse_line(no, text) {
        Ok(Some(l)) => l,
        Ok(None) => return None,
        Err(e) => {
            say(&format!("error: column {}: {}", e.col, e.msg));
            return None;
        }
    };
    lines.push(line);
    match check::check(lines) {
        Ok(mut steps) => match steps.pop() {
            Some(step) if step.no == no => Some(runner.push_step(step)),
            _ => None,
        },
        Err(errors) => {
            for e in errors.iter().filter(|e| e.line == no) {
                say(&format!("error: column {}: {}", e.col, e.msg));
            }
            lines.pop();
            None
        }
    }
}

/// `help`: every call, with its arguments.
fn help_all() -> String {
    let mut out = vec!["calls (strace's syntax; `help CALL` for one):".to_string()];
    for row in calls::scriptable() {
        out.push(format!("  {}", signature(row)));
    }
    out.push("short forms: send(fd, \"data\"), recv(fd, 1024), accept(fd), read(fd, N), write(fd, \"data\"),".into());
    out.push(
        "  bind/connect(fd, 127.0.0.1:PORT | [::1]:PORT | /path | @name), getsockname(fd)".into(),
    );
    out.push("names: s = socket(AF_INET, SOCK_STREAM, 0); then bind(s, 127.0.0.1:0); actors: `server | accept(s)`".into());
    out.push("also: help CALL, save FILE (the session as a script), quit".into());
    out.join("\n")
}

fn signature(row: &calls::Syscall) -> String {
    let args: Vec<&str> = row.args.iter().map(|a| a.name).collect();
    format!("{}({})", row.name, args.join(", "))
}

/// `help CALL`: its syntax, its man page and the errors that page lists
/// (`calls::man_errors`; the row's `errnos` are the ones worth injecting).
fn help_call(name: &str) -> String {
    let name = match name {
        "send" => "sendto",
        "recv" => "recvfrom",
        n => n,
    };
    let Some(row) = calls::by_name(name).filter(|r| r.scriptable) else {
        return format!("no call '{name}' (help lists them)");
    };
    let mut out = vec![signature(row)];
    // The errors line names the page (accept4's is accept's).
    match calls::man_errors(row.name) {
        Some(man) => out.push(format!("  {}", man.line())),
        None => out.push(format!("  man 2 {}", row.name)),
    }
    out.join("\n")
}

/// `save FILE`: the lines typed so far, as a script (a line the shell
/// ran on a spare actor tagged with it).
fn save(file: &str, typed: &[String]) -> String {
    let mut text = typed.join("\n");
    text.push('\n');
    let written = untraced::create_output(Path::new(file), false, 0)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => format!("saved {} lines to {file}", typed.len()),
        Err(e) => format!("cannot save to {file}: {}", untraced::output_error(&e)),
    }
}
