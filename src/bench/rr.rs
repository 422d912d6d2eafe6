//! The rr load: one request of `--size` bytes in flight per connection,
//! blocking with one connection, polled with several.

use std::time::Instant;

use super::load::{STALL, record, request, stalled, would_block};
use super::{Latency, Limit, Opts, Progress, Report};
use crate::output::Output;
use crate::socket::buffer::{buffer, pattern};
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// rr: one request of `size` bytes in flight per connection.
pub fn rr(sys: &Sys, out: &Output, opts: &Opts) -> Result<Report> {
    // The request before any call: a size that cannot be allocated is
    // an error (exit 1) before the first connection.
    let req = pattern(opts.size, "--size")?;
    let mut socks = Vec::with_capacity(opts.conns);
    let mut connecting = Progress::new("connections made");
    for n in 0..opts.conns {
        socks.push(super::dial::connected(sys, opts, n)?);
        connecting.tick(n as u64 + 1, Instant::now());
    }
    connecting.finish();
    let mut samples = Vec::new();
    let mut progress = Progress::new("transactions");
    let limit = Limit::new(opts, opts.count);
    let start = Instant::now();
    let (done, echoed) = if socks.len() == 1 {
        let done = rr_blocking(sys, out, socks[0], &req, limit, &mut samples, &mut progress)?;
        (done, usize::from(done > 0))
    } else {
        rr_polled(sys, &socks, &req, limit, &mut samples, &mut progress)?
    };
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    for s in socks {
        sys.close(s)?;
    }
    Ok(Report {
        test: "rr",
        transactions: done,
        seconds,
        bytes: done * 2 * opts.size as u64,
        latency: Latency::from_ns(&mut samples),
        echoed: Some(echoed),
        ..Report::default()
    })
}

fn rr_blocking(
    sys: &Sys,
    out: &Output,
    s: Socket,
    req: &[u8],
    limit: Limit,
    samples: &mut Vec<u64>,
    progress: &mut Progress,
) -> Result<u64> {
    let mut buf = buffer(req.len(), "--size")?;
    let mut done = 0u64;
    let mut now = Instant::now();
    while limit.more(done, now) {
        let t0 = now;
        request(sys, out, s, req, &mut buf)?;
        now = Instant::now();
        record(samples, t0, now);
        done += 1;
        progress.tick(done, now);
    }
    Ok(done)
}

/// One connection's request in flight.
struct Flight {
    sent: usize,
    got: usize,
    t0: Instant,
    busy: bool,
}

/// rr_polled's result: transactions, and connections that completed one.
type Done = (u64, usize);

fn rr_polled(
    sys: &Sys,
    socks: &[Socket],
    req: &[u8],
    limit: Limit,
    samples: &mut Vec<u64>,
    progress: &mut Progress,
) -> Result<Done> {
    for &s in socks {
        sys.ioctl_fionbio(s, true)?;
    }
    let size = req.len();
    let mut buf = buffer(size, "--size")?;
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: s.fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let now = Instant::now();
    let mut flights: Vec<Flight> = socks
        .iter()
        .map(|_| Flight {
            sent: 0,
            got: 0,
            t0: now,
            busy: false,
        })
        .collect();
    let (mut started, mut done, mut busy) = (0u64, 0u64, 0usize);
    // Connections that completed a transaction: each one's first.
    let mut echoed = vec![false; socks.len()];
    // Send the rest of connection i's request; POLLOUT while it does not fit.
    let push = |i: usize, f: &mut Flight, pfd: &mut libc::pollfd| -> Result<()> {
        while f.sent < size {
            match sys.sendto(socks[i], &req[f.sent..], None) {
                Ok(n) => f.sent += n,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            }
        }
        pfd.events = if f.sent < size {
            libc::POLLIN | libc::POLLOUT
        } else {
            libc::POLLIN
        };
        Ok(())
    };
    for i in 0..socks.len() {
        if !limit.more(started, now) {
            break;
        }
        flights[i] = Flight {
            sent: 0,
            got: 0,
            t0: Instant::now(),
            busy: true,
        };
        push(i, &mut flights[i], &mut fds[i])?;
        started += 1;
        busy += 1;
    }
    let mut quiet_since = Instant::now();
    while busy > 0 {
        if sys.poll_fds(&mut fds, 1000)? == 0 {
            if quiet_since.elapsed() >= STALL {
                return Err(stalled(&format!("on {busy} connections")));
            }
            continue;
        }
        quiet_since = Instant::now();
        for i in 0..fds.len() {
            let revents = fds[i].revents;
            if revents == 0 {
                continue;
            }
            let f = &mut flights[i];
            if revents & libc::POLLOUT != 0 && f.sent < size {
                push(i, f, &mut fds[i])?;
            }
            if revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) == 0 || !f.busy {
                continue;
            }
            let n = match sys.recvfrom(socks[i], &mut buf[..size - f.got], false) {
                Ok((n, _)) => n,
                Err(e) if would_block(&e) => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(Error::Runtime(format!(
                    "the server closed connection {} after {} of {size} bytes of an echo",
                    i + 1,
                    f.got
                )));
            }
            f.got += n;
            if f.got < size {
                continue;
            }
            let now = Instant::now();
            record(samples, f.t0, now);
            done += 1;
            if let Some(e) = echoed.get_mut(i) {
                *e = true;
            }
            progress.tick(done, now);
            if limit.more(started, now) {
                *f = Flight {
                    sent: 0,
                    got: 0,
                    t0: now,
                    busy: true,
                };
                push(i, f, &mut fds[i])?;
                started += 1;
            } else {
                f.busy = false;
                fds[i].fd = -1;
                busy -= 1;
            }
        }
    }
    Ok((done, echoed.iter().filter(|&&e| e).count()))
}
