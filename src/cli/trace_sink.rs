//! Where `--trace` lines go: the tracer of `--trace[=json]` and
//! `--trace-file PATH`.

use super::args::{Cli, TraceFormat};
use crate::strace::{self, Format, Tracer};
use crate::values::error::{self, Error, Result};

pub(crate) fn tracer(cli: &Cli) -> Result<Tracer> {
    let format = match (cli.trace, &cli.trace_file) {
        (Some(TraceFormat::Json), _) => Format::Json,
        (Some(TraceFormat::Text), _) | (None, Some(_)) => Format::Text,
        (None, None) if cli.wire => Format::Text,
        (None, None) => Format::Off,
    };
    let sink = match &cli.trace_file {
        None => strace::Stream::new("stderr", Box::new(std::io::stderr())),
        Some(path) => {
            let file = trace_file(path)?;
            // Leaked on purpose: the file stays open until the process exits,
            // so no untraced close(2) appears among the socket calls.
            let name = format!("trace file {}", error::printable(&path.to_string_lossy()));
            strace::Stream::new(name, Box::new(Box::leak(Box::new(file))))
        }
    };
    Ok(Tracer::new(format, Box::new(sink)))
}

/// `--trace-file PATH`, created or truncated. Opened with O_NONBLOCK, so
/// a FIFO that no one reads fails at once (ENXIO) instead of blocking the
/// open before anything happens; the flag is then cleared, so writes to a
/// FIFO wait for a slow reader as they would to a terminal.
fn trace_file(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = error::printable(&path.to_string_lossy());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => Error::Runtime(format!(
                "cannot open trace file {shown}: it is a FIFO that no process reads \
                 (ENXIO); start its reader first (e.g. cat {shown})"
            )),
            _ => Error::Runtime(format!("cannot create trace file {shown}: {e}")),
        })?;
    crate::sys::untraced::clear_nonblock(&file).map_err(|e| {
        Error::Runtime(format!(
            "cannot use trace file {shown}: fcntl: {}",
            strace::errno_text(e)
        ))
    })?;
    Ok(file)
}
