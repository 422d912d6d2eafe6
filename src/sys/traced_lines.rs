//! A `Sys` whose trace a unit test reads back: the sink every rendering
//! test of this layer shares (rendered*.rs and the files' own tests).

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::*;
use crate::strace::Format;

/// The trace's bytes, as written.
#[derive(Clone, Default)]
pub(super) struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// The text traced so far.
    pub(super) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines so far (then forgotten), each pointer (`0x` and 10 or
    /// more hex digits) written `PTR`.
    pub(super) fn take(&self) -> Vec<String> {
        let text = String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap();
        text.lines().map(mask).collect()
    }
}

fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let hex = rest[at + 2..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        if hex >= 10 {
            out.push_str("PTR");
        } else {
            out.push_str(&rest[at..at + 2 + hex]);
        }
        rest = &rest[at + 2 + hex..];
    }
    out.push_str(rest);
    out
}

/// A `Sys` tracing as text into the returned [`Lines`].
pub(super) fn traced() -> (Sys, Lines) {
    let lines = Lines::default();
    let sys = Sys::new(Tracer::new(Format::Text, Box::new(lines.clone())));
    (sys, lines)
}
