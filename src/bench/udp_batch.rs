//! `bench udp --batch N`: the udp load with sendmmsg and recvmmsg, up to N
//! datagrams per call, on the same connected, non-blocking socket.
//!
//! 1. `socket(SOCK_DGRAM)`, `connect`, `ioctl(FIONBIO)`
//! 2. loop: while fewer than `--window` are in flight: `sendmmsg` of up
//!    to N numbered datagrams (EAGAIN: the send buffer is full, later);
//!    `poll(POLLIN, --wait)` (0: what is in flight is lost); `recvmmsg(N,
//!    0)` until it returns fewer than N (or EAGAIN)
//! 3. `close`; the result counts the syscalls of step 2 per datagram.

use std::time::Instant;

use nix::sys::socket::SockType;

use super::load::{RING, SEQ_LEN, read_seq, record, would_block};
use super::{Latency, Limit, Opts, Progress, Report};
use crate::socket::buffer::{buffer, pattern};
use crate::socket::modes;
use crate::sys::{Batch, Sys};
use crate::values::error::Result;

/// What the loop has done so far.
#[derive(Default)]
struct State {
    sent: u64,
    answered: u64,
    in_flight: usize,
    cutoff: u64,
    calls: u64,
}

/// The load (steps 1 to 3), `n` datagrams per call.
pub fn udp(sys: &Sys, opts: &Opts, n: usize) -> Result<Report> {
    let s = sys.socket(modes::family(&opts.addr), SockType::Datagram)?;
    sys.connect(s, &opts.addr)?;
    sys.ioctl_fionbio(s, true)?;
    let msg = pattern(opts.size, "--size")?;
    let mut out = Batch::new(buffer(n * opts.size.max(1), "--size")?, opts.size, false);
    for k in 0..out.capacity() {
        out.buf_mut(k).copy_from_slice(&msg);
    }
    let mut back = Batch::new(buffer(n * (opts.size + 1), "--size")?, opts.size + 1, false);
    let numbered = opts.size >= SEQ_LEN;
    let mut sent_at: Vec<(u64, Option<Instant>)> = vec![(0, None); RING];
    let mut samples = Vec::new();
    let limit = Limit::new(opts, opts.count);
    let mut progress = Progress::new("datagrams");
    let ms = i32::try_from(opts.wait.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    let mut st = State::default();
    let start = Instant::now();
    let mut last = start;
    loop {
        let now = Instant::now();
        while st.in_flight < opts.window && limit.more(st.sent, now) {
            let room = (opts.window - st.in_flight).min(n);
            let k = opts
                .count
                .map_or(room, |c| room.min((c - st.sent) as usize));
            for i in 0..k {
                if numbered {
                    let seq = format!("{:016X}", st.sent + i as u64);
                    out.buf_mut(i)[..SEQ_LEN].copy_from_slice(seq.as_bytes());
                }
                out.set_len(i, opts.size);
            }
            st.calls += 1;
            let m = match sys.sendmmsg(s, &mut out, 0, k, 0) {
                Ok(m) => m,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            };
            let t = Instant::now();
            for q in st.sent..st.sent + m as u64 {
                sent_at[(q as usize) % RING] = (q, Some(t));
            }
            st.sent += m as u64;
            st.in_flight += m;
            if m < k {
                break;
            }
        }
        if st.in_flight == 0 && !limit.more(st.sent, now) {
            break;
        }
        let mut fds = [libc::pollfd {
            fd: s.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        st.calls += 1;
        if sys.poll_fds(&mut fds, ms)? == 0 {
            // Silence: what is in flight is lost.
            st.cutoff = st.sent;
            st.in_flight = 0;
            continue;
        }
        loop {
            st.calls += 1;
            let got = match sys.recvmmsg(s, &mut back, n, 0) {
                Ok(got) => got,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            for k in 0..got {
                if answer(
                    &mut back,
                    k,
                    numbered,
                    &mut sent_at,
                    &mut st,
                    &mut samples,
                    now,
                ) {
                    last = now;
                    progress.tick(st.answered, now);
                }
            }
            if got < n {
                break;
            }
        }
    }
    progress.finish();
    sys.close(s)?;
    Ok(Report {
        test: "udp",
        transactions: st.answered,
        seconds: last.duration_since(start).as_secs_f64(),
        bytes: st.answered * 2 * opts.size as u64,
        latency: Latency::from_ns(&mut samples),
        udp: Some((st.sent, st.answered, st.sent - st.answered)),
        syscalls: Some(st.calls),
        ..Report::default()
    })
}

/// Reply `k` of the batch: counted when it answers a datagram in flight.
fn answer(
    back: &mut Batch,
    k: usize,
    numbered: bool,
    sent_at: &mut [(u64, Option<Instant>)],
    st: &mut State,
    samples: &mut Vec<u64>,
    now: Instant,
) -> bool {
    let len = back.len(k);
    let counted = if numbered {
        let d = back.buf_mut(k);
        match read_seq(d.get(..len).unwrap_or_default()) {
            Some(seq) if seq >= st.cutoff && seq < st.sent => {
                match sent_at.get_mut((seq as usize) % RING) {
                    Some(slot) if slot.0 == seq && slot.1.is_some() => {
                        if let Some(t0) = slot.1.take() {
                            record(samples, t0, now);
                        }
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    } else {
        st.in_flight > 0
    };
    if counted {
        st.answered += 1;
        st.in_flight -= 1;
    }
    counted
}
