//! How bytes and sockets are delivered, each a script
//! (`scripts/NAME.script`): MSG_PEEK and MSG_WAITALL, a connected socket
//! passed over a socketpair (SCM_RIGHTS), the write-write-read stall of
//! Nagle's algorithm and delayed ACKs.

use nix::errno::Errno;

use super::framework::{Ctx, Lab, Step, Verdict, run_script};
use crate::values::error::Result;

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "peek-waitall",
            question: "MSG_PEEK and MSG_WAITALL: does a peek take the bytes? Does WAITALL wait for all of them?",
            source: "recv(2) MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT",
            expected: "peeks leave the bytes (FIONREAD 11, the next recv gets all 11); WAITALL returns 8 of 8",
            run: peek_waitall,
        },
        Lab {
            name: "socketpair-rights",
            question: "Can a thread hand a connected TCP socket to another over a socketpair, and the other serve on it?",
            source: "unix(7) SCM_RIGHTS, socketpair(2), UNP 15.7 (passing descriptors)",
            expected: "the receiver gets a new fd for the same connection and answers the client on it",
            run: socketpair_rights,
        },
        Lab {
            name: "nagle-stall",
            question: "write, write, read: why does each round take ~40 ms on loopback, and not with TCP_NODELAY?",
            source: "RFC 896 (Nagle's algorithm), RFC 1122 4.2.3.2 (delayed ACK), tcp(7) TCP_NODELAY",
            expected: "rounds 2 and 3 many times slower with Nagle than with TCP_NODELAY or one write",
            run: nagle_stall,
        },
    ]
}

fn text(s: Option<&&Step>) -> String {
    s.map_or("?".to_string(), |s| {
        format!("{}={:?}", s.result(), String::from_utf8_lossy(&s.out))
    })
}

fn peek_waitall(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "peek-waitall",
        include_str!("scripts/peek-waitall.script"),
    )?;
    let r = ran.calls("server", "recvfrom");
    let bytes = |i: usize| r.get(i).map(|s| s.out.clone()).unwrap_or_default();
    let queued = ran
        .calls("server", "ioctl")
        .first()
        .and_then(|s| s.int_out());
    let waitall = r.get(4);
    let pass = bytes(0) == b"hello world"
        && bytes(1) == b"hello"
        && queued == Some(11)
        && bytes(2) == b"hello world"
        && r.get(3).is_some_and(|s| s.is(Errno::EAGAIN))
        && waitall.is_some_and(|s| s.returned(8))
        && bytes(4) == b"abcdefgh"
        && bytes(5) == b"xy";
    Ok(Verdict {
        pass: ran.pass(pass),
        observed: ran.observed(format!(
            "MSG_PEEK {} and {}, FIONREAD {}, then recv {}; MSG_DONTWAIT {}; MSG_WAITALL(8) with 3 bytes queued: {} after {:.1} ms; plain recv(8): {}",
            text(r.first()),
            text(r.get(1)),
            queued.map_or("?".to_string(), |n| n.to_string()),
            text(r.get(2)),
            r.get(3).map_or("?".to_string(), |s| s.result()),
            text(waitall),
            waitall.map_or(0.0, |s| s.ms()),
            text(r.get(5))
        )),
        why: "MSG_PEEK copies from the receive queue without removing: the bytes stay (FIONREAD \
              still counts them) and the next recv returns them again. A plain recv returns as \
              soon as any byte is there, up to the length asked; MSG_WAITALL makes a blocking \
              TCP recv wait until the whole length has arrived (or EOF, an error, a signal): \
              here it returned the 3 queued bytes and the 5 the client sent while it waited, in \
              one call. MSG_DONTWAIT makes one call non-blocking: EAGAIN on an empty queue."
            .into(),
    })
}

fn socketpair_rights(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "socketpair-rights",
        include_str!("scripts/socketpair-rights.script"),
    )?;
    let sent = ran
        .calls("server", "sendmsg")
        .first()
        .is_some_and(|s| s.returned(2));
    let received = ran.calls("worker", "recvmsg");
    let passed = received.first().and_then(|s| s.int_after("cmsg_data=["));
    let heard = ran.calls("worker", "recvfrom");
    let reply = ran.calls("client", "recvfrom");
    let client_port = ran
        .calls("client", "getsockname")
        .first()
        .and_then(|s| s.port());
    let peer_port = ran
        .calls("worker", "getpeername")
        .first()
        .and_then(|s| s.port());
    let bytes = |v: &[&Step]| v.first().map(|s| s.out.clone()).unwrap_or_default();
    let show = |p: Option<u16>| p.map_or("?".to_string(), |p| p.to_string());
    Ok(Verdict {
        pass: ran.pass(sent
            && received.first().is_some_and(|s| s.returned(2))
            && bytes(&heard) == b"hi"
            && bytes(&reply) == b"HI"
            && client_port.is_some()
            && client_port == peer_port),
        observed: ran.observed(format!(
            "sendmsg(SCM_RIGHTS) {}, recvmsg {} with fd {}; the worker read {:?} on it, the client got {:?}; client port {}, the worker's peer port {}",
            ran.results("server", "sendmsg"),
            ran.results("worker", "recvmsg"),
            passed.map_or("?".to_string(), |n| n.to_string()),
            String::from_utf8_lossy(&bytes(&heard)),
            String::from_utf8_lossy(&bytes(&reply)),
            show(client_port),
            show(peer_port)
        )),
        why: "A UNIX-domain socket carries descriptors as ancillary data (SCM_RIGHTS): \
              recvmsg installs a new fd in the receiver's table that refers to the same open \
              socket, as dup does. The sender may close its own fd at once: the connection lives \
              in the message until it is received. The receiver serves the client on it; the \
              client sees nothing of the hand-over (its port is the worker's peer). Here both \
              actors are threads of one process, sharing one fd table, so the new fd takes the \
              lowest free number (often the one the server's close just freed); between \
              processes (a pre-forked server handing connections to workers) it works the same \
              way."
            .into(),
    })
}

/// Each round of the script: the two sends, the server's WAITALL recv, its
/// reply and the client's recv; its time is the sum of the five calls
/// (from entry to return each: the runner's own time between lines is
/// left out).
fn rounds(steps: &[&Step]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut sum = 0.0;
    for s in steps {
        sum += s.ms();
        if s.actor == "client" && s.call == "recvfrom" {
            out.push(sum);
            sum = 0.0;
        }
    }
    out
}

fn nagle_stall(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "nagle-stall",
        include_str!("scripts/nagle-stall.script"),
    )?;
    let exchange: Vec<&Step> = ran
        .steps
        .iter()
        .filter(|s| s.call == "sendto" || s.call == "recvfrom")
        .collect();
    // Three connections of three rounds each: Nagle, TCP_NODELAY, one write.
    let all = rounds(&exchange);
    let part = |i: usize| all.get(i * 3..i * 3 + 3).unwrap_or(&[]).to_vec();
    let (a, b, c) = (part(0), part(1), part(2));
    let late = |v: &[f64]| v.iter().skip(1).sum::<f64>();
    let ratio = late(&a) / late(&b).max(0.001);
    let one_write = late(&a) / late(&c).max(0.001);
    let all_ok = exchange.iter().all(|s| s.ret.is_ok());
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Verdict {
        pass: ran.pass(all_ok && all.len() == 9 && ratio >= 10.0 && one_write >= 10.0),
        observed: ran.observed(format!(
            "rounds with Nagle {} ms, with TCP_NODELAY {} ms, Nagle with one write {} ms: rounds 2-3 {ratio:.0}x slower with Nagle than with TCP_NODELAY, {one_write:.0}x than with one write",
            fmt(&a),
            fmt(&b),
            fmt(&c)
        )),
        why: "Nagle's algorithm holds a small segment while an earlier one is unacknowledged: \
              the client's second write (\"cd\") waits for the ACK of \"ab\". The server \
              delays that ACK (up to ~40 ms on Linux), hoping to send it with its reply - but it \
              replies only after reading all 4 bytes. Each waits for the other until the \
              delayed-ACK timer fires. Round 1 does not stall: a new connection acknowledges at \
              once (quick-ack mode). TCP_NODELAY sends \"cd\" at once; writing the request in \
              one call avoids the stall as well, with Nagle on: nothing is left to hold back."
            .into(),
    })
}
