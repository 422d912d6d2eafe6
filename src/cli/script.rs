//! `socklab script FILE|-` and `socklab shell`: the global flags that
//! apply to them (`--trace[=json]` picks the timeline's format,
//! `--show-state`), the script read from its file or stdin, the exit
//! code from the run (0 every expectation held, 1 one did not, 2 errors
//! in the script).

use std::io::Read;
use std::time::Duration;

use super::args::{Cli, Command, TraceFormat};
use crate::script::{self, Options};
use crate::strace::Format;
use crate::sys::untraced;
use crate::values::error::{Error, Result};

/// Run `socklab script` or `socklab shell` (None for another command).
pub fn run(cli: &Cli) -> Option<Result<()>> {
    if let Err(e) = recordless(cli) {
        return Some(Err(e));
    }
    let (file, timeout, history, net) = match &cli.command {
        Command::Script {
            file,
            emit: Some(lang),
            explain,
            timeout,
            ..
        } => return Some(emit(file, lang, *explain, *timeout)),
        Command::Script {
            file, timeout, net, ..
        } => (Some(file.as_str()), *timeout, None, net),
        Command::Shell {
            timeout,
            history,
            net,
        } => (None, *timeout, history.as_deref(), net),
        _ => return None,
    };
    Some(flags(cli).and_then(|()| {
        let opts = Options {
            trace: match cli.trace {
                Some(TraceFormat::Json) => Format::Json,
                _ => Format::Text,
            },
            show_state: cli.show_state,
            timeout: Duration::from_secs_f64(timeout),
            wire: crate::wire::Options {
                show: cli.wire,
                pcap: cli.pcap.clone(),
            },
            file_name: file.unwrap_or("-").to_string(),
            net: net.clone(),
        };
        match file {
            Some(file) => run_script(file, &opts),
            None => script::shell::run(&opts, history),
        }
    }))
}

fn run_script(file: &str, opts: &Options) -> Result<()> {
    let text = read(file)?;
    let outcome = script::run_file(&text, opts)?;
    match outcome.failure {
        None => Ok(()),
        Some(report) => {
            crate::strace::write_line(&mut std::io::stderr().lock(), &report);
            Err(Error::Runtime(format!(
                "{file}: an expectation did not hold"
            )))
        }
    }
}

/// `--emit c|python [--explain]`: the program (or the calls FILE's Python
/// twin adds, then the others, with why) on stdout; `--timeout` is the program's too.
fn emit(file: &str, lang: &str, explain: bool, timeout: f64) -> Result<()> {
    let lang = match lang {
        "c" => script::emit::Lang::C,
        _ => script::emit::Lang::Python,
    };
    if explain {
        if lang == script::emit::Lang::C {
            return Err(Error::Usage(
                "--explain is for --emit python (the C program makes no call the script did not)"
                    .to_string(),
            ));
        }
        let text = read(file)?;
        let lang = script::emit::Lang::Python;
        let twin = script::emit::emit(&text, file, lang, Duration::from_secs_f64(timeout));
        let explained = match &twin {
            Ok(program) => script::emit::explain::text(file, Some(program), &[]),
            Err(lines) => script::emit::explain::text(file, None, lines),
        };
        crate::strace::write_line(&mut std::io::stdout().lock(), &explained);
        return Ok(());
    }
    let text = read(file)?;
    match script::emit::emit(&text, file, lang, Duration::from_secs_f64(timeout)) {
        Ok(program) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(program.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::Runtime(format!("cannot write the program: {e}")))
        }
        Err(lines) => {
            let n = lines.len();
            crate::strace::write_line(&mut std::io::stderr().lock(), &lines.join("\n"));
            Err(Error::Usage(format!(
                "{file}: {n} line{} cannot be emitted; nothing was written",
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

/// The script's text: the file, or stdin for `-`. A file that cannot
/// be read is a runtime failure (exit 1, the errno named), as socklab's
/// output files are; one that is not UTF-8 text is the script's error
/// (exit 2).
fn read(file: &str) -> Result<String> {
    let shown = crate::values::error::printable(file);
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => {
            Error::Usage(format!("cannot read script {shown}: it is not UTF-8 text"))
        }
        _ => Error::Runtime(format!(
            "cannot read script {shown}: {}",
            untraced::io_error_text(&e)
        )),
    })?;
    Ok(text)
}

/// The global flags a script cannot honour are refused.
fn flags(cli: &Cli) -> Result<()> {
    if cli.trace_file.is_some()
        || cli.step
        || !cli.pause_before.is_empty()
        || !cli.pause_after.is_empty()
    {
        return Err(Error::Usage(
            "a script always prints its timeline on stdout: --trace-file, --step and \
             --pause-before/after do not apply (--trace=json gives it as JSON Lines)"
                .to_string(),
        ));
    }
    Ok(())
}

/// `--record FILE` with a script or the shell: refused (it wrote no
/// file, silently). A script is already the record of its calls, and its
/// timeline (stdout) is in the same syntax.
fn recordless(cli: &Cli) -> Result<()> {
    let what = match &cli.command {
        Command::Script { .. } => "a script is already the record of its calls",
        Command::Shell { .. } => "the shell's lines are a script already",
        _ => return Ok(()),
    };
    match cli.record {
        None => Ok(()),
        Some(_) => Err(Error::Usage(format!(
            "--record writes a program's or a lab's calls as a script; {what} \
             (its timeline is on stdout: redirect it to keep it)"
        ))),
    }
}
