//! A listener's accept queue: how many connections complete without
//! accept (UNP's backlog.c), and two listeners sharing a port.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::framework::{Ctx, Lab, Verdict, loopback, outcome, port, setopt, with_port};
use crate::sys::{Socket, Sys};
use crate::values::error::Result;

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "backlog",
            question: "A listener that never accepts: how many connects complete for backlog 0, 1, 2, 5, and what happens to the next?",
            source: "UNP debug/backlog.c (Figure 4.10, the backlog table)",
            expected: "backlog+1 complete on Linux; the next stays in SYN_SENT",
            run: backlog,
        },
        Lab {
            name: "reuseport",
            question: "Can two servers listen on one port? How does SO_REUSEPORT share the connections?",
            source: "UNP 7.5 (SO_REUSEADDR and SO_REUSEPORT); Linux 3.9 SO_REUSEPORT load balancing",
            expected: "2nd bind EADDRINUSE without; with it both listeners get connections",
            run: reuseport,
        },
    ]
}

/// How long a connect may take to complete on loopback before it counts
/// as not completed (its SYN was dropped; the retry comes after 1 s).
const CONNECT_WAIT_MS: i32 = 250;

/// Non-blocking connects to a listen(backlog) listener that never accepts,
/// until one does not complete. Returns (completed, state of the next).
fn fill(ctx: &Ctx, backlog: i32, traced: bool) -> Result<(usize, String, u32)> {
    let ss = if traced {
        ctx.sys("server")
    } else {
        ctx.quiet().clone()
    };
    let cs = if traced {
        ctx.sys("client")
    } else {
        ctx.quiet().clone()
    };
    let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
    ss.bind(l, &loopback())?;
    ss.listen(l, backlog)?;
    let addr = ss.getsockname(l)?;
    let mut clients: Vec<Socket> = Vec::new();
    let mut completed = 0;
    let mut next_state = String::from("?");
    for _ in 0..(backlog as usize + 3) {
        let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
        clients.push(c);
        cs.ioctl_fionbio(c, true)?;
        let before = listen_overflows(ctx);
        match cs.connect(c, &addr) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(Errno::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        // Wait for the handshake; on a timeout, a rise of the kernel's
        // ListenOverflows counter says the SYN was dropped (a loaded machine
        // may just be slow: then wait again, up to 2 s in all).
        let end = Instant::now() + Duration::from_secs(2);
        let mut ready;
        let mut dropped;
        loop {
            ready = cs.poll(c, PollFlags::POLLOUT, CONNECT_WAIT_MS)?;
            dropped = listen_overflows(ctx) > before || before == 0;
            if !ready.is_empty() || dropped || Instant::now() >= end {
                break;
            }
        }
        let state = ctx.state(c);
        if ready.is_empty() && dropped && traced {
            ctx.note(
                "server",
                "TcpExt ListenOverflows went up (/proc/net/netstat, `nstat`): the listener dropped the SYN",
            );
        }
        if traced {
            ctx.note("client", &format!("fd {c} is {state} (TCP_INFO)"));
        }
        if ready.contains(PollFlags::POLLOUT) && state == "ESTABLISHED" {
            completed += 1;
        } else {
            next_state = state;
            break;
        }
    }
    let queued = super::framework::settle(
        Duration::from_secs(1),
        || super::framework::accept_queue(ctx, l),
        |q| *q as usize >= completed,
    );
    for c in clients {
        cs.close(c)?;
    }
    ss.close(l)?;
    Ok((completed, next_state, queued))
}

fn backlog(ctx: &Ctx) -> Result<Verdict> {
    let mut rows = Vec::new();
    let mut nexts = Vec::new();
    let mut pass = true;
    for (i, b) in [0, 1, 2, 5].into_iter().enumerate() {
        if i == 0 {
            ctx.part("backlog 0, every call shown");
        }
        let (done, next, queued) = fill(ctx, b, i == 0)?;
        if i == 0 {
            ctx.part("backlog 1, 2, 5: the same calls, summarised");
            ctx.note(
                "lab",
                "not shown: backlog 0's calls again for each: socket, bind, listen, \
                 getsockname; per client socket, ioctl FIONBIO, connect, poll; getsockopt \
                 TCP_INFO; close",
            );
        }
        ctx.note(
            "lab",
            &format!(
                "listen(fd, {b}): completed {done} (accept queue {queued}); the next connect is still {next} after {CONNECT_WAIT_MS} ms"
            ),
        );
        pass &= done == b as usize + 1 && next == "SYN_SENT" && queued as usize == done;
        rows.push(format!("{b}→{done}"));
        nexts.push(next);
    }
    Ok(Verdict {
        pass,
        observed: format!(
            "completed per backlog {}; the next stayed {}",
            rows.join(", "),
            if nexts.iter().all(|n| *n == "SYN_SENT") {
                "SYN_SENT".to_string()
            } else {
                nexts.join(" / ")
            }
        ),
        why: "The kernel completes the handshake without the application and queues the \
              connection until accept takes it. Linux refuses new connections when the queue \
              holds more than the backlog (queue > backlog), so backlog+1 complete; then it \
              drops the next SYN silently (no RST), and that client stays in SYN_SENT, \
              retransmitting its SYN after 1 s, 2 s, ... The backlog is capped by \
              net.core.somaxconn."
            .into(),
    })
}

/// socket, [SO_REUSEPORT], bind, listen(64) on `port` (0: pick one).
fn serve_on(sys: &Sys, port: u16, reuse: bool) -> Result<(Socket, Result<()>)> {
    let s = sys.socket(AddressFamily::Inet, SockType::Stream)?;
    if reuse {
        setopt(sys, s, "SO_REUSEPORT", "1")?;
    }
    let r = sys.bind(s, &with_port(port)?);
    let r = match r {
        Ok(()) => sys.listen(s, 64),
        e => e,
    };
    Ok((s, r))
}

const CLIENTS: usize = 32;

fn reuseport(ctx: &Ctx) -> Result<Verdict> {
    let (a, b, cs) = (ctx.sys("srv-1"), ctx.sys("srv-2"), ctx.sys("client"));
    ctx.part("without SO_REUSEPORT");
    let (s1, r1) = serve_on(&a, 0, false)?;
    r1?;
    let p = port(&a.getsockname(s1)?);
    let (s2, r2) = serve_on(&b, p, false)?;
    b.close(s2)?;
    a.close(s1)?;
    let refused = r2.as_ref().err().and_then(|e| e.errno()) == Some(Errno::EADDRINUSE);
    let first = outcome(&r2);

    ctx.part("both with SO_REUSEPORT");
    let (s1, r1) = serve_on(&a, 0, true)?;
    r1?;
    let addr = a.getsockname(s1)?;
    let (s2, r2) = serve_on(&b, port(&addr), true)?;
    let shared = r2.is_ok();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let sys = if i < 2 { &cs } else { ctx.quiet() };
        let c = sys.socket(AddressFamily::Inet, SockType::Stream)?;
        clients.push(c);
        sys.connect(c, &addr)?;
    }
    ctx.note(
        "client",
        &format!(
            "... {} more socket/connect pairs, from distinct source ports",
            CLIENTS - 2
        ),
    );
    let (q1, q2) = super::framework::settle(
        Duration::from_secs(2),
        || {
            (
                super::framework::accept_queue(ctx, s1),
                super::framework::accept_queue(ctx, s2),
            )
        },
        |(a, b)| (a + b) as usize >= CLIENTS,
    );
    ctx.note(
        "lab",
        &format!("accept queues (TCP_INFO): srv-1 holds {q1}, srv-2 holds {q2}"),
    );
    // The two connects shown are closed in the timeline too (so that it
    // replays as a script with the same calls); the others quietly.
    for (i, c) in clients.into_iter().enumerate() {
        let sys = if i < 2 { &cs } else { ctx.quiet() };
        sys.close(c)?;
    }
    ctx.note(
        "client",
        &format!("... {} more clients closed (close)", CLIENTS - 2),
    );
    b.close(s2)?;
    a.close(s1)?;
    Ok(Verdict {
        pass: refused && shared && q1 > 0 && q2 > 0 && (q1 + q2) as usize == CLIENTS,
        observed: format!(
            "2nd bind without: {}; with: {}; {CLIENTS} connections split {q1} / {q2}",
            first,
            if shared { "bind 0" } else { "refused" }
        ),
        why: "Two sockets cannot normally bind the same address and port: the second bind \
              fails with EADDRINUSE. With SO_REUSEPORT on both (same user), the kernel accepts \
              both listeners and gives each new connection to one of them by a hash of its \
              addresses and ports, so the connections are shared between the servers."
            .into(),
    })
}

/// The kernel's count of SYNs dropped because an accept queue was full
/// (TcpExt ListenOverflows in /proc/net/netstat; 0 if it cannot be read).
fn listen_overflows(ctx: &Ctx) -> u64 {
    let text = super::framework::read_proc(ctx, "/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        return names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "ListenOverflows")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
    }
    0
}
