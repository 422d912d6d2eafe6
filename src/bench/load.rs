//! The loads stream, connect and udp (rr is `rr.rs`; their syscalls:
//! `mod.rs`), and what they share with rr: a connection, one request and
//! its echo, latency samples.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{Shutdown, SockType};

use super::{Latency, Limit, Opts, Progress, Report};
use crate::output::Output;
use crate::socket::buffer::{buffer, pattern};
use crate::socket::duplex;
use crate::socket::exactly;
use crate::socket::modes;
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// At most this many latency samples are kept (the first ones).
const MAX_SAMPLES: usize = 1 << 24;
/// No reply for this long on any connection: the server is not answering.
pub(super) const STALL: Duration = Duration::from_secs(5);

pub(super) fn would_block(e: &Error) -> bool {
    e.errno() == Some(Errno::EAGAIN)
}

pub(super) fn stalled(what: &str) -> Error {
    Error::Runtime(format!(
        "no reply for {} s {what}: does the server answer each message with one of the same length (and serve this many connections at once)?",
        STALL.as_secs()
    ))
}

pub(super) fn record(samples: &mut Vec<u64>, t0: Instant, now: Instant) {
    if samples.len() < MAX_SAMPLES {
        samples.push(now.duration_since(t0).as_nanos() as u64);
    }
}

/// socket, [bind], connect (within `--connect-timeout`): one blocking
/// connection, the `n`th (its `--source` address).
pub(super) fn connected(sys: &Sys, opts: &Opts, n: usize) -> Result<Socket> {
    super::dial::connected(sys, opts, n)
}

/// recvfrom until `buf` is full (blocking socket); the server closing
/// first is an error.
fn recv_echo(sys: &Sys, s: Socket, buf: &mut [u8]) -> Result<()> {
    let got = exactly::recv_exactly(sys, s, buf)?;
    if got < buf.len() {
        return Err(Error::Runtime(format!(
            "the server closed the connection after {got} of {} bytes of an echo",
            buf.len()
        )));
    }
    Ok(())
}

/// One request and its echo on a blocking socket: `exactly::send_all`, then
/// `recv_echo`; a request over `duplex::SENDALL_MAX` goes out while
/// the echo is read (`duplex::send_reading`), else an echo server and
/// this client would both wait in `sendto` (issue 12).
pub(super) fn request(
    sys: &Sys,
    out: &Output,
    s: Socket,
    req: &[u8],
    buf: &mut [u8],
) -> Result<()> {
    if req.len() <= duplex::SENDALL_MAX {
        exactly::send_all(sys, s, req)?;
        return recv_echo(sys, s, buf);
    }
    let mut got = 0;
    let sent = duplex::send_reading(sys, out, s, req, buf, modes::Wait::Blocking, |piece| {
        got += piece.len();
        Ok(())
    })?;
    if let duplex::Sent::Closed(n) = sent {
        return Err(Error::Runtime(format!(
            "the server closed the connection after {n} of {} bytes of a request",
            req.len()
        )));
    }
    // The echo's bytes are counted, not kept: the rest fills the buffer.
    match buf.get_mut(got..) {
        Some(rest) => recv_echo(sys, s, rest),
        None => Ok(()),
    }
}

/// stream: `size`-byte writes until `--bytes` or the deadline; then
/// shutdown(SHUT_WR) and read until the server closes. Non-blocking, with
/// `poll` when the send buffer is full: a server that stops reading (one
/// that echoes instead of discarding) is reported, not waited for forever.
pub fn stream(sys: &Sys, opts: &Opts) -> Result<Report> {
    let chunk = pattern(opts.size, "--size")?;
    let s = connected(sys, opts, 0)?;
    sys.ioctl_fionbio(s, true)?;
    let limit = Limit::new(opts, None);
    let mut progress = Progress::new("writes");
    let start = Instant::now();
    let (mut sent, mut writes) = (0u64, 0u64);
    let mut now = start;
    let mut quiet_since = start;
    loop {
        let want = match opts.bytes {
            Some(total) if sent >= total => break,
            Some(total) => (total - sent).min(chunk.len() as u64) as usize,
            None if !limit.more(0, now) => break,
            None => chunk.len(),
        };
        match sys.sendto(s, &chunk[..want], None) {
            Ok(n) => {
                sent += n as u64;
                writes += 1;
                now = Instant::now();
                quiet_since = now;
                progress.tick(writes, now);
            }
            Err(e) if would_block(&e) => {
                wait_for(sys, s, libc::POLLOUT)?;
                now = Instant::now();
                if now.duration_since(quiet_since) >= STALL {
                    return Err(stalled("taking data (is it a sink, `--sink`?)"));
                }
            }
            Err(e) => return Err(e),
        }
    }
    sys.shutdown(s, Shutdown::Write)?;
    let mut buf = vec![0u8; 65536];
    let mut quiet_since = Instant::now();
    loop {
        match sys.recvfrom(s, &mut buf, false) {
            Ok((0, _)) => break,
            Ok(_) => quiet_since = Instant::now(),
            Err(e) if would_block(&e) => {
                wait_for(sys, s, libc::POLLIN)?;
                if quiet_since.elapsed() >= STALL {
                    return Err(stalled("after the last byte (the server did not close)"));
                }
            }
            Err(e) => return Err(e),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    sys.close(s)?;
    Ok(Report {
        test: "stream",
        transactions: writes,
        seconds,
        bytes: sent,
        ..Report::default()
    })
}

/// poll one socket for `events`, up to a second.
fn wait_for(sys: &Sys, s: Socket, events: libc::c_short) -> Result<()> {
    let mut fds = [libc::pollfd {
        fd: s.fd(),
        events,
        revents: 0,
    }];
    sys.poll_fds(&mut fds, 1000)?;
    Ok(())
}

/// connect: `--conns` threads, each: socket, connect, one exchange, close.
pub fn connect(sys: &Sys, out: &Output, opts: &Opts) -> Result<Report> {
    let req = pattern(opts.size, "--size")?;
    let limit = Limit::new(opts, opts.count);
    let started = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let all = Mutex::new(Vec::new());
    let progress = Mutex::new(Progress::new("connections"));
    let start = Instant::now();
    let one = |sys: &Sys, buf: &mut [u8], n: u64| -> Result<()> {
        let s = connected(sys, opts, usize::try_from(n).unwrap_or(0))?;
        request(sys, out, s, &req, buf)?;
        sys.close(s)
    };
    let worker = || -> Result<()> {
        let sys = sys.clone();
        let mut buf = buffer(req.len(), "--size")?;
        let mut samples = Vec::new();
        loop {
            let t0 = Instant::now();
            let n = started.fetch_add(1, Ordering::Relaxed);
            if !limit.more(n, t0) {
                break;
            }
            one(&sys, &mut buf, n)?;
            let now = Instant::now();
            record(&mut samples, t0, now);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Ok(mut p) = progress.try_lock() {
                p.tick(n, now);
            }
        }
        if let Ok(mut v) = all.lock() {
            v.extend(samples);
        }
        Ok(())
    };
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..opts.conns).map(|_| scope.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Runtime("a worker thread failed".into())))
            })
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let mut samples = all.into_inner().unwrap_or_default();
    let done = done.load(Ordering::Relaxed);
    Ok(Report {
        test: "connect",
        transactions: done,
        seconds,
        bytes: done * 2 * opts.size as u64,
        latency: Latency::from_ns(&mut samples),
        ..Report::default()
    })
}

/// Datagrams carry their sequence number as 16 hex digits (upper case, so
/// an upper-casing echo keeps it) when they have room for it.
pub(super) const SEQ_LEN: usize = 16;
pub(super) const RING: usize = 1 << 16;

pub(super) fn read_seq(d: &[u8]) -> Option<u64> {
    std::str::from_utf8(d.get(..SEQ_LEN)?)
        .ok()
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

/// udp: a connected socket, `--window` datagrams in flight; a silence of
/// `--wait` declares the ones in flight lost.
pub fn udp(sys: &Sys, opts: &Opts) -> Result<Report> {
    let s = sys.socket(modes::family(&opts.addr), SockType::Datagram)?;
    if let Some(from) = opts.source.first() {
        sys.bind(s, from)?;
    }
    sys.connect(s, &opts.addr)?;
    sys.ioctl_fionbio(s, true)?;
    let mut msg = pattern(opts.size, "--size")?;
    let numbered = opts.size >= SEQ_LEN;
    let mut sent_at: Vec<(u64, Option<Instant>)> = vec![(0, None); RING];
    let mut buf = buffer(opts.size.max(1) + 1, "--size")?;
    let mut samples = Vec::new();
    let limit = Limit::new(opts, opts.count);
    let mut progress = Progress::new("datagrams");
    let ms = i32::try_from(opts.wait.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    let (mut sent, mut answered, mut in_flight, mut cutoff) = (0u64, 0u64, 0usize, 0u64);
    let start = Instant::now();
    let mut last = start;
    loop {
        let now = Instant::now();
        while in_flight < opts.window && limit.more(sent, now) {
            if numbered {
                msg[..SEQ_LEN].copy_from_slice(format!("{sent:016X}").as_bytes());
            }
            match sys.sendto(s, &msg, None) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
            sent_at[(sent as usize) % RING] = (sent, Some(Instant::now()));
            sent += 1;
            in_flight += 1;
        }
        if in_flight == 0 && !limit.more(sent, now) {
            break;
        }
        let mut fds = [libc::pollfd {
            fd: s.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if sys.poll_fds(&mut fds, ms)? == 0 {
            // Silence: what is in flight is lost.
            cutoff = sent;
            in_flight = 0;
            continue;
        }
        loop {
            let n = match sys.recvfrom(s, &mut buf, false) {
                Ok((n, _)) => n,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            let counted = if numbered {
                match read_seq(&buf[..n]) {
                    Some(seq) if seq >= cutoff && seq < sent => {
                        let slot = &mut sent_at[(seq as usize) % RING];
                        match *slot {
                            (q, Some(t0)) if q == seq => {
                                record(&mut samples, t0, now);
                                slot.1 = None;
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                }
            } else {
                in_flight > 0
            };
            if counted {
                answered += 1;
                in_flight -= 1;
                last = now;
                progress.tick(answered, now);
            }
        }
    }
    progress.finish();
    sys.close(s)?;
    Ok(Report {
        test: "udp",
        transactions: answered,
        seconds: last.duration_since(start).as_secs_f64(),
        bytes: answered * 2 * opts.size as u64,
        latency: Latency::from_ns(&mut samples),
        udp: Some((sent, answered, sent - answered)),
        ..Report::default()
    })
}
