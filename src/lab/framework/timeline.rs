//! The lab's output: one whole line at a time on stdout, shared by the
//! tracer (syscall lines) and the lab's own lines; in `--json`, JSON Lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::now;
use crate::strace::json_str;

/// The lab's output: stdout, one whole line at a time, shared by the
/// tracer (syscall lines) and the lab's own lines.
#[derive(Clone)]
pub struct Out(Arc<Mutex<Box<dyn Write + Send>>>);

impl Out {
    pub(crate) fn stdout() -> Out {
        Out(Arc::new(Mutex::new(Box::new(
            crate::strace::Stream::stdout(),
        ))))
    }

    /// Stdout and, with `--record FILE`, the record file too.
    pub(crate) fn with_record(record: Option<crate::strace::Recorder>) -> Out {
        match record {
            Some(r) => Out(Arc::new(Mutex::new(Box::new(r)))),
            None => Out::stdout(),
        }
    }

    pub(crate) fn line(&self, text: &str) {
        let mut w = match self.0.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        crate::strace::write_line(&mut **w, text);
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut w) => w.write(buf),
            Err(p) => p.into_inner().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut w) => w.flush(),
            Err(p) => p.into_inner().flush(),
        }
    }
}

/// In `--json` mode, the tracer's sink: syscall events pass through; a
/// program's output line (`server > text`, e.g. from the line buffer)
/// becomes a `say` event, so that every line is JSON.
pub(super) struct JsonLines {
    lab: &'static str,
    out: Out,
    pending: Vec<u8>,
}

impl JsonLines {
    pub(super) fn new(lab: &'static str, out: Out) -> JsonLines {
        JsonLines {
            lab,
            out,
            pending: Vec::new(),
        }
    }
}

impl Write for JsonLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]).into_owned();
            if line.starts_with('{') {
                self.out.line(&line);
            } else {
                let (side, text) = match line.split_once(" > ") {
                    Some((side, text)) => (side.trim(), text),
                    None => ("", line.as_str()),
                };
                self.out.line(&format!(
                    "{{\"time\":{:.6},\"lab\":{},\"event\":\"say\",\"side\":{},\"text\":{}}}",
                    now(),
                    json_str(self.lab),
                    json_str(side),
                    json_str(text)
                ));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
