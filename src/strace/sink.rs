//! The sinks program output and trace lines are written to: a [`Stream`]
//! whose failed writes are reported once, and one `write` per line.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;

use crate::values::error::errno_text;

/// Whether a write to a [`Stream`] has failed (see `Stream`).
static OUTPUT_FAILED: AtomicBool = AtomicBool::new(false);

/// An output stream (stdout, stderr when it carries the trace, the
/// `--trace-file`) whose failed writes are not lost: the first failure in
/// the process is reported at once (`socklab: cannot write to stdout:
/// ENOSPC (No space left on device)`), the program goes on, and main
/// exits 1 at the end ([`output_failed`]). A closed pipe (EPIPE: `socklab
/// sockopt list | head -1`) is not a failure: the reader has all it wanted.
pub struct Stream {
    name: String,
    inner: Box<dyn Write + Send>,
}

impl Stream {
    pub fn new(name: impl Into<String>, inner: Box<dyn Write + Send>) -> Stream {
        Stream {
            name: name.into(),
            inner,
        }
    }

    pub fn stdout() -> Stream {
        Stream::new("stdout", Box::new(std::io::stdout()))
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| write_failed(&self.name, e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner
            .flush()
            .inspect_err(|e| write_failed(&self.name, e))
    }
}

/// Report the first failed write of the process (not EPIPE, not EINTR,
/// which `write_all` makes again).
pub fn write_failed(name: &str, e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::Interrupted || e.raw_os_error() == Some(libc::EPIPE) {
        return;
    }
    if OUTPUT_FAILED.swap(true, Ordering::SeqCst) {
        return;
    }
    let why = match e.raw_os_error() {
        Some(n) => errno_text(Errno::from_raw(n)),
        None => e.to_string(),
    };
    // stderr itself may be what failed: then nothing more can be said.
    let _ =
        std::io::stderr().write_all(format!("socklab: cannot write to {name}: {why}\n").as_bytes());
}

/// Whether some output was lost (main's exit code is then 1).
pub fn output_failed() -> bool {
    OUTPUT_FAILED.load(Ordering::SeqCst)
}

/// One `write` per line, newline included: a forked child shares the
/// parent's trace file and stderr, and two writes per line would let the
/// processes' lines interleave mid-line.
pub fn write_line(w: &mut dyn Write, line: &str) {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    // Output errors (a closed pipe) must not turn into socket errors.
    let _ = w.write_all(buf.as_bytes());
    let _ = w.flush();
}
