//! Labs on the lab network about how much the path takes: `pmtu` (a
//! link with a smaller MTU: the router's ICMP lowers the path MTU and
//! the MSS; a datagram too big for it is refused) and `slow-start` (the
//! congestion window doubling each round trip). Sizes and windows are
//! read with getsockopt: IP_MTU and TCP_MAXSEG traced; TCP_INFO
//! untraced (strace prints its struct as bytes) and noted.

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType};

use super::basics::joined;
use super::dead_peer::steps;
use super::framework::{Ctx, Lab, LabNet, Verdict, getopt, net_addr, outcome, setopt};
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "pmtu",
            question: "a link in the path takes at most 1280 bytes: what happens to a full-sized TCP segment, and to a big datagram with DF set?",
            source: "TCP/IP Illustrated vol. 1, 13.2.1 and 10.7-10.8 (path MTU discovery); RFC 1191; ip(7) IP_MTU_DISCOVER, IP_MTU",
            expected: "IP_MTU 1500 -> 1280 and TCP_MAXSEG 1448 -> 1228 after the ICMP; all 4000 bytes arrive; a 1400-byte UDP send with IP_PMTUDISC_DO gets EMSGSIZE",
            run: pmtu,
        },
        Lab {
            name: "slow-start",
            question: "a new connection on a 50 ms round trip: how fast may the sender send?",
            source: "TCP/IP Illustrated vol. 1, 16.4 (slow start); RFC 5681; RFC 6928 (initial window 10)",
            expected: "tcpi_snd_cwnd 10, 20, 40, 80, 160: doubling each round trip",
            run: slow_start,
        },
    ]
}

/// Read exactly `n` bytes from `s` (untraced: the lab notes the count).
fn read_all(sys: &Sys, s: Socket, n: usize) -> Result<usize> {
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    while got < n {
        let want = (n - got).min(buf.len());
        match sys
            .recvfrom(s, buf.get_mut(..want).unwrap_or_default(), false)?
            .0
        {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

const PMTU_BYTES: usize = 4000;

fn pmtu(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(ctx, "mtu=1280", &[])?;
    ctx.note(
        "link",
        "mtu=1280: a bigger packet is dropped, and the link's router (192.0.2.254) sends back ICMP fragmentation needed, mtu 1280",
    );
    ctx.note(
        "client",
        "host b (192.0.2.2): eth0's MTU is 1500; sends 4000 bytes to host a, then UDP datagrams with IP_MTU_DISCOVER=IP_PMTUDISC_DO (2)",
    );
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let l = net.inside("a", || {
        let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
        ss.bind(l, &net_addr("192.0.2.1:9020")?)?;
        ss.listen(l, 1)?;
        Ok(l)
    })?;
    let (c, before) = net.inside("b", || {
        let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
        cs.connect(c, &net_addr("192.0.2.1:9020")?)?;
        let before = (getopt(&cs, c, "IP_MTU")?, getopt(&cs, c, "TCP_MAXSEG")?);
        cs.sendto(c, &[b'x'; PMTU_BYTES], None)?;
        Ok((c, before))
    })?;
    let (a, got) = net.inside("a", || {
        let (a, _) = ss.accept4(l)?;
        // One read, shown: once it returned, every byte came across at
        // the lower MSS, so the record replays with the same IP_MTU.
        let mut buf = vec![0u8; PMTU_BYTES];
        let got = ss.recvfrom_raw(a, &mut buf, libc::MSG_WAITALL, false)?.0;
        ss.sendto(a, b"k", None)?;
        Ok((a, got))
    })?;
    // The client reads IP_MTU once the server's one-byte answer came: a
    // replay or twin (which goes on while the server's recvfrom sleeps)
    // then reads it after the ICMP too, never before.
    let after = net.inside("b", || {
        cs.recvfrom(c, &mut [0u8; 1], false)?;
        let after = (getopt(&cs, c, "IP_MTU")?, getopt(&cs, c, "TCP_MAXSEG")?);
        cs.close(c)?;
        Ok(after)
    })?;
    // The client closes first and the server closes only once its FIN
    // came (recvfrom = 0): the client's side keeps the TIME_WAIT, so a's
    // port is free again at once (a replay binds it). Closing before the
    // FIN arrived over the link's delay would be a simultaneous close,
    // with a TIME_WAIT on a's port too.
    net.inside("a", || {
        let mut byte = [0u8; 1];
        ss.recvfrom_raw(a, &mut byte, 0, false)?;
        ss.close(a)?;
        ss.close(l)
    })?;
    let (big, fits, arrived) = udp_df(ctx, &net)?;
    let too_big = net.dropped("b>a", "mtu 1280")?;
    ctx.note(
        "link",
        &format!(
            "the link dropped {too_big} packet(s) from b as too big, an ICMP sent back for each"
        ),
    );
    let emsgsize = big.as_ref().err().and_then(Error::errno) == Some(Errno::EMSGSIZE);
    Ok(Verdict {
        pass: before.0 == 1500
            && after.0 == 1280
            && after.1 < before.1
            && after.1 <= 1280 - 40
            && got == PMTU_BYTES
            && too_big >= 1
            && emsgsize
            && fits.is_ok()
            && arrived == 1200,
        observed: format!(
            "IP_MTU {} -> {}, TCP_MAXSEG {} -> {}, {got} of {PMTU_BYTES} bytes arrived, {too_big} dropped as too big; \
             UDP 1400 bytes: {}, 1200 bytes: {}",
            before.0,
            after.0,
            before.1,
            after.1,
            outcome(&big),
            outcome(&fits)
        ) + &format!(" ({arrived} bytes arrived)"),
        why: "TCP sets DF on every segment (path MTU discovery, the Linux default) and starts \
              with the MSS its own interface allows (1500 - 40 - 12 bytes of timestamps = \
              1448). The 1280-byte link cannot forward a 1500-byte packet without \
              fragmenting it, DF forbids that, so its router drops it and answers ICMP \
              fragmentation needed with its MTU. The sender's kernel records 1280 for that \
              destination (IP_MTU), lowers the MSS to 1228 and resends: the application \
              sees nothing but a delay. The recorded path MTU belongs to the route: a UDP \
              socket with IP_PMTUDISC_DO (DF, never fragment locally) asking to send more \
              than 1280 - 28 bytes is refused at once with EMSGSIZE; 1200 fit."
            .into(),
    })
}

/// Host a binds UDP 192.0.2.1:9021; host b sends 1400 bytes, then 1200,
/// with IP_PMTUDISC_DO. The two sends' results, and what a received.
fn udp_df(ctx: &Ctx, net: &LabNet) -> Result<(Result<usize>, Result<usize>, usize)> {
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let to = net_addr("192.0.2.1:9021")?;
    let u = net.inside("a", || {
        let u = ss.socket(AddressFamily::Inet, SockType::Datagram)?;
        ss.bind(u, &to)?;
        Ok(u)
    })?;
    let (big, fits) = net.inside("b", || {
        let d = cs.socket(AddressFamily::Inet, SockType::Datagram)?;
        setopt(&cs, d, "IP_MTU_DISCOVER", "2")?;
        cs.connect(d, &to)?;
        let big = cs.sendto(d, &[b'u'; 1400], None);
        let fits = cs.sendto(d, &[b'u'; 1200], None);
        cs.close(d)?;
        Ok((big, fits))
    })?;
    let arrived = net.inside("a", || {
        let mut buf = [0u8; 2048];
        // Bounded: a lost datagram must not hang the lab.
        let n = if ctx
            .quiet()
            .poll(u, nix::poll::PollFlags::POLLIN, 2000)?
            .is_empty()
        {
            0
        } else {
            ss.recvfrom(u, &mut buf, false)?.0
        };
        ss.close(u)?;
        Ok(n)
    })?;
    Ok((big, fits, arrived))
}

const ROUNDS: usize = 4;

/// One round per element: the cwnd (in segments) before it, as TCP_INFO
/// gave it. Each round sends cwnd x MSS bytes and waits for the server's
/// 1-byte answer, sent when it has them all (so every ACK is in).
fn rounds(ctx: &Ctx, net: &LabNet) -> Result<Vec<u32>> {
    let (ss, cs) = (ctx.sys("server"), ctx.sys("client"));
    let (tx, rx) = sync_channel::<usize>(1);
    let l = net.inside("a", || {
        let l = ss.socket(AddressFamily::Inet, SockType::Stream)?;
        ss.bind(l, &net_addr("192.0.2.1:9030")?)?;
        ss.listen(l, 1)?;
        Ok(l)
    })?;
    std::thread::scope(|sc| -> Result<Vec<u32>> {
        let server = sc.spawn(move || {
            net.inside("a", || {
                let (a, _) = ss.accept4(l)?;
                let mut total = 0;
                // Each round's size from the client; its bytes, then 1 byte.
                while let Ok(n) = rx.recv_timeout(Duration::from_secs(5)) {
                    total += read_all(ctx.quiet(), a, n)?;
                    ss.sendto(a, b"k", None)?;
                }
                ss.close(a)?;
                ss.close(l)?;
                Ok(total)
            })
        });
        let cwnds = net.inside("b", || {
            let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
            // The send buffer must hold a whole round, or the round leaves
            // in pieces and the window is not used up (it grows only then).
            setopt(&cs, c, "SO_SNDBUF", "1048576")?;
            cs.connect(c, &net_addr("192.0.2.1:9030")?)?;
            let mut cwnds = Vec::new();
            let mut buf = [0u8; 1];
            for round in 1..=ROUNDS {
                let i = ctx.quiet().tcp_info(c)?;
                let n = i.tcpi_snd_cwnd as usize * i.tcpi_snd_mss as usize;
                ctx.note(
                    "client",
                    &format!(
                        "round {round}: TCP_INFO tcpi_snd_cwnd={} (x tcpi_snd_mss={}): send {n} bytes",
                        i.tcpi_snd_cwnd, i.tcpi_snd_mss
                    ),
                );
                cwnds.push(i.tcpi_snd_cwnd);
                tx.send(n)
                    .map_err(|_| Error::Runtime("the server side stopped".into()))?;
                cs.sendto(c, &vec![b'x'; n], None)?;
                cs.recvfrom(c, &mut buf, false)?;
            }
            cwnds.push(ctx.quiet().tcp_info(c)?.tcpi_snd_cwnd);
            cs.close(c)?;
            Ok(cwnds)
        });
        drop(tx);
        let total = joined(server)?;
        ctx.note(
            "server",
            &format!("read {total} bytes (recv calls not shown)"),
        );
        cwnds
    })
}

fn slow_start(ctx: &Ctx) -> Result<Verdict> {
    let net = LabNet::up_for(
        ctx,
        "delay=25ms",
        &[
            "net.ipv4.tcp_congestion_control=reno",
            "net.ipv4.tcp_rmem=4096 1048576 33554432",
        ],
    )?;
    ctx.note("link", "25 ms each way: a round trip of 50 ms");
    ctx.note(
        "client",
        "both hosts: net.ipv4.tcp_congestion_control=reno (the book's; cubic starts the same but may leave slow start early, BBR paces instead); \
         tcp_rmem 1 MB to start with (default 128 kB), so a's receive window is never the limit",
    );
    ctx.note(
        "client",
        "host b sends to host a in rounds: as many full segments as the window allows, then waits for a's 1-byte answer; \
         SO_SNDBUF 1 MB (the kernel caps it at 2 x net.core.wmem_max) so a round is never held back by the send buffer",
    );
    let cwnds = rounds(ctx, &net)?;
    let as_f: Vec<f64> = cwnds.iter().map(|&c| f64::from(c)).collect();
    let ratios = steps(&as_f, |a, b| b / a);
    let shown: Vec<String> = cwnds.iter().map(u32::to_string).collect();
    Ok(Verdict {
        pass: cwnds.len() == ROUNDS + 1
            && cwnds.first() == Some(&10)
            && ratios.iter().all(|r| (1.6..2.4).contains(r)),
        observed: format!("tcpi_snd_cwnd {} after each round trip", shown.join(", ")),
        why: "A new connection does not know the path's capacity, so TCP starts with a \
              congestion window of 10 segments (RFC 6928) and, in slow start, adds one \
              segment for each segment acknowledged: a full window sent and acknowledged \
              doubles it, once per round trip. Growth is exponential until a loss or \
              ssthresh (here neither comes: the link is fast and loses nothing), so a short \
              transfer is bound by round trips, not bandwidth: 150 segments take 4 round \
              trips (200 ms here), whatever the link's speed. The window grows only while it \
              is used up: a sender held back by its send buffer or by the application stays \
              at the window it had."
            .into(),
    })
}
