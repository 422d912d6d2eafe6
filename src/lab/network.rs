//! Labs on the lab network (`socklab net`, src/net/): two hosts and a
//! link socklab drives, for what loopback cannot show: a SYN nobody
//! answers, a neighbour that does not exist, a datagram simply lost, the
//! round trip Nagle waits for. Each lab brings its network up (root
//! needed) and takes it down; each side's thread enters its host.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType};

use super::basics::joined;
use super::framework::{Ctx, Lab, LabNet, Verdict, net_addr, outcome, setopt, untraced};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "syn-timeout",
            question: "connect to a host whose packets vanish: how long until it gives up, and what is sent meanwhile?",
            source: "TCP/IP Illustrated vol. 1, 13.6 (connection establishment timeout); tcp(7) tcp_syn_retries",
            expected: "ETIMEDOUT after 1 s + 2 s + 4 s, 3 SYNs swallowed (tcp_syn_retries=2)",
            run: syn_timeout,
        },
        Lab {
            name: "host-unreachable",
            question: "connect to an address on the link that no host has: what does connect return?",
            source: "UNP 4.3 (connect: EHOSTUNREACH when no one answers ARP); TCP/IP Illustrated vol. 1, 4.5",
            expected: "EHOSTUNREACH once ARP gets no answer",
            run: host_unreachable,
        },
        Lab {
            name: "udp-loss",
            question: "1000 datagrams over a link that loses 5%: how many arrive, and who is told of the rest?",
            source: "UNP 8.13 (lack of flow control with UDP); TCP/IP Illustrated vol. 1, 10",
            expected: "about 950 arrive; every sendto succeeded; nobody is told",
            run: udp_loss,
        },
        Lab {
            name: "nagle-rtt",
            question: "write, write, read over a 20 ms round trip: how long does each exchange take with Nagle, and with TCP_NODELAY?",
            source: "UNP 7.9 (TCP_NODELAY); RFC 896; TCP/IP Illustrated vol. 1, 15.4",
            expected: "Nagle: the second write waits for an ACK (over 1.5 x the TCP_NODELAY time); TCP_NODELAY: 1 RTT",
            run: nagle_rtt,
        },
    ]
}

fn syn_timeout(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(
        ctx,
        "blackhole",
        &[
            "net.ipv4.tcp_syn_retries=2",
            "net.ipv4.tcp_syn_linear_timeouts=0",
        ],
    )?;
    ctx.note(
        "client",
        "host b (192.0.2.2); the link is a blackhole: IP packets vanish, ARP passes",
    );
    ctx.note(
        "client",
        "both hosts: net.ipv4.tcp_syn_retries=2 (the default 6 takes 127 s), \
         tcp_syn_linear_timeouts=0 (else this kernel resends the first 4 SYNs 1 s apart)",
    );
    let cs = ctx.sys("client");
    let (r, took) = net.inside("b", || {
        let s = cs.socket(AddressFamily::Inet, SockType::Stream)?;
        let t = Instant::now();
        let r = cs.connect(s, &net_addr("192.0.2.1:80")?);
        let took = t.elapsed();
        cs.close(s)?;
        Ok((r, took))
    })?;
    let swallowed = net.dropped("b>a", "blackhole")?;
    let timedout = r.as_ref().err().and_then(Error::errno) == Some(Errno::ETIMEDOUT);
    ctx.note(
        "link",
        &format!("the link dropped {swallowed} SYN(s) from b"),
    );
    Ok(Verdict {
        pass: timedout && (6.0..9.0).contains(&took.as_secs_f64()) && swallowed == 3,
        observed: format!(
            "connect {} after {:.1} s; {swallowed} SYNs swallowed",
            outcome(&r),
            took.as_secs_f64()
        ),
        why: "connect sends a SYN and waits for the SYN-ACK. None comes back, so TCP sends the \
              SYN again after its initial RTO (1 s), doubling the wait each time, \
              tcp_syn_retries times; after the last wait it gives up and connect fails with \
              ETIMEDOUT. Nothing refused the connection (no RST, no ICMP): silence is all there \
              is, and with the default 6 retries it lasts 127 s."
            .into(),
    })
}

fn host_unreachable(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(
        ctx,
        "",
        &[
            "net.ipv4.neigh.eth0.retrans_time_ms=200",
            "net.ipv4.neigh.eth0.mcast_solicit=3",
        ],
    )?;
    ctx.note(
        "client",
        "host b (192.0.2.2); nobody on the link has 192.0.2.3",
    );
    ctx.note(
        "client",
        "both hosts: ARP asks 3 times, 200 ms apart (default 1 s)",
    );
    let cs = ctx.sys("client");
    let (r, took) = net.inside("b", || {
        let s = cs.socket(AddressFamily::Inet, SockType::Stream)?;
        let t = Instant::now();
        let r = cs.connect(s, &net_addr("192.0.2.3:80")?);
        let took = t.elapsed();
        cs.close(s)?;
        Ok((r, took))
    })?;
    let unreachable = r.as_ref().err().and_then(Error::errno) == Some(Errno::EHOSTUNREACH);
    Ok(Verdict {
        pass: unreachable,
        observed: format!("connect {} after {:.1} s", outcome(&r), took.as_secs_f64()),
        why: "192.0.2.3 is on b's subnet, so b does not route it: it asks on the link who has \
              it (ARP, neighbour discovery for IPv6). The SYN waits in the neighbour table; \
              when no answer comes after mcast_solicit probes, the neighbour entry fails and \
              the kernel reports EHOSTUNREACH to the waiting connect, an error from our own \
              host, not from the network."
            .into(),
    })
}

const DATAGRAMS: usize = 1000;

fn udp_loss(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(ctx, "loss=5%,seed=1", &[])?;
    ctx.note(
        "server",
        "host a (192.0.2.1): a UDP socket reads what comes",
    );
    ctx.note(
        "client",
        "host b (192.0.2.2): 1000 sendto of 100 bytes (their 1000 lines not shown)",
    );
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let quiet = untraced();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let read = AtomicUsize::new(0);
    let (received, sent_ok) = std::thread::scope(|sc| -> Result<(usize, usize)> {
        let server = sc.spawn(|| {
            net.inside("a", || {
                let s = ss.socket(AddressFamily::Inet, SockType::Datagram)?;
                ss.bind(s, &net_addr("192.0.2.1:9000")?)?;
                let _ = tx.send(());
                let mut buf = [0u8; 200];
                let mut n = 0;
                // Until 500 ms pass with nothing: the sender is done.
                while !quiet.poll(s, nix::poll::PollFlags::POLLIN, 500)?.is_empty() {
                    quiet.recvfrom(s, &mut buf, false)?;
                    n += 1;
                    read.store(n, Ordering::Relaxed);
                }
                ss.close(s)?;
                Ok(n)
            })
        });
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::Runtime("the server side stopped before binding".into()))?;
        let sent_ok = net.inside("b", || {
            let s = cs.socket(AddressFamily::Inet, SockType::Datagram)?;
            let to = net_addr("192.0.2.1:9000")?;
            let mut ok = 0;
            for i in 0..DATAGRAMS {
                ok += usize::from(quiet.sendto(s, &[b'x'; 100], Some(&to))? == 100);
                // Paced by the reader: at most 100 datagrams ahead of it
                // (the link loses 42 in all), so no queue but the link's
                // loses any, however slow a loaded machine makes the
                // reader (waits at most 1 s per 50).
                if i % 50 == 49 {
                    let until = Instant::now() + Duration::from_secs(1);
                    while read.load(Ordering::Relaxed) + 100 < i + 1 && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            cs.close(s)?;
            Ok(ok)
        })?;
        Ok((joined(server)?, sent_ok))
    })?;
    let lost = net.dropped("b>a", "loss 5%")? as usize;
    ctx.note(
        "link",
        &format!("the link dropped {lost} (loss 5%, seed 1)"),
    );
    ctx.note("server", &format!("received {received} datagrams"));
    Ok(Verdict {
        pass: sent_ok == DATAGRAMS
            && received + lost == DATAGRAMS
            && (920..=980).contains(&received),
        observed: format!(
            "{sent_ok} of {DATAGRAMS} sendto succeeded, {received} arrived, {lost} lost on the link, no error anywhere"
        ),
        why: "sendto returns once the datagram is handed to IP: UDP has no acknowledgement, so \
              the sender never learns that 5% vanished on the way, and the receiver only sees \
              fewer datagrams (it cannot tell which without its own sequence numbers). \
              Everything a reliable exchange needs over UDP (numbering, timeouts, \
              retransmission) is the application's job."
            .into(),
    })
}

const EXCHANGES: usize = 5;

/// EXCHANGES of write(2 bytes), write(2 bytes), read(4): the mean time.
fn exchanges(ctx: &Ctx, net: &LabNet, nodelay: bool) -> Result<Duration> {
    // A port of its own each time: the first server's close leaves its
    // end in TIME_WAIT.
    let addr = if nodelay {
        "192.0.2.1:9002"
    } else {
        "192.0.2.1:9001"
    };
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|sc| -> Result<Duration> {
        let server = sc.spawn(|| {
            net.inside("a", || {
                let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
                ss.bind(l, &net_addr(addr)?)?;
                ss.listen(l, 1)?;
                let _ = tx.send(());
                let (c, _) = ss.accept4(l)?;
                let mut buf = [0u8; 4];
                loop {
                    let mut got = 0;
                    while got < 4 {
                        // A write's 2 bytes per read, whether the second
                        // write came yet or not: the same calls each run
                        // (the record replays), the wait shows as a split.
                        let upto = (got + 2).min(4);
                        match ss.recvfrom(c, &mut buf[got..upto], false)?.0 {
                            0 => break,
                            n => got += n,
                        }
                    }
                    if got < 4 {
                        break;
                    }
                    ss.sendto(c, b"done", None)?;
                }
                ss.close(c)?;
                ss.close(l)
            })
        });
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::Runtime("the server side stopped before listening".into()))?;
        let took = net.inside("b", || {
            let s = cs.socket(AddressFamily::Inet, SockType::Stream)?;
            if nodelay {
                setopt(&cs, s, "TCP_NODELAY", "1")?;
            }
            cs.connect(s, &net_addr(addr)?)?;
            let mut buf = [0u8; 4];
            let t = Instant::now();
            for _ in 0..EXCHANGES {
                cs.sendto(s, b"ab", None)?;
                cs.sendto(s, b"cd", None)?;
                let mut got = 0;
                while got < 4 {
                    match cs.recvfrom(s, &mut buf[got..], false)?.0 {
                        0 => return Err(Error::Runtime("the server closed early".into())),
                        n => got += n,
                    }
                }
            }
            let took = t.elapsed() / EXCHANGES as u32;
            cs.close(s)?;
            Ok(took)
        })?;
        joined(server)?;
        Ok(took)
    })
}

fn nagle_rtt(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(ctx, "delay=10ms", &[])?;
    ctx.note(
        "client",
        "host b writes 2 bytes, 2 bytes, then reads; host a answers 4 bytes",
    );
    ctx.note("link", "10 ms each way: a round trip of 20 ms");
    ctx.part("Nagle on (the default)");
    let nagle = exchanges(ctx, &net, false)?;
    ctx.part("TCP_NODELAY");
    let nodelay = exchanges(ctx, &net, true)?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(Verdict {
        pass: ms(nodelay) >= 19.0 && ms(nagle) > 1.5 * ms(nodelay) && ms(nagle) > 30.0,
        observed: format!(
            "{:.0} ms per exchange with Nagle, {:.0} ms with TCP_NODELAY (RTT 20 ms)",
            ms(nagle),
            ms(nodelay)
        ),
        why: "Nagle's algorithm holds a small segment while an earlier one is unacknowledged. \
              The first 2 bytes leave at once; the next 2 wait for its ACK, and the server, \
              which answers only when it has all 4 bytes, delays that ACK (delayed ACK, tens \
              of ms). So each exchange costs a round trip plus the ACK delay, or more. With \
              TCP_NODELAY both writes leave at once and an exchange is one round trip. \
              On loopback the round trip is microseconds and the stall hides; here it is 20 ms."
            .into(),
    })
}
