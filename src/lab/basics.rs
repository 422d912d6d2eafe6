//! The tutorial's first experiments: the phone call, the communication
//! loop, the empty message, the peer that leaves.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, Shutdown, SockType};

use super::framework::{
    Ctx, Lab, Verdict, dial, gettid, listener, loopback, show, upper, wait_blocked,
};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "phone-call",
            question: "One connection, one message: does the answer come back upper-cased?",
            source: "tutorial step 1, the \"low version\" phone call (server: socket, bind, listen(5), accept, recv, send, close)",
            expected: "the message back upper-cased",
            run: phone_call,
        },
        Lab {
            name: "comm-loop",
            question: "With a communication loop on both sides, can several messages share one connection?",
            source: "tutorial step 2, the communication loop (while True: send/recv)",
            expected: "3 replies over 1 connection, then EOF",
            run: comm_loop,
        },
        Lab {
            name: "empty-send",
            question: "The TCP client sends an empty message: why do both sides hang?",
            source: "tutorial step 3 (\"the client sends empty, it gets stuck: show where\"), and step 6's empty UDP datagram",
            expected: "send()=0, no segment, both blocked in recvfrom; UDP: a 0-byte datagram arrives",
            run: empty_send,
        },
        Lab {
            name: "peer-close",
            question: "The client leaves: what does the server's recv return, and what does a server without the check do?",
            source: "tutorial step 4 (if len(msg) == 0: break)",
            expected: "recv returns 0 at once, forever (naive spins); the fixed server goes back to accept",
            run: peer_close,
        },
    ]
}

/// Wait for the server's address (it sends it once it listens).
pub fn recv_addr(rx: &Receiver<Addr>) -> Result<Addr> {
    rx.recv_timeout(Duration::from_secs(5))
        .map_err(|_| Error::Runtime("the server side stopped before listening".into()))
}

/// Join a side's thread (a panic aborts the process: panic = "abort").
pub fn joined<T>(h: ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(Error::Runtime("a lab thread failed".into())))
}

fn phone_call(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (tx, rx) = sync_channel(1);
    let msg = b"linhaifeng nb";
    std::thread::scope(|sc| {
        let server = sc.spawn(|| -> Result<Vec<u8>> {
            let (l, addr) = listener(&ss, 5)?;
            let _ = tx.send(addr);
            let (conn, _) = ss.accept4(l)?;
            let mut buf = [0u8; 1024];
            let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
            ss.sendto(conn, &upper(&buf[..n]), None)?;
            ss.close(conn)?;
            ss.close(l)?;
            Ok(buf[..n].to_vec())
        });
        let addr = recv_addr(&rx)?;
        let c = dial(&cs, &addr)?;
        cs.sendto(c, msg, None)?;
        let mut buf = [0u8; 1024];
        let (n, _) = cs.recvfrom(c, &mut buf, false)?;
        cs.close(c)?;
        let heard = joined(server)?;
        let reply = &buf[..n];
        Ok(Verdict {
            pass: heard == msg && reply == upper(msg).as_slice(),
            observed: format!(
                "the server heard {}, the client got {}",
                show(&heard),
                show(reply)
            ),
            why: "socket/bind/listen/accept on one side and socket/connect on the other make one \
                  connection; recv returns what the peer's send put in the receive buffer, and the \
                  server answers it upper-cased before both hang up."
                .into(),
        })
    })
}

fn comm_loop(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (tx, rx) = sync_channel(1);
    let messages: [&[u8]; 3] = [b"hello", b"how are you", b"bye"];
    std::thread::scope(|sc| {
        let server = sc.spawn(|| -> Result<(usize, usize)> {
            let (l, addr) = listener(&ss, 5)?;
            let _ = tx.send(addr);
            let (conn, _) = ss.accept4(l)?;
            let mut served = 0;
            let mut buf = [0u8; 1024];
            loop {
                let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
                if n == 0 {
                    break;
                }
                ss.sendto(conn, &upper(&buf[..n]), None)?;
                served += 1;
            }
            ss.close(conn)?;
            ss.close(l)?;
            Ok((1, served))
        });
        let addr = recv_addr(&rx)?;
        let c = dial(&cs, &addr)?;
        let mut good = 0;
        for m in messages {
            cs.sendto(c, m, None)?;
            let reply = read_exactly(&cs, c, m.len())?;
            if reply == upper(m) {
                good += 1;
            }
        }
        cs.close(c)?;
        let (conns, served) = joined(server)?;
        Ok(Verdict {
            pass: good == messages.len() && served == messages.len() && conns == 1,
            observed: format!(
                "{good} replies over {conns} connection, then EOF ({served} messages served)"
            ),
            why: "Both sides loop over send/recv on the same connected socket; the server leaves \
                  its loop when recv returns 0 (the client closed)."
                .into(),
        })
    })
}

/// `n` bytes from a stream, fewer if the peer closes first.
pub fn read_exactly(sys: &crate::sys::Sys, s: crate::sys::Socket, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let got = crate::socket::exactly::recv_exactly(sys, s, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

fn empty_send(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss, lab) = (ctx.sys("client"), ctx.sys("server"), ctx.sys("lab"));
    let (tx, rx) = sync_channel(1);
    let (conn_tx, conn_rx) = sync_channel(1);
    let (sent_tx, sent_rx) = sync_channel(1);
    let (done_tx, done_rx) = sync_channel(1);
    ctx.part("TCP: the client sends b''");
    let tcp = std::thread::scope(|sc| -> Result<(bool, String)> {
        let server = sc.spawn(|| -> Result<()> {
            let (l, addr) = listener(&ss, 5)?;
            let _ = tx.send(addr);
            let (conn, _) = ss.accept4(l)?;
            let _ = conn_tx.send((conn, gettid(ctx)));
            let mut buf = [0u8; 1024];
            let r = ss.recvfrom(conn, &mut buf, false).map(|(n, _)| n);
            let _ = done_tx.send(());
            ss.close(conn)?;
            ss.close(l)?;
            r.map(drop)
        });
        let addr = recv_addr(&rx)?;
        let cs = &cs;
        let client = sc.spawn(move || -> Result<()> {
            let c = dial(cs, &addr)?;
            let before = ctx.quiet().tcp_info(c)?;
            let n = cs.sendto(c, b"", None)?;
            let after = ctx.quiet().tcp_info(c)?;
            let _ = sent_tx.send((c, gettid(ctx), n, before.tcpi_segs_out, after.tcpi_segs_out));
            let mut buf = [0u8; 1024];
            let r = cs.recvfrom(c, &mut buf, false);
            cs.close(c)?;
            r.map(drop)
        });
        let stopped = |e: &str| Error::Runtime(format!("the {e} side stopped early"));
        let (conn, server_tid) = conn_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| stopped("server"))?;
        let (c, client_tid, n, segs_before, segs_after) = sent_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| stopped("client"))?;
        ctx.note(
            "client",
            &format!(
                "TCP_INFO segs_out {segs_before} before the send, {segs_after} after: nothing went on the wire"
            ),
        );
        let server_blocked = wait_blocked(ctx, server_tid, "recvfrom", Duration::from_secs(2));
        let still = done_rx.recv_timeout(Duration::from_millis(300)).is_err();
        let inq = lab.ioctl_queue(conn, libc::FIONREAD, "FIONREAD")?;
        ctx.note(
            "server",
            &format!(
                "thread {server_tid} is in {} (/proc/self/task/{server_tid}/syscall); {} 300 ms after the empty send; {inq} bytes to read",
                super::framework::syscall_of(ctx, server_tid).unwrap_or("?"),
                if still { "not returned" } else { "returned" }
            ),
        );
        let client_blocked = wait_blocked(ctx, client_tid, "recvfrom", Duration::from_secs(2));
        ctx.note(
            "client",
            &format!(
                "thread {client_tid} is in {}: waiting for the reply to a message the server never got",
                super::framework::syscall_of(ctx, client_tid).unwrap_or("?")
            ),
        );
        ctx.note(
            "lab",
            "both sides wait for each other; the lab shuts the client's socket down to end it",
        );
        lab.shutdown(c, Shutdown::Both)?;
        super::basics::joined(client)?;
        joined(server)?;
        let ok = n == 0
            && segs_after == segs_before
            && server_blocked
            && still
            && inq == 0
            && client_blocked;
        Ok((
            ok,
            format!(
                "TCP send()={n}, {} segment(s) sent, server {} and client {} in recvfrom",
                segs_after - segs_before,
                if server_blocked && still {
                    "blocked"
                } else {
                    "NOT blocked"
                },
                if client_blocked {
                    "blocked"
                } else {
                    "NOT blocked"
                }
            ),
        ))
    })?;

    ctx.part("UDP: the client sends b''");
    let u = ss.socket(AddressFamily::Inet, SockType::Datagram)?;
    ss.bind(u, &loopback())?;
    let addr = ss.getsockname(u)?;
    let c = cs.socket(AddressFamily::Inet, SockType::Datagram)?;
    let sent = cs.sendto(c, b"", Some(&addr))?;
    let ready = ss.poll(u, PollFlags::POLLIN, 1000)?;
    let mut buf = [0u8; 1024];
    let got = if ready.contains(PollFlags::POLLIN) {
        Some(ss.recvfrom(u, &mut buf, true)?.0)
    } else {
        None
    };
    cs.close(c)?;
    ss.close(u)?;
    let udp_ok = sent == 0 && got == Some(0);
    let udp = match got {
        Some(n) => format!("UDP sendto()={sent}, recvfrom()={n}: a datagram arrived"),
        None => format!("UDP sendto()={sent}, nothing arrived in 1 s"),
    };
    Ok(Verdict {
        pass: tcp.0 && udp_ok,
        observed: format!("{}; {udp}", tcp.1),
        why: "TCP is a byte stream: sending 0 bytes adds nothing to it, so no segment leaves and \
              the server's recv keeps waiting for bytes (its receive buffer is empty), while the \
              client waits in recv for an answer: both hang. UDP sends datagrams: an empty one is \
              still a datagram, with a header, and recvfrom returns it with length 0."
            .into(),
    })
}

/// How many empty returns the naive server is allowed before the lab stops it.
const SPIN_CAP: usize = 10_000;
/// How many of them are shown on the timeline.
const SPIN_SHOWN: usize = 3;

fn peer_close(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (tx, rx) = sync_channel(1);
    let (tid_tx, tid_rx) = sync_channel(1);
    std::thread::scope(|sc| {
        let server = sc.spawn(|| -> Result<(usize, Duration, bool, Vec<u8>)> {
            let (l, addr) = listener(&ss, 5)?;
            let _ = tx.send(addr);
            let _ = tid_tx.send(gettid(ctx));
            let (conn, _) = ss.accept4(l)?;
            let mut buf = [0u8; 1024];
            let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
            ss.sendto(conn, &upper(&buf[..n]), None)?;
            ctx.note("server", "naive loop (no len check): recv, send(upper), again");
            let start = Instant::now();
            let mut empty = 0;
            let mut all_zero = true;
            for i in 0..SPIN_CAP {
                let sys = if i < SPIN_SHOWN { &ss } else { ctx.quiet() };
                let (n, _) = sys.recvfrom(conn, &mut buf, false)?;
                sys.sendto(conn, &upper(&buf[..n]), None)?;
                all_zero &= n == 0;
                empty += usize::from(n == 0);
            }
            let spent = start.elapsed();
            ctx.note(
                "server",
                &format!(
                    "... {} more recvfrom/sendto pairs not shown: {empty} of {SPIN_CAP} recv returned 0 in {:.1} ms ({:.0} per second); the lab stops the spin here",
                    SPIN_CAP - SPIN_SHOWN,
                    spent.as_secs_f64() * 1000.0,
                    empty as f64 / spent.as_secs_f64().max(1e-9)
                ),
            );
            ctx.note("server", "fixed loop: if len(msg) == 0: break; close; back to accept");
            let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
            let fixed_break = n == 0;
            ss.close(conn)?;
            let (conn, _) = ss.accept4(l)?;
            let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
            ss.sendto(conn, &upper(&buf[..n]), None)?;
            let second = buf[..n].to_vec();
            let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
            if n == 0 {
                ss.close(conn)?;
            }
            ss.close(l)?;
            Ok((empty, spent, fixed_break && all_zero, second))
        });
        let addr = recv_addr(&rx)?;
        let server_tid = tid_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::Runtime("server stopped".into()))?;
        let c = dial(&cs, &addr)?;
        cs.sendto(c, b"hi", None)?;
        read_exactly(&cs, c, 2)?;
        cs.close(c)?;
        // The second client connects once the server waits in accept4 again.
        let back = wait_blocked(ctx, server_tid, "accept4", Duration::from_secs(5));
        ctx.note(
            "client",
            &format!(
                "server thread is {}in accept4 (/proc/self/task/{server_tid}/syscall): a second client calls",
                if back { "" } else { "NOT " }
            ),
        );
        let c = dial(&cs, &addr)?;
        cs.sendto(c, b"again", None)?;
        let reply = read_exactly(&cs, c, 5)?;
        cs.close(c)?;
        let (empty, spent, zeros, second) = joined(server)?;
        Ok(Verdict {
            pass: empty == SPIN_CAP && zeros && back && second == b"again" && reply == b"AGAIN",
            observed: format!(
                "naive: {empty}/{SPIN_CAP} recv returned 0 in {:.0} ms; fixed: back in accept4, served the next client ({})",
                spent.as_secs_f64() * 1000.0,
                show(&reply)
            ),
            why: "When the peer closes, its FIN marks the end of the stream: recv no longer waits \
                  and returns 0 (b'') every time it is called. A loop that does not test for it \
                  spins at full speed; with `if len(msg) == 0: break` the server closes the \
                  connection and accepts the next one."
                .into(),
        })
    })
}
