//! Servers that serve more than one client: the iterative TCP server and
//! its accept queue, the UDP server, and the restart that hits TIME_WAIT.

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::basics::{joined, read_exactly};
use super::framework::{
    Ctx, Lab, Verdict, dial, listener, loopback, outcome, port, read_proc, setopt, show, upper,
};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "serial-accept",
            question: "An iterative server (listen(5)) busy with one client: what happens to the second?",
            source: "tutorial step 5, the connection loop (while True: conn, addr = s.accept())",
            expected: "B connects at once, is served only after A leaves",
            run: serial_accept,
        },
        Lab {
            name: "udp-concurrent",
            question: "Can one UDP server serve several clients at the same time? Are datagram boundaries kept?",
            source: "tutorial step 6, the UDP server and clients (recvfrom/sendto), with an empty message",
            expected: "every client answered, a 0-byte datagram, boundaries kept",
            run: udp_concurrent,
        },
        Lab {
            name: "time-wait",
            question: "Why does a restarted server fail with \"Address already in use\", and what does SO_REUSEADDR change?",
            source: "tutorial step 7 (OSError: [Errno 98] Address already in use; setsockopt(SOL_SOCKET, SO_REUSEADDR, 1))",
            expected: "TIME_WAIT, bind EADDRINUSE; with SO_REUSEADDR (both runs) bind 0",
            run: time_wait,
        },
    ]
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn serial_accept(ctx: &Ctx) -> Result<Verdict> {
    let (a, b, ss) = (ctx.sys("A"), ctx.sys("B"), ctx.sys("server"));
    let (tx, rx) = sync_channel(1);
    let t0 = Instant::now();
    ctx.note("lab", "A and B are two clients of one iterative server");
    std::thread::scope(|sc| {
        let server = sc.spawn(|| -> Result<usize> {
            let (l, addr) = listener(&ss, 5)?;
            let _ = tx.send((addr, l));
            let mut served = 0;
            for _ in 0..2 {
                let (conn, peer) = ss.accept4(l)?;
                ctx.note("server", &format!("serving {peer} at {:.1} ms", ms(t0)));
                let mut buf = [0u8; 1024];
                loop {
                    let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
                    if n == 0 {
                        break;
                    }
                    ss.sendto(conn, &upper(&buf[..n]), None)?;
                }
                ss.close(conn)?;
                served += 1;
            }
            ss.close(l)?;
            Ok(served)
        });
        let (addr, l) = rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::Runtime("the server stopped before listening".into()))?;
        let ca = dial(&a, &addr)?;
        a.sendto(ca, b"I am A", None)?;
        read_exactly(&a, ca, 6)?;
        let cb = b.socket(AddressFamily::Inet, SockType::Stream)?;
        b.connect(cb, &addr)?;
        let connected_at = ms(t0);
        let state = ctx.state(cb);
        let queued = super::framework::settle(
            Duration::from_secs(1),
            || super::framework::accept_queue(ctx, l),
            |q| *q >= 1,
        );
        ctx.note(
            "B",
            &format!(
                "connect returned at {connected_at:.1} ms; B is {state}; the listener's accept queue holds {queued} (TCP_INFO)"
            ),
        );
        b.sendto(cb, b"I am B", None)?;
        let waiting = b.poll(cb, PollFlags::POLLIN, 300)?.is_empty();
        ctx.note(
            "B",
            if waiting {
                "no answer in 300 ms: the server is still in recv on A's connection"
            } else {
                "an answer came while A was still connected (not what an iterative server does)"
            },
        );
        a.close(ca)?;
        let reply = read_exactly(&b, cb, 6)?;
        let served_at = ms(t0);
        ctx.note("B", &format!("answer at {served_at:.1} ms, after A left"));
        b.close(cb)?;
        let served = joined(server)?;
        Ok(Verdict {
            pass: state == "ESTABLISHED"
                && queued == 1
                && waiting
                && reply == b"I AM B"
                && served == 2,
            observed: format!(
                "B {state} at {connected_at:.0} ms (accept queue {queued}), {} while A stayed, served at {served_at:.0} ms ({})",
                if waiting { "no answer" } else { "an answer" },
                show(&reply)
            ),
            why: "The kernel completes the three-way handshake by itself and puts the connection \
                  in the listener's accept queue (up to the backlog): B's connect returns at once. \
                  But an iterative server calls accept only after its communication loop with A \
                  ends, so B's message waits in B's connection until A closes."
                .into(),
        })
    })
}

fn udp_concurrent(ctx: &Ctx) -> Result<Verdict> {
    let ss = ctx.sys("server");
    let clients = [ctx.sys("c1"), ctx.sys("c2"), ctx.sys("c3")];
    let u = ss.socket(AddressFamily::Inet, SockType::Datagram)?;
    setopt(&ss, u, "SO_RCVTIMEO", "2")?;
    ctx.note(
        "server",
        "SO_RCVTIMEO 2 s bounds each recvfrom (the lab must not hang)",
    );
    ss.bind(u, &loopback())?;
    let addr = ss.getsockname(u)?;
    let mut socks = Vec::new();
    for c in &clients {
        socks.push(c.socket(AddressFamily::Inet, SockType::Datagram)?);
    }
    // Every client has a request out before the server answers any.
    let sends: [(usize, &[u8]); 5] = [
        (0, b"hello from c1"),
        (1, b""),
        (2, b"hello from c3"),
        (0, b"ab"),
        (0, b"cd"),
    ];
    for (i, m) in sends {
        clients[i].sendto(socks[i], m, Some(&addr))?;
    }
    let mut sizes = Vec::new();
    let mut peers = Vec::new();
    let mut buf = [0u8; 1024];
    for _ in sends {
        let (n, from) = ss.recvfrom(u, &mut buf, true)?;
        let from = from.ok_or_else(|| Error::Runtime("no sender address".into()))?;
        ss.sendto(u, &upper(&buf[..n]), Some(&from))?;
        sizes.push(n);
        let p = from.to_string();
        if !peers.contains(&p) {
            peers.push(p);
        }
    }
    let mut replies: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    for (i, m) in sends {
        let _ = m;
        let (n, _) = clients[i].recvfrom(socks[i], &mut buf, true)?;
        replies[i].push(buf[..n].to_vec());
    }
    for (i, c) in clients.iter().enumerate() {
        c.close(socks[i])?;
    }
    ss.close(u)?;
    let answered = sends.iter().enumerate().all(|(k, (i, m))| {
        let nth = sends[..k].iter().filter(|(j, _)| j == i).count();
        replies[*i].get(nth) == Some(&upper(m))
    });
    let expected_sizes: Vec<usize> = sends.iter().map(|(_, m)| m.len()).collect();
    Ok(Verdict {
        pass: answered && sizes == expected_sizes && peers.len() == 3,
        observed: format!(
            "{} senders answered, datagram sizes {sizes:?} (sent {expected_sizes:?})",
            peers.len()
        ),
        why: "A UDP server has no connections: one socket, and each recvfrom returns the next \
              datagram with its sender's address, whoever sent it, so requests from several \
              clients are served in turn without waiting for any client to finish. Each sendto \
              is one datagram: \"ab\" and \"cd\" arrive as two, and the empty one arrives as a \
              0-byte datagram."
            .into(),
    })
}

/// One line of /proc/net/tcp as `ss` shows it.
pub struct TcpEntry {
    pub state: String,
    pub local: String,
    pub remote: String,
    timer_secs: Option<f64>,
}

/// The sockets on local port `port` in /proc/net/tcp (what `ss -tan` reads).
pub fn proc_net_tcp(ctx: &Ctx, port: u16) -> Vec<TcpEntry> {
    let text = read_proc(ctx, "/proc/net/tcp").unwrap_or_default();
    let hz = crate::sys::untraced::clock_ticks().max(1) as f64;
    let addr = |s: &str| -> Option<(String, u16)> {
        let (ip, p) = s.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?.to_ne_bytes();
        Some((
            std::net::Ipv4Addr::from(ip).to_string(),
            u16::from_str_radix(p, 16).ok()?,
        ))
    };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let (Some((lip, lport)), Some((rip, rport))) = (addr(f[1]), addr(f[2])) else {
            continue;
        };
        if lport != port {
            continue;
        }
        let state = match f[3] {
            "01" => "ESTAB",
            "06" => "TIME-WAIT",
            "0A" => "LISTEN",
            "04" => "FIN-WAIT-1",
            "05" => "FIN-WAIT-2",
            "08" => "CLOSE-WAIT",
            _ => "OTHER",
        };
        let timer_secs = f[5]
            .split_once(':')
            .filter(|(kind, _)| *kind == "03")
            .and_then(|(_, when)| u64::from_str_radix(when, 16).ok())
            .map(|t| t as f64 / hz);
        out.push(TcpEntry {
            state: state.to_string(),
            local: format!("{lip}:{lport}"),
            remote: format!("{rip}:{rport}"),
            timer_secs,
        });
    }
    out
}

fn sysctl(ctx: &Ctx, name: &str) -> String {
    read_proc(ctx, &format!("/proc/sys/net/ipv4/{name}"))
        .map_or("?".into(), |s| s.trim().to_string())
}

/// Why a closing socket may skip TIME_WAIT: when the kernel already holds
/// `tcp_max_tw_buckets` of them, it closes at once ("TCP: time wait bucket
/// table overflow"); other programs' connections fill that table too.
fn time_wait_table_full(ctx: &Ctx) -> String {
    let count = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| read_proc(ctx, f))
        .map(|t| {
            t.lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("06"))
                .count()
        })
        .sum::<usize>();
    let max = sysctl(ctx, "tcp_max_tw_buckets");
    match max.parse::<usize>() {
        Ok(m) if count >= m => format!(
            " (the kernel's TIME_WAIT table is full: {count} sockets, net.ipv4.tcp_max_tw_buckets = {m}; \
             a closing socket then skips TIME_WAIT)"
        ),
        _ => format!(" ({count} TIME_WAIT sockets on this machine, tcp_max_tw_buckets = {max})"),
    }
}

/// A server that accepts one connection and closes it first, then closes
/// its listener (SO_REUSEADDR on the listener when `reuse`). Returns the
/// port and whether /proc/net/tcp then shows a TIME-WAIT socket on it.
fn close_first(ctx: &Ctx, reuse: bool) -> Result<(u16, bool)> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
    if reuse {
        setopt(&ss, l, "SO_REUSEADDR", "1")?;
    }
    ss.bind(l, &loopback())?;
    ss.listen(l, 5)?;
    let addr = ss.getsockname(l)?;
    let p = port(&addr);
    let c = dial(&cs, &addr)?;
    let (conn, peer) = ss.accept4(l)?;
    let (local, remote) = (addr.to_string(), peer.to_string());
    ss.close(conn)?;
    let mut buf = [0u8; 16];
    let (eof, _) = cs.recvfrom(c, &mut buf, false)?;
    cs.close(c)?;
    ss.close(l)?;
    // The peer's FIN is processed in softirq context, usually before close
    // returns: look for up to 2 s (an observation, not an ordering).
    let end = Instant::now() + Duration::from_secs(2);
    // This connection's own entry: its 4-tuple.
    let ours = |e: &TcpEntry| e.state == "TIME-WAIT" && e.local == local && e.remote == remote;
    let mut entries = proc_net_tcp(ctx, p);
    while !entries.iter().any(ours) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
        entries = proc_net_tcp(ctx, p);
    }
    let tw = entries.iter().find(|e| ours(e));
    match tw {
        Some(e) => ctx.note(
            "lab",
            &format!(
                "/proc/net/tcp, as `ss -tan state time-wait` shows it: TIME-WAIT {} {} timer:(timewait,{:.0}sec)",
                e.local,
                e.remote,
                e.timer_secs.unwrap_or(0.0)
            ),
        ),
        None => ctx.note("lab", &format!("no TIME-WAIT socket on port {p} in /proc/net/tcp")),
    }
    Ok((p, tw.is_some() && eof == 0))
}

/// A restarted server's bind on `p`, with or without SO_REUSEADDR first.
fn restart(ctx: &Ctx, p: u16, reuse: bool) -> Result<Result<()>> {
    let ss = ctx.sys("server");
    let s = ss.socket(AddressFamily::Inet, SockType::Stream)?;
    if reuse {
        setopt(&ss, s, "SO_REUSEADDR", "1")?;
    }
    let r = ss.bind(s, &super::framework::with_port(p)?);
    let r = match r {
        Ok(()) => ss.listen(s, 5),
        e => e,
    };
    ss.close(s)?;
    Ok(r)
}

fn time_wait(ctx: &Ctx) -> Result<Verdict> {
    use nix::errno::Errno::EADDRINUSE;
    ctx.part("the tutorial's server (no SO_REUSEADDR) closes its connection first, then exits");
    let (p1, tw1) = close_first(ctx, false)?;
    ctx.part("restarted on the same port: without, then with SO_REUSEADDR");
    let plain1 = restart(ctx, p1, false)?;
    let reuse1 = restart(ctx, p1, true)?;
    ctx.part("the fixed server: SO_REUSEADDR before every bind, the first run too");
    let (p2, tw2) = close_first(ctx, true)?;
    ctx.part("restarted on the same port: without, then with SO_REUSEADDR");
    let plain2 = restart(ctx, p2, false)?;
    let reuse2 = restart(ctx, p2, true)?;
    ctx.note(
        "lab",
        &format!(
            "TIME_WAIT lasts TCP_TIMEWAIT_LEN, 60 s, fixed in the kernel (include/net/tcp.h): no sysctl sets it. \
             net.ipv4.tcp_fin_timeout = {} is the FIN_WAIT_2 timeout, not this one; \
             net.ipv4.tcp_tw_reuse = {} (0 off, 1 on, 2 loopback only) lets new outgoing connections reuse a TIME_WAIT pair; \
             net.ipv4.tcp_max_tw_buckets = {} caps how many exist",
            sysctl(ctx, "tcp_fin_timeout"),
            sysctl(ctx, "tcp_tw_reuse"),
            sysctl(ctx, "tcp_max_tw_buckets")
        ),
    );
    let inuse = |r: &Result<()>| r.as_ref().err().and_then(Error::errno) == Some(EADDRINUSE);
    let seen = match (tw1, tw2) {
        (true, true) => "TIME-WAIT on the port both times".to_string(),
        _ => format!(
            "TIME-WAIT on the port: first run {}, second run {}{}",
            if tw1 { "yes" } else { "NO" },
            if tw2 { "yes" } else { "NO" },
            time_wait_table_full(ctx)
        ),
    };
    Ok(Verdict {
        pass: tw1 && tw2 && inuse(&plain1) && inuse(&plain2) && reuse2.is_ok(),
        observed: format!(
            "{seen}; restart without SO_REUSEADDR: {} / {}; with it: {} \
             (old listener without) / {} (old listener with)",
            outcome(&plain1),
            outcome(&plain2),
            outcome(&reuse1),
            outcome(&reuse2)
        ),
        why: "The side that closes first (here the server) ends in TIME_WAIT for 2MSL (60 s on \
              Linux) so that late segments of the old connection die out; the socket has no file \
              descriptor any more but still holds 127.0.0.1:PORT, and bind refuses the address. \
              Linux lets a bind share the port with a TIME_WAIT connection only when both have \
              SO_REUSEADDR (the connection inherits it from the listener that accepted it): so \
              the fix is to set it in the server before every bind, as the tutorial says, and \
              it takes effect from the next restart on."
            .into(),
    })
}
