//! `--lines`: Python's `makefile()`, a buffer over the socket read line by
//! line. TCP has no message boundaries: one `recvfrom` may carry several
//! lines, or half of one; the buffer keeps what is left for the next line.
//! Each `recvfrom` is reported with what it carried.

use crate::output::{Output, shown};
use crate::socket::duplex::{Sent, needed, send_reading};
use crate::socket::messages::LINE_LIMIT;
use crate::socket::modes::{self, Wait};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::Result;

/// The bytes received and not yet handed out as lines.
#[derive(Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The next complete line (without its `\n`), calling `recvfrom` as
    /// often as it takes; None when the peer closed (a partial line left
    /// over is handed out as the last line).
    pub fn read_line(
        &mut self,
        sys: &Sys,
        out: &Output,
        s: Socket,
        buf: &mut [u8],
        wait: Wait,
    ) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(line) = self.next_line() {
                return Ok(Some(line));
            }
            let n = modes::recv(sys, s, buf, wait)?;
            if n == 0 {
                return Ok((!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending)));
            }
            self.feed(out, &buf[..n], line_limit(buf.len()))?;
        }
    }

    /// A complete line already received, without its `\n`.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        let end = self.pending.iter().position(|&b| b == b'\n')?;
        let line = self.pending[..end].to_vec();
        self.pending.drain(..=end);
        Some(line)
    }

    /// Add what one `recvfrom` returned, and say what the buffer holds.
    fn feed(&mut self, out: &Output, bytes: &[u8], limit: usize) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        // A peer that never sends a newline cannot make the buffer grow
        // without bound (issue #8): past the limit, the line is refused.
        if self.pending.len() > limit && !self.pending.contains(&b'\n') {
            return Err(crate::values::error::Error::Runtime(format!(
                "a line longer than {limit} bytes (no newline yet): over the --lines buffer's limit; closing the connection"
            )));
        }
        let lines = self.pending.iter().filter(|&&b| b == b'\n').count();
        let partial = self.pending.len()
            - self
                .pending
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        out.say(&format!(
            "recv returned {} bytes: the buffer now holds {lines} complete line{} and {partial} bytes of a partial one",
            bytes.len(),
            if lines == 1 { "" } else { "s" }
        ));
        Ok(())
    }
}

/// How many bytes the line buffer holds without a newline: 64 KiB
/// (`messages::LINE_LIMIT`, also a client's longest stdin line), or one
/// `--bufsize` when that is larger.
pub fn line_limit(bufsize: usize) -> usize {
    bufsize.max(LINE_LIMIT)
}

/// The server's communication loop in line mode: each complete line is
/// answered upper-cased with its `\n`, however the bytes were split.
pub fn converse(
    sys: &Sys,
    out: &Output,
    conn: Socket,
    peer: &Addr,
    buf: &mut [u8],
    wait: Wait,
) -> Result<()> {
    let mut lines = LineBuffer::default();
    while let Some(line) = lines.read_line(sys, out, conn, buf, wait)? {
        out.say_addr("line from ", peer, &format!(": {}", shown(&line)));
        let mut reply = line.to_ascii_uppercase();
        reply.push(b'\n');
        modes::sendall(sys, out, conn, &reply, wait)?;
    }
    out.say_addr("", peer, " closed");
    Ok(())
}

/// The client's line when a recv returned 0: the server closed, unless
/// the buffer is empty (`--bufsize 0`: a zero-length recv always returns 0).
fn closed(buf: &[u8]) -> String {
    if buf.is_empty() {
        crate::output::zero_length_recv("server")
    } else {
        "server closed the connection".to_string()
    }
}

/// The client in line mode: all messages, each with its `\n`, in one
/// `sendall` (a buffered writer's flush), then the replies line by line
/// through the buffer. When the lines come to more than
/// `duplex::SENDALL_MAX` bytes (and no SO_SNDTIMEO, see `duplex::needed`),
/// they go out while the replies are read (`duplex::send_reading`), so
/// client and server cannot both wait in `sendto`.
pub fn exchange(
    sys: &Sys,
    out: &Output,
    s: Socket,
    messages: &[Vec<u8>],
    buf: &mut [u8],
    setup: &modes::Setup,
    raw: bool,
) -> Result<()> {
    let wait = setup.wait;
    let joined: Vec<u8> = messages
        .iter()
        .flat_map(|m| m.iter().copied().chain([b'\n']))
        .collect();
    let mut lines = LineBuffer::default();
    let mut replies = 0;
    if needed(joined.len(), true, setup) {
        let limit = line_limit(buf.len());
        let sent = send_reading(sys, out, s, &joined, buf, wait, |piece| {
            lines.feed(out, piece, limit)?;
            while replies < messages.len()
                && let Some(reply) = lines.next_line()
            {
                out.say_peer(&reply, raw);
                replies += 1;
            }
            Ok(())
        })?;
        if let Sent::Closed(_) = sent {
            out.say(&closed(buf));
            return Ok(());
        }
    } else {
        modes::sendall(sys, out, s, &joined, wait)?;
    }
    for _ in replies..messages.len() {
        match lines.read_line(sys, out, s, buf, wait)? {
            Some(reply) => out.say_peer(&reply, raw),
            None => {
                out.say(&closed(buf));
                break;
            }
        }
    }
    Ok(())
}
