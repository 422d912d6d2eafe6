//! shutdown() and close() where a program does not expect them, each a
//! script (`scripts/NAME.script`): send after SHUT_WR, recv after SHUT_RD,
//! close and shutdown of a listener another thread waits on in accept.

use nix::errno::Errno;

use super::framework::{Ctx, Lab, Verdict, run_script};
use crate::values::error::Result;

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "send-after-shut-wr",
            question: "After shutdown(SHUT_WR), what does send() return?",
            source: "shutdown(2), send(2) ERRORS: EPIPE (the local end has been shut down; SIGPIPE unless MSG_NOSIGNAL)",
            expected: "EPIPE with MSG_NOSIGNAL and with SIGPIPE ignored; the peer reads EOF and can still answer",
            run: send_after_shut_wr,
        },
        Lab {
            name: "recv-after-shut-rd",
            question: "After shutdown(SHUT_RD), what does recv() return, and what becomes of new data from the peer?",
            source: "shutdown(2) SHUT_RD; RFC 1122 4.2.2.13 (data for a closed reader: RST)",
            expected: "queued bytes, then 0 at once; Linux still queues new data (no RST) until SHUT_WR too, then RST",
            run: recv_after_shut_rd,
        },
        Lab {
            name: "close-vs-blocked-accept",
            question: "Does close() from another thread wake a thread blocked in accept()? Does shutdown()?",
            source: "close(2) NOTES (closing a file descriptor while it is in use by another thread), shutdown(2)",
            expected: "close does not (accept later returns a connection); shutdown(SHUT_RD) does: EINVAL",
            run: close_vs_blocked_accept,
        },
    ]
}

fn send_after_shut_wr(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "send-after-shut-wr",
        include_str!("scripts/send-after-shut-wr.script"),
    )?;
    let sends = ran.calls("client", "sendto");
    // The second sendto's ignored SIGPIPE (strace -f's `--- SIGPIPE`)
    // is sys's note, printed by the runner after that call.
    let eof = ran
        .calls("server", "recvfrom")
        .first()
        .is_some_and(|s| s.returned(0));
    let reply = ran
        .calls("client", "recvfrom")
        .first()
        .map(|s| s.out.clone())
        .unwrap_or_default();
    Ok(Verdict {
        pass: ran.pass(sends.len() == 2 && sends.iter().all(|s| s.is(Errno::EPIPE)) && eof
            && reply == b"still open"),
        observed: ran.observed(format!(
            "client sendto after SHUT_WR: {} (with MSG_NOSIGNAL, then with flags 0 and SIGPIPE ignored); the server read {}, then its reply reached the client: {:?}",
            ran.results("client", "sendto"),
            if eof { "EOF (0)" } else { "no EOF" },
            String::from_utf8_lossy(&reply)
        )),
        why: "shutdown(SHUT_WR) sends a FIN: the peer's recv returns 0 (end of stream) and this \
              socket may not write again; send fails with EPIPE, and raises SIGPIPE unless \
              MSG_NOSIGNAL is given or the signal is ignored (socklab, as every Rust program, \
              starts with SIGPIPE ignored; lab sigpipe shows the default action killing a \
              process). Only the one direction is closed: the peer can still send, and this \
              socket still reads."
            .into(),
    })
}

fn recv_after_shut_rd(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "recv-after-shut-rd",
        include_str!("scripts/recv-after-shut-rd.script"),
    )?;
    let recvs = ran.calls("client", "recvfrom");
    let got = |i: usize| recvs.get(i).map(|s| s.out.clone()).unwrap_or_default();
    let at_once = recvs.get(1).map_or(0.0, |s| s.took.as_secs_f64() * 1e6);
    let queued = ran
        .calls("client", "ioctl")
        .first()
        .and_then(|s| s.int_out());
    let reset = recvs.get(3).is_some_and(|s| s.is(Errno::ECONNRESET));
    let server_sends = ran.calls("server", "sendto");
    let epipe = server_sends.last().is_some_and(|s| s.is(Errno::EPIPE));
    Ok(Verdict {
        pass: ran.pass(got(0) == b"before"
            && recvs.get(1).is_some_and(|s| s.returned(0))
            && queued == Some(5)
            && got(2) == b"after"
            && reset
            && epipe),
        observed: ran.observed(format!(
            "recv after SHUT_RD: {:?}, then 0 after {at_once:.1} µs; new data: FIONREAD {}, recv {:?} (no RST); after SHUT_WR too: recv {}, the peer's next send {}",
            String::from_utf8_lossy(&got(0)),
            queued.map_or("?".to_string(), |n| n.to_string()),
            String::from_utf8_lossy(&got(2)),
            recvs.get(3).map_or("?".to_string(), |s| s.result()),
            server_sends.last().map_or("?".to_string(), |s| s.result()),
        )),
        why: "On Linux, SHUT_RD only marks the socket's reading side shut: recv returns what is \
              already queued, then 0 at once instead of waiting. Nothing is sent to the peer and \
              TCP keeps accepting and acknowledging its data: it is queued (FIONREAD) and recv \
              returns it - no RST, whatever RFC 1122 suggests. The RST comes when the socket has \
              shut both ways (SHUT_WR too: FIN_WAIT2): data then arriving has no reader and no \
              future, the kernel resets the connection; this socket's recv reports ECONNRESET, \
              and the peer's next send EPIPE."
            .into(),
    })
}

fn close_vs_blocked_accept(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "close-vs-blocked-accept",
        include_str!("scripts/close-vs-blocked-accept.script"),
    )?;
    let accepts = ran.calls("server", "accept");
    let first = accepts.first();
    let second = accepts.get(1);
    let closed = ran
        .calls("other", "close")
        .first()
        .is_some_and(|s| s.returned(0));
    let shut = ran
        .calls("other", "shutdown")
        .first()
        .is_some_and(|s| s.returned(0));
    let connected = ran
        .calls("client", "connect")
        .first()
        .is_some_and(|s| s.returned(0));
    // The only client connects after the close: an accept that returns its
    // connection was still waiting on the closed listener.
    let survived = closed && connected && first.is_some_and(|s| s.ret.is_ok_and(|fd| fd >= 0));
    let woken = shut && second.is_some_and(|s| s.is(Errno::EINVAL));
    let show = |s: Option<&&super::framework::Step>| s.map_or("?".to_string(), |s| s.result());
    let freed = ran
        .calls("other", "close")
        .first()
        .and_then(|s| s.int_after("close("));
    let reused = ran
        .calls("client", "socket")
        .first()
        .and_then(|s| s.ret.ok());
    let same = match (freed, reused) {
        (Some(a), Some(b)) if a == b => {
            format!(" (its socket took fd {a}, the number close freed)")
        }
        _ => String::new(),
    };
    Ok(Verdict {
        pass: ran.pass(survived && woken),
        observed: ran.observed(format!(
            "after close(l) the accept still waited and returned {} for the client that connected next{same}; after shutdown(SHUT_RD): {} ({:.1} ms in accept)",
            show(first),
            show(second),
            second.map_or(0.0, |s| s.ms())
        )),
        why: "close() removes the descriptor from the table, but a call already in progress holds \
              its own reference to the socket: the listener stays open and listening, the blocked \
              accept keeps waiting, and a client that connects to the port is accepted - on a \
              socket the program thinks it closed. shutdown() acts on the socket itself: \
              SHUT_RD on a listener disconnects it and wakes every waiter; Linux's accept returns \
              EINVAL (the socket is no longer listening). So a thread stopping an accept loop \
              calls shutdown, then close."
            .into(),
    })
}
