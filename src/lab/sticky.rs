//! TCP is a byte stream: "sticky packets" and their fixes (framing), and a
//! `send` that sends less than asked.

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::basics::read_exactly;
use super::framework::{Ctx, Lab, Verdict, getopt, loopback, pair, setopt};
use crate::socket::lines::LineBuffer;
use crate::socket::modes::Wait;
use crate::sys::{Socket, Sys};
use crate::values::error::Result;

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
            expected: "send() < asked on a full buffer; sendall delivers every byte, the same counts every run",
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

/// How much the client sends: about four times what its send buffer
/// and the server's receive buffer take at once.
const BIG: usize = 512 << 10;

/// SO_SNDBUF (client) and SO_RCVBUF (server), set before connect: the
/// kernel doubles them and stops autotuning them, so every run, and
/// every replay of the lab's record, takes the same counts.
const BUF: &str = "65536";

/// socket, SO_RCVBUF, bind, listen, getsockname (server); socket,
/// SO_SNDBUF, connect (client); accept4. Returns (listener, client,
/// accepted).
fn fixed_pair(cs: &Sys, ss: &Sys) -> Result<(Socket, Socket, Socket)> {
    let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
    setopt(ss, l, "SO_RCVBUF", BUF)?;
    ss.bind(l, &loopback())?;
    ss.listen(l, 5)?;
    let addr = ss.getsockname(l)?;
    let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    setopt(cs, c, "SO_SNDBUF", BUF)?;
    cs.connect(c, &addr)?;
    let (conn, _) = ss.accept4(l)?;
    Ok((l, c, conn))
}

/// The byte at `i` of what the client sends.
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

fn partial_send(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (l, c, conn) = fixed_pair(&cs, &ss)?;
    let sndbuf = getopt(&cs, c, "SO_SNDBUF")?;
    cs.ioctl_fionbio(c, true)?;
    let data: Vec<u8> = (0..BIG).map(byte).collect();
    let mut buf = vec![0u8; BIG];
    let (mut sent, mut counts, mut in_order) = (0usize, Vec::new(), true);
    while sent < BIG {
        let n = match cs.sendto(c, data.get(sent..).unwrap_or(&[]), None) {
            Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => {
                cs.poll(c, PollFlags::POLLOUT, 5000)?;
                continue;
            }
            r => r?,
        };
        if counts.is_empty() {
            ctx.note(
                "client",
                &format!(
                    "send asked for {BIG} bytes and returned {n}: what fitted in the send buffer (SO_SNDBUF {sndbuf}) and the server's receive buffer; the server is not reading yet"
                ),
            );
            ctx.note(
                "client",
                "sendall is a loop: send the rest, again and again; here the server reads exactly what each send took before the next one (MSG_WAITALL), so the rest goes as the peer reads",
            );
        }
        let into = buf.get_mut(..n).unwrap_or(&mut []);
        let (got, _) = ss.recvfrom_raw(conn, into, libc::MSG_WAITALL, false)?;
        in_order &= got == n && into.iter().enumerate().all(|(k, &b)| b == byte(sent + k));
        sent += n;
        counts.push(n);
    }
    let shown: Vec<String> = counts.iter().map(usize::to_string).collect();
    ctx.note(
        "client",
        &format!(
            "sendall: {} sendto calls ({}) for {sent} of {BIG} bytes",
            counts.len(),
            shown.join(" + ")
        ),
    );
    ctx.note(
        "server",
        &format!(
            "received {sent} bytes, {}",
            if in_order { "in order" } else { "CORRUPTED" }
        ),
    );
    cs.close(c)?;
    ss.close(conn)?;
    ss.close(l)?;
    let first = counts.first().copied().unwrap_or(0);
    Ok(Verdict {
        pass: first < BIG && sent == BIG && in_order,
        observed: format!(
            "send() = {first} of {BIG}; sendall: {} sends ({}), {sent} bytes received in order: {in_order}",
            counts.len(),
            shown.join(" + ")
        ),
        why: "send copies into the kernel's send buffer only what fits and returns that count; \
              a non-blocking (or timed) socket does not wait for room. sendall is a loop around \
              send that sends the rest until every byte is out, waiting for room (poll) when \
              there is none; room comes as the peer reads (its receive buffer empties, its \
              window opens, the sender's buffered bytes leave). With both buffers fixed \
              (SO_SNDBUF, SO_RCVBUF: no autotuning) and the peer reading exactly what each \
              send took, the counts are the same every run."
            .into(),
    })
}
