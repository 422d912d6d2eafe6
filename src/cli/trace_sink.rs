//! Where `--trace` lines go: the tracer of `--trace[=json]` and
//! `--trace-file PATH`.

use super::args::{Cli, Command, TraceFormat};
use crate::strace::{self, Format, Tracer};
use crate::sys::untraced;
use crate::values::error::{self, Error, Result};

pub(crate) fn tracer(cli: &Cli) -> Result<Tracer> {
    let format = match (cli.trace, &cli.trace_file) {
        (Some(TraceFormat::Json), _) => Format::Json,
        (Some(TraceFormat::Text), _) | (None, Some(_)) => Format::Text,
        (None, None) if cli.wire || cli.record.is_some() => Format::Text,
        (None, None) => Format::Off,
    };
    let sink = match &cli.trace_file {
        None => strace::Stream::new("stderr", Box::new(std::io::stderr())),
        Some(path) => open_leaked("trace file", path)?,
    };
    let Some(path) = &cli.record else {
        return Ok(Tracer::new(format, Box::new(sink)));
    };
    if format == Format::Json {
        return Err(Error::Usage(
            "--record writes a script, which is the text trace: drop --trace=json".to_string(),
        ));
    }
    if ring_model(&cli.command) {
        return Err(Error::Usage(
            "--record: a --model uring server's calls go through its ring, whose SQEs a script \
             line cannot carry (strace does not print them), so its record would not replay; \
             use --trace-file FILE for its timeline"
                .to_string(),
        ));
    }
    // The trace still goes to stderr (or --trace-file) when asked for.
    let shown = cli.trace.is_some() || cli.trace_file.is_some() || cli.wire;
    let also = shown.then(|| Box::new(sink) as Box<dyn std::io::Write + Send>);
    let record = strace::Recorder::new(
        Box::new(open_leaked("record file", path)?),
        &command_line(),
        also,
    );
    Ok(Tracer::new(format, Box::new(record)))
}

/// A server with `--model uring` (its record would not replay).
fn ring_model(command: &Command) -> bool {
    use super::args::{TcpCommand, UdpCommand, UnixCommand};
    use crate::programs::server_opts::Model::Uring;
    match command {
        Command::Tcp(TcpCommand::Server { stream, .. })
        | Command::Unix(UnixCommand::Server { stream, .. }) => stream.model == Uring,
        Command::Udp(UdpCommand::Server { model, .. }) => *model == Uring,
        _ => false,
    }
}

/// `--trace-time`: set for the process when the command prints text
/// trace lines; refused where it prints none (JSON Lines carry their
/// `time` already).
pub(crate) fn trace_time(cli: &Cli) -> Result<()> {
    let Some(time) = cli.trace_time else {
        return Ok(());
    };
    let json = cli.trace == Some(TraceFormat::Json);
    let text = match &cli.command {
        Command::Lab { name, json } => name != "list" && !json,
        Command::Demo => true,
        Command::Script { .. } | Command::Shell { .. } => !json,
        Command::Bench(_) | Command::Sockopt(_) | Command::Net(_) => false,
        Command::Tcp(_) | Command::Udp(_) | Command::Unix(_) => {
            !json
                && (cli.trace.is_some()
                    || cli.trace_file.is_some()
                    || cli.wire
                    || cli.record.is_some())
        }
    };
    if !text {
        return Err(Error::Usage(
            "--trace-time stamps the text trace's lines: add --trace (JSON Lines \
             already carry each call's time; bench, sockopt list, lab list and net print no trace)"
                .to_string(),
        ));
    }
    strace::stamp::set(time);
    Ok(())
}

/// `--record FILE` for a lab: its whole output goes to stdout as always,
/// and to FILE as a script.
pub(crate) fn lab_recorder(cli: &Cli) -> Result<Option<strace::Recorder>> {
    let Some(path) = &cli.record else {
        return Ok(None);
    };
    let stdout = Box::new(strace::Stream::stdout());
    let file = Box::new(open_leaked("record file", path)?);
    Ok(Some(strace::Recorder::new(
        file,
        &command_line(),
        Some(stdout),
    )))
}

/// The record file's first line: the command that made it.
fn command_line() -> String {
    let args: Vec<String> = std::env::args_os()
        .map(|a| error::printable(&a.to_string_lossy()))
        .collect();
    format!("recorded: {}", args.join(" "))
}

/// A trace or record file, open until the process exits (leaked on
/// purpose: no untraced close(2) appears among the socket calls).
fn open_leaked(what: &str, path: &std::path::Path) -> Result<strace::Stream> {
    let file = trace_file(what, path)?;
    let name = format!("{what} {}", error::printable(&path.to_string_lossy()));
    Ok(strace::Stream::new(
        name,
        Box::new(Box::leak(Box::new(file))),
    ))
}

/// `--trace-file PATH`, created or truncated. Opened with O_NONBLOCK, so
/// a FIFO that no one reads fails at once (ENXIO) instead of blocking the
/// open before anything happens; the flag is then cleared, so writes to a
/// FIFO wait for a slow reader as they would to a terminal.
fn trace_file(what: &str, path: &std::path::Path) -> Result<std::fs::File> {
    let shown = error::printable(&path.to_string_lossy());
    let file = untraced::create_output(path, false, libc::O_NONBLOCK).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::ENXIO) => Error::Runtime(format!(
                "cannot open {what} {shown}: it is a FIFO that no process reads \
                 (ENXIO); start its reader first (e.g. cat {shown})"
            )),
            _ => Error::Runtime(format!(
                "cannot create {what} {shown}: {}",
                untraced::output_error(&e)
            )),
        }
    })?;
    untraced::clear_nonblock(&file).map_err(|e| {
        Error::Runtime(format!(
            "cannot use {what} {shown}: fcntl: {}",
            strace::errno_text(e)
        ))
    })?;
    Ok(file)
}
