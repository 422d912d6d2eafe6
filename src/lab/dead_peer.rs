//! Labs on the lab network about a peer that stops answering once the
//! connection is up: `rto-backoff` (data sent into a blackhole: the
//! retransmission timer doubles) and `keepalive` (an idle connection
//! whose peer vanished: the keepalive probes find it dead). What the
//! kernel's timers do is read from TCP_INFO (getsockopt, untraced: strace
//! prints the struct as bytes) by an observer thread while the client is
//! blocked, and noted beside the calls (and, under `--wire`, the packets).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType};

use super::framework::{Ctx, Lab, LabNet, Verdict, net_addr, outcome, setopt};
use crate::sys::Socket;
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "rto-backoff",
            question: "data sent, then the peer's packets vanish: when does TCP retransmit, and when does it give up?",
            source: "TCP/IP Illustrated vol. 1, 14.3-14.4 (retransmission timeout, exponential backoff); RFC 6298; tcp(7) TCP_USER_TIMEOUT",
            expected: "retransmissions about 0.2, 0.4, 0.8, 1.6 s apart (tcpi_rto doubling, tcpi_backoff 1, 2, 3, 4), then recv ETIMEDOUT at about TCP_USER_TIMEOUT (3 s)",
            run: rto_backoff,
        },
        Lab {
            name: "keepalive",
            question: "an idle connection whose peer host vanished: who notices, and when?",
            source: "TCP/IP Illustrated vol. 1, 17 (TCP keepalive); UNP 7.5 (SO_KEEPALIVE); tcp(7) TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT",
            expected: "2 unanswered probes, then recv ETIMEDOUT at idle + intvl x cnt = 1 s + 1 s x 2 = 3 s",
            run: keepalive,
        },
    ]
}

/// Until `done`: TCP_INFO of `s` every 5 ms (untraced); each time
/// `key` of it changes, `say` is told (the time since `t0`, the info)
/// and the change is kept.
fn watch(
    ctx: &Ctx,
    s: Socket,
    t0: Instant,
    done: &AtomicBool,
    key: fn(&libc::tcp_info) -> u32,
    say: &(dyn Fn(f64, &libc::tcp_info) + Sync),
) -> Vec<(f64, libc::tcp_info)> {
    let mut seen = Vec::new();
    let mut last = ctx.quiet().tcp_info(s).map_or(0, |i| key(&i));
    while !done.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(5));
        let Ok(i) = ctx.quiet().tcp_info(s) else {
            continue;
        };
        if key(&i) != last {
            last = key(&i);
            let t = t0.elapsed().as_secs_f64();
            say(t, &i);
            seen.push((t, i));
        }
    }
    seen
}

/// The client's `recvfrom` on `c`, blocked until the kernel gives up,
/// with [`watch`] beside it; its result, its time since `t0`, the changes.
fn recv_watched(
    ctx: &Ctx,
    c: Socket,
    t0: Instant,
    key: fn(&libc::tcp_info) -> u32,
    say: &(dyn Fn(f64, &libc::tcp_info) + Sync),
) -> (Result<usize>, f64, Vec<(f64, libc::tcp_info)>) {
    let cs = ctx.sys("client");
    let done = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let seen = sc.spawn(|| watch(ctx, c, t0, &done, key, say));
        let mut buf = [0u8; 16];
        let r = cs.recvfrom(c, &mut buf, false).map(|(n, _)| n);
        let took = t0.elapsed().as_secs_f64();
        done.store(true, Ordering::Release);
        (r, took, seen.join().unwrap_or_default())
    })
}

/// Host a listens on `addr` (the kernel completes the handshake; the
/// lab may accept); host b connects after `opts` (name, value). Returns
/// the listener and the client's socket.
fn connected(
    ctx: &Ctx,
    net: &LabNet,
    addr: &str,
    opts: &[(&str, &str)],
) -> Result<(Socket, Socket)> {
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let l = net.inside("a", || {
        let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
        ss.bind(l, &net_addr(addr)?)?;
        ss.listen(l, 1)?;
        Ok(l)
    })?;
    let c = net.inside("b", || {
        let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
        for (name, value) in opts {
            setopt(&cs, c, name, value)?;
        }
        cs.connect(c, &net_addr(addr)?)?;
        Ok(c)
    })?;
    Ok((l, c))
}

/// `f(previous, next)` for each neighbouring pair of `v`.
pub fn steps(v: &[f64], f: fn(f64, f64) -> f64) -> Vec<f64> {
    v.windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(f(*a, *b)),
            _ => None,
        })
        .collect()
}

fn timed_out<T>(r: &Result<T>) -> bool {
    r.as_ref().err().and_then(Error::errno) == Some(Errno::ETIMEDOUT)
}

fn rto_backoff(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(ctx, "", &["net.ipv4.tcp_early_retrans=0"])?;
    ctx.note(
        "server",
        "host a (192.0.2.1) listens; the kernel completes the handshake, nobody reads",
    );
    ctx.note(
        "client",
        "host b (192.0.2.2); TCP_USER_TIMEOUT=3000 bounds the lab (else net.ipv4.tcp_retries2=15 retransmits for about 15 min)",
    );
    ctx.note(
        "client",
        "both hosts: net.ipv4.tcp_early_retrans=0 (no tail loss probe, RFC 8985, 200 ms before the first timeout: every resend here is the RTO's)",
    );
    let (l, c) = connected(ctx, &net, "192.0.2.1:9010", &[("TCP_USER_TIMEOUT", "3000")])?;
    net.set("blackhole")?;
    ctx.note(
        "link",
        "the link is a blackhole: from now on every IP packet vanishes",
    );
    let cs = ctx.sys("client");
    let first = ctx.quiet().tcp_info(c)?;
    ctx.note(
        "client",
        &format!(
            "TCP_INFO: tcpi_rto={} us, tcpi_backoff={} (the RTO from the handshake's RTT, at least 200 ms)",
            first.tcpi_rto, first.tcpi_backoff
        ),
    );
    let (r, took, seen) = net.inside("b", || {
        cs.sendto(c, b"hello", None)?;
        let t0 = Instant::now();
        let say = |t: f64, i: &libc::tcp_info| {
            ctx.note(
                "client",
                &format!(
                    "+{t:.2} s: retransmission {}; TCP_INFO: tcpi_backoff={}, tcpi_rto={} us",
                    i.tcpi_total_retrans, i.tcpi_backoff, i.tcpi_rto
                ),
            )
        };
        Ok(recv_watched(ctx, c, t0, |i| i.tcpi_total_retrans, &say))
    })?;
    net.inside("b", || cs.close(c))?;
    net.inside("a", || ctx.sys("server").close(l))?;
    let swallowed = net.dropped("b>a", "blackhole")?;
    ctx.note(
        "link",
        &format!(
            "the link swallowed {swallowed} packets from b (the data and its retransmissions)"
        ),
    );
    // The gaps: send -> 1st retransmission -> 2nd ...
    let times: Vec<f64> = std::iter::once(0.0)
        .chain(seen.iter().map(|(t, _)| *t))
        .collect();
    let gaps = steps(&times, |a, b| b - a);
    let rtos: Vec<f64> = seen.iter().map(|(_, i)| f64::from(i.tcpi_rto)).collect();
    let doubling_gaps = steps(&gaps, |a, b| b / a)
        .iter()
        .all(|r| (1.5..2.6).contains(r));
    let doubling_rtos = steps(&rtos, |a, b| b / a)
        .iter()
        .all(|r| (1.9..2.1).contains(r));
    let backoffs: Vec<String> = seen
        .iter()
        .map(|(_, i)| i.tcpi_backoff.to_string())
        .collect();
    let ms: Vec<String> = gaps.iter().map(|g| format!("{:.0}", g * 1e3)).collect();
    Ok(Verdict {
        pass: seen.len() >= 3
            && doubling_gaps
            && doubling_rtos
            && timed_out(&r)
            && (2.5..4.5).contains(&took),
        observed: format!(
            "{} retransmissions, {} ms apart, tcpi_backoff {}; recv {} after {took:.1} s",
            seen.len(),
            ms.join(", "),
            backoffs.join(", "),
            outcome(&r)
        ),
        why: "Each segment sent starts the retransmission timer (RTO, from the measured round \
              trip, at least 200 ms on Linux). When it fires with the data unacknowledged, TCP \
              sends the data again and doubles the RTO (exponential backoff, tcpi_backoff \
              counts the doublings), so a congested or dead path is not flooded. The send had \
              long returned: only the next call learns the outcome. TCP_USER_TIMEOUT (3000 \
              ms here) ends it: data unacknowledged that long fails the connection with \
              ETIMEDOUT; without it tcp_retries2 (15) decides, about 15 minutes."
            .into(),
    })
}

fn keepalive(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(ctx, "", &[])?;
    ctx.note(
        "server",
        "host a (192.0.2.1) accepts and reads, then vanishes",
    );
    ctx.note(
        "client",
        "host b (192.0.2.2): keepalive after 1 s idle, probes 1 s apart, 2 unanswered = dead (defaults 7200 s, 75 s, 9)",
    );
    let opts = [
        ("SO_KEEPALIVE", "1"),
        ("TCP_KEEPIDLE", "1"),
        ("TCP_KEEPINTVL", "1"),
        ("TCP_KEEPCNT", "2"),
    ];
    let (l, c) = connected(ctx, &net, "192.0.2.1:9011", &opts)?;
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    net.inside("b", || cs.sendto(c, b"hello", None))?;
    let a = net.inside("a", || {
        let (a, _) = ss.accept4(l)?;
        let mut buf = [0u8; 16];
        ss.recvfrom(a, &mut buf, false)?;
        Ok(a)
    })?;
    net.set("down")?;
    ctx.note(
        "link",
        "the link is down: host a is gone (nothing passes, either way); the connection is idle",
    );
    let (r, took, seen) = net.inside("b", || {
        let t0 = Instant::now();
        let say = |t: f64, i: &libc::tcp_info| {
            ctx.note(
                "client",
                &format!(
                    "+{t:.2} s: keepalive probe {} unanswered (TCP_INFO tcpi_probes)",
                    i.tcpi_probes
                ),
            )
        };
        Ok(recv_watched(ctx, c, t0, |i| u32::from(i.tcpi_probes), &say))
    })?;
    net.inside("b", || cs.close(c))?;
    net.inside("a", || {
        ss.close(a)?;
        ss.close(l)
    })?;
    let probes = seen.len();
    Ok(Verdict {
        pass: timed_out(&r) && (2.5..4.5).contains(&took) && probes == 2,
        observed: format!(
            "recv {} after {took:.1} s idle; {probes} probes went unanswered (tcpi_probes)",
            outcome(&r)
        ),
        why: "An idle TCP connection sends nothing: a peer that vanished (power, cable, a \
              crashed host that never sent RST) is not noticed, and a recv waits forever. \
              SO_KEEPALIVE makes the kernel probe after TCP_KEEPIDLE seconds of silence (a \
              segment with an old sequence number, which a live peer must ACK), every \
              TCP_KEEPINTVL seconds; after TCP_KEEPCNT unanswered probes the connection is \
              dead and the blocked recv fails with ETIMEDOUT (EHOSTUNREACH if an ICMP said \
              so), and TCP sends a RST in case the peer is still there. With the defaults \
              that is 2 h 11 min; here 1 + 1 x 2 = 3 s."
            .into(),
    })
}
