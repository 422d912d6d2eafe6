//! Calls out of the usual order, each a script (`scripts/NAME.script`):
//! connect twice, accept without listen, listen without bind, a socket
//! that connects to itself.

use nix::errno::Errno;

use super::framework::{Ctx, Lab, Verdict, run_script};
use crate::values::error::Result;

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "connect-twice",
            question: "What does a second connect() on the same TCP socket return, blocking and non-blocking?",
            source: "issue 14's script example (connect twice); connect(2) ERRORS: EISCONN, EINPROGRESS, EALREADY",
            expected: "blocking: 0, EISCONN; non-blocking: EINPROGRESS, EALREADY, then 0 once, then EISCONN",
            run: connect_twice,
        },
        Lab {
            name: "accept-without-listen",
            question: "What does accept() say on a socket that never called listen()?",
            source: "accept(2) ERRORS: EINVAL (socket is not listening), EOPNOTSUPP (not SOCK_STREAM)",
            expected: "EINVAL unbound and bound; a connection once it listens; EOPNOTSUPP for UDP",
            run: accept_without_listen,
        },
        Lab {
            name: "listen-without-bind",
            question: "listen() on a socket that was never bound: on which address does it listen?",
            source: "listen(2) NOTES / ip(7): an unbound socket gets an ephemeral port at listen",
            expected: "port 0 before listen, an ephemeral port on 0.0.0.0 after; a client reaches it",
            run: listen_without_bind,
        },
        Lab {
            name: "self-connect",
            question: "A TCP socket connects to its own address: what happens?",
            source: "RFC 793's simultaneous open (figure 8), with one socket as both ends",
            expected: "connect returns 0, the peer is itself, the bytes it sends come back",
            run: self_connect,
        },
    ]
}

fn connect_twice(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "connect-twice",
        include_str!("scripts/connect-twice.script"),
    )?;
    let connects = ran.calls("", "connect");
    let want = [
        Ok(0),
        Err(Errno::EISCONN),
        Err(Errno::EINPROGRESS),
        Err(Errno::EALREADY),
        Ok(0),
        Err(Errno::EISCONN),
    ];
    let got: Vec<_> = connects.iter().map(|s| s.ret).collect();
    let waited = ran.calls("", "poll").first().map_or(0.0, |s| s.ms());
    let blocking: Vec<String> = connects.iter().take(2).map(|s| s.result()).collect();
    let nonblocking: Vec<String> = connects.iter().skip(2).map(|s| s.result()).collect();
    Ok(Verdict {
        pass: ran.pass(got == want),
        observed: ran.observed(format!(
            "blocking: {}; non-blocking: {} (poll waited {waited:.0} ms for the handshake)",
            blocking.join(", "),
            nonblocking.join(", ")
        )),
        why: "A blocking connect returns once the three-way handshake is done; the socket is then \
              connected and any further connect fails with EISCONN. A non-blocking connect sends \
              the SYN and returns EINPROGRESS at once; while the handshake is under way, another \
              connect says EALREADY. Here the handshake is held on purpose: the listener (backlog \
              0) already holds one connection in its accept queue, so it drops the SYN until \
              accept makes room and the SYN is sent again (~1 s later, TCP's initial \
              retransmission timeout); on loopback it would otherwise complete inside the first \
              connect. Once it is done, the first connect to look reports success once (0, as \
              getsockopt(SO_ERROR) reports 0), and from then on EISCONN."
            .into(),
    })
}

fn accept_without_listen(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "accept-without-listen",
        include_str!("scripts/accept-without-listen.script"),
    )?;
    let accepts = ran.calls("", "accept");
    let pass = accepts.len() == 4
        && accepts.iter().take(2).all(|s| s.is(Errno::EINVAL))
        && accepts
            .get(2)
            .is_some_and(|s| s.ret.is_ok_and(|fd| fd >= 0))
        && accepts.get(3).is_some_and(|s| s.is(Errno::EOPNOTSUPP));
    Ok(Verdict {
        pass: ran.pass(pass),
        observed: ran.observed(format!(
            "accept: {} (unbound, bound, listening, UDP)",
            ran.results("", "accept")
        )),
        why: "accept takes a finished connection from a listening socket's accept queue. A socket \
              that never called listen has no queue, bound or not, and Linux answers EINVAL (the \
              socket is not in the LISTEN state); the same socket accepts once it listens. A UDP \
              socket has no connections at all: EOPNOTSUPP."
            .into(),
    })
}

fn listen_without_bind(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "listen-without-bind",
        include_str!("scripts/listen-without-bind.script"),
    )?;
    let names = ran.calls("", "getsockname");
    let port_of = |i: usize| names.get(i).and_then(|s| s.port());
    let (before, after, accepted) = (port_of(0), port_of(1), port_of(2));
    let any = names
        .get(1)
        .is_some_and(|s| s.text.contains("inet_addr(\"0.0.0.0\")"));
    let connected = ran
        .calls("", "connect")
        .first()
        .is_some_and(|s| s.returned(0));
    let show = |p: Option<u16>| p.map_or("?".to_string(), |p| p.to_string());
    Ok(Verdict {
        pass: ran.pass(
            before == Some(0)
                && after.is_some_and(|p| p != 0)
                && any
                && connected
                && accepted == after,
        ),
        observed: ran.observed(format!(
            "port {} before listen, {} on {} after; connect {}; the accepted socket's port {}",
            show(before),
            show(after),
            if any { "0.0.0.0" } else { "another address" },
            ran.results("", "connect"),
            show(accepted)
        )),
        why: "listen needs a local address; when the socket has none, the kernel binds it as \
              bind(0.0.0.0:0) would: an ephemeral port (net.ipv4.ip_local_port_range), on every \
              interface (INADDR_ANY) - so the server is reachable from other hosts, on a port \
              nobody told the clients. getsockname is the only way to learn it."
            .into(),
    })
}

fn self_connect(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(
        ctx,
        "self-connect",
        include_str!("scripts/self-connect.script"),
    )?;
    let own = ran.calls("", "getsockname").first().and_then(|s| s.port());
    let peer = ran.calls("", "getpeername").first().and_then(|s| s.port());
    let connected = ran
        .calls("", "connect")
        .first()
        .is_some_and(|s| s.returned(0));
    let back = ran
        .calls("", "recvfrom")
        .first()
        .map(|s| s.out.clone())
        .unwrap_or_default();
    let show = |p: Option<u16>| p.map_or("?".to_string(), |p| p.to_string());
    Ok(Verdict {
        pass: ran.pass(connected && own.is_some() && own == peer && back == b"echo?"),
        observed: ran.observed(format!(
            "connect {}; local port {}, peer port {}; sent \"echo?\", received {:?}",
            ran.results("", "connect"),
            show(own),
            show(peer),
            String::from_utf8_lossy(&back)
        )),
        why: "The SYN the socket sends arrives at its own address: a socket in SYN_SENT that \
              receives a SYN answers SYN-ACK (TCP's simultaneous open, RFC 793), and that reaches \
              itself too; both ends are one socket, ESTABLISHED, its peer its own address, and \
              what it sends lands in its own receive buffer. It can happen by accident: a client \
              that retries connect to a local port in the ephemeral range can be given that very \
              port and connect to itself."
            .into(),
    })
}
