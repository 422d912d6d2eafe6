//! TCP is a byte stream: "sticky packets" and their fixes (framing), and a
//! `send` that sends less than asked.

use std::time::Duration;

use nix::poll::PollFlags;

use super::basics::{joined, read_exactly};
use super::framework::{Ctx, Lab, Verdict, getopt, pair, setopt};
use crate::socket::lines::LineBuffer;
use crate::socket::modes::Wait;
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "sticky-packets",
            question: "Ten small sends back to back: does the receiver get ten messages?",
            source: "the tutorial's promised next lesson, sticky packets (粘包); the fixes: a length prefix, lines through makefile()",
            expected: "recv boundaries differ from the sends (Nagle on and off); framing recovers them",
            run: sticky_packets,
        },
        Lab {
            name: "partial-send",
            question: "Does send always send everything? What does sendall add?",
            source: "the tutorial's note on send vs sendall (send may send less than asked); UNP's writen()",
            expected: "send() < asked on a full buffer; sendall delivers every byte",
            run: partial_send,
        },
    ]
}

const SMALL: [&[u8]; 10] = [
    b"msg0;", b"msg1;", b"msg2;", b"msg3;", b"msg4;", b"msg5;", b"msg6;", b"msg7;", b"msg8;",
    b"msg9;",
];

/// Ten sends, then the receiver reads until it has all the bytes; returns
/// the receiver's boundaries and the sender's segment count.
fn burst(ctx: &Ctx, cs: &Sys, ss: &Sys, nodelay: bool) -> Result<(Vec<usize>, u32)> {
    let (l, c, conn) = pair(cs, ss)?;
    if nodelay {
        setopt(cs, c, "TCP_NODELAY", "1")?;
    }
    let before = ctx.quiet().tcp_info(c)?.tcpi_segs_out;
    for m in SMALL {
        cs.sendto(c, m, None)?;
    }
    let segs = ctx.quiet().tcp_info(c)?.tcpi_segs_out - before;
    ctx.note(
        "client",
        &format!("TCP_INFO: these 10 sends left in {segs} segment(s)"),
    );
    let total: usize = SMALL.iter().map(|m| m.len()).sum();
    let mut got = 0;
    let mut bounds = Vec::new();
    let mut buf = [0u8; 1024];
    while got < total {
        let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
        if n == 0 {
            break;
        }
        got += n;
        bounds.push(n);
    }
    cs.close(c)?;
    ss.close(conn)?;
    ss.close(l)?;
    Ok((bounds, segs))
}

fn sticky_packets(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let sends: Vec<usize> = SMALL.iter().map(|m| m.len()).collect();
    ctx.part("Nagle on (the default): 10 sends of 5 bytes, then the server reads");
    let (on, segs_on) = burst(ctx, &cs, &ss, false)?;
    ctx.part("Nagle off (TCP_NODELAY): the same");
    let (off, segs_off) = burst(ctx, &cs, &ss, true)?;

    ctx.part("fix 1: a 4-byte length before each message");
    let messages: [&[u8]; 4] = [b"a", b"", b"hello world", b"the last one"];
    let (l, c, conn) = pair(&cs, &ss)?;
    for m in messages {
        let mut framed = (m.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(m);
        cs.sendto(c, &framed, None)?;
    }
    cs.close(c)?;
    let mut framed_ok = true;
    for m in messages {
        let head = read_exactly(&ss, conn, 4)?;
        let len = u32::from_be_bytes(head.try_into().unwrap_or([0; 4])) as usize;
        let body = read_exactly(&ss, conn, len)?;
        framed_ok &= body == m;
    }
    ss.close(conn)?;
    ss.close(l)?;
    ctx.note(
        "server",
        &format!(
            "read 4 bytes, then exactly that many: {} messages as sent",
            if framed_ok { "the 4" } else { "NOT the" }
        ),
    );

    ctx.part("fix 2: lines through a buffer (makefile().readline()), sent cut mid-line");
    let (l, c, conn) = pair(&cs, &ss)?;
    cs.sendto(c, b"first line\nsecond li", None)?;
    cs.sendto(c, b"ne\nthird line\n", None)?;
    cs.close(c)?;
    let mut lines = Vec::new();
    let mut buffer = LineBuffer::default();
    let mut buf = [0u8; 1024];
    while let Some(line) =
        buffer.read_line(&ss, &ctx.output("server"), conn, &mut buf, Wait::Blocking)?
    {
        lines.push(String::from_utf8_lossy(&line).into_owned());
    }
    ss.close(conn)?;
    ss.close(l)?;
    ctx.note("server", &format!("readline() gave {lines:?}"));
    let lines_ok = lines == ["first line", "second line", "third line"];

    Ok(Verdict {
        pass: on != sends && off != sends && framed_ok && lines_ok,
        observed: format!(
            "10 sends of 5 bytes read as {on:?} (Nagle on, {segs_on} segments) and {off:?} (off, {segs_off} segments); length prefix: {}; lines: {}",
            if framed_ok { "4/4 messages" } else { "wrong" },
            if lines_ok { "3/3" } else { "wrong" }
        ),
        why: "TCP delivers a stream of bytes, not messages: every send appends to the \
              receiver's buffer and one recv takes whatever is there, so small sends stick \
              together (and a large one can be split). Nagle's algorithm only changes how many \
              segments carry them, not the fact. (For time it matters, on loopback too: it \
              holds a small send while an earlier small segment is unacknowledged, and a peer \
              that waits for the rest before answering delays that ACK: a send-send-wait \
              exchange takes about 40 ms with Nagle, well under a millisecond with \
              TCP_NODELAY; the nagle-stall lab measures it.) The receiver must find the boundaries itself: \
              a length before each message (read exactly that much), or a delimiter read \
              through a buffer that keeps the rest for the next line."
            .into(),
    })
}

/// How much the first send is asked to send.
/// More than a send buffer plus the peer's receive buffer hold at their
/// defaults' maximum (tcp_wmem 4 MB, tcp_rmem 6 MB).
const BIG: usize = 32 << 20;

fn partial_send(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (l, c, conn) = pair(&cs, &ss)?;
    let sndbuf = getopt(&cs, c, "SO_SNDBUF")?;
    cs.ioctl_fionbio(c, true)?;
    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let first = cs.sendto(c, &data, None)?;
    ctx.note(
        "client",
        &format!(
            "send asked for {BIG} bytes and returned {first}: the rest did not fit in the send buffer (SO_SNDBUF {sndbuf}) and the peer's receive buffer; the server is not reading yet"
        ),
    );
    let again = cs.sendto(c, &data[first..], None);
    let full = again.as_ref().err().and_then(Error::errno) == Some(nix::errno::Errno::EAGAIN);
    ctx.note(
        "client",
        "sendall: poll(POLLOUT) then send the rest, until all is out, while the server reads (not shown one by one)",
    );
    let quiet = ctx.quiet();
    let (total, calls, recvd, ok) = std::thread::scope(|sc| -> Result<_> {
        let reader = sc.spawn(|| -> Result<(usize, bool)> {
            let mut buf = vec![0u8; 1 << 16];
            let mut got = 0usize;
            let mut same = true;
            loop {
                if quiet.poll(conn, PollFlags::POLLIN, 5000)?.is_empty() {
                    break;
                }
                let (n, _) = quiet.recvfrom(conn, &mut buf, false)?;
                if n == 0 {
                    break;
                }
                same &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(k, &b)| b == ((got + k) % 251) as u8);
                got += n;
            }
            Ok((got, same))
        });
        let (sent, calls) = sendall(quiet, c, &data, first + again.as_ref().map_or(0, |n| *n))?;
        cs.close(c)?;
        let (recvd, same) = joined(reader)?;
        Ok((sent, calls, recvd, same))
    })?;
    ctx.note(
        "client",
        &format!("sendall: {calls} more sendto calls; {total} of {BIG} bytes sent"),
    );
    ctx.note(
        "server",
        &format!(
            "received {recvd} bytes, {}",
            if ok { "in order" } else { "CORRUPTED" }
        ),
    );
    ss.close(conn)?;
    ss.close(l)?;
    Ok(Verdict {
        pass: first < BIG && total == BIG && recvd == BIG && ok,
        observed: format!(
            "send() = {first} of {BIG}{}; sendall: {calls} more calls, {recvd} bytes received",
            if full { ", then EAGAIN" } else { "" }
        ),
        why: "send copies into the kernel's send buffer only what fits and returns that count; \
              a non-blocking (or timed) socket does not wait for room. sendall is a loop around \
              send that waits for room (poll) and sends the rest until every byte is out."
            .into(),
    })
}

/// Python's sendall in timeout mode from byte `from` on: poll(POLLOUT) and
/// sendto until done. Returns (bytes sent in all, sendto calls made).
fn sendall(sys: &Sys, s: Socket, data: &[u8], from: usize) -> Result<(usize, usize)> {
    let mut sent = from;
    let mut calls = 0;
    while sent < data.len() {
        if sys.poll(s, PollFlags::POLLOUT, 5000)?.is_empty() {
            return Err(Error::timeout(
                format!("sendto({s}, ...)"),
                Duration::from_secs(5).as_secs_f64(),
            ));
        }
        calls += 1;
        match sys.sendto(s, &data[sent..], None) {
            Ok(n) => sent += n,
            Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((sent, calls))
}
