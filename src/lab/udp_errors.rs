//! UDP and ICMP errors: who hears of a port unreachable (UNP 8.9, 8.11).

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::framework::{Ctx, Lab, Verdict, loopback, outcome};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![Lab {
        name: "udp-refused",
        question: "A UDP datagram to a closed port: who hears of the ICMP port unreachable?",
        source: "UNP 8.9 (server not running) and 8.11 (connect with UDP: asynchronous errors)",
        expected: "connected socket: ECONNREFUSED; unconnected: never told",
        run: udp_refused,
    }]
}

fn udp_refused(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    ctx.part("a UDP port that was bound a moment ago and is now closed");
    let u = ss.socket(AddressFamily::Inet, SockType::Datagram)?;
    ss.bind(u, &loopback())?;
    let gone = ss.getsockname(u)?;
    ss.close(u)?;

    ctx.part("a connected UDP socket");
    let c = cs.socket(AddressFamily::Inet, SockType::Datagram)?;
    cs.connect(c, &gone)?;
    let sent1 = cs.sendto(c, b"ping", None)?;
    let ev = cs.poll(c, PollFlags::POLLIN, 1000)?;
    let mut buf = [0u8; 64];
    let r = cs.recvfrom(c, &mut buf, false);
    cs.close(c)?;
    let refused = r.as_ref().err().and_then(Error::errno) == Some(Errno::ECONNREFUSED);

    ctx.part("an unconnected UDP socket, the same datagram with sendto");
    let c = cs.socket(AddressFamily::Inet, SockType::Datagram)?;
    let sent2 = cs.sendto(c, b"ping", Some(&gone))?;
    let ev2 = cs.poll(c, PollFlags::POLLIN, 300)?;
    let sent3 = cs.sendto(c, b"ping", Some(&gone))?;
    cs.close(c)?;
    let silent = ev2.is_empty() && sent3 == 4;
    Ok(Verdict {
        pass: sent1 == 4 && ev.contains(PollFlags::POLLERR) && refused && sent2 == 4 && silent,
        observed: format!(
            "connected: send {sent1}, then recv {}; unconnected: sendto {sent2}, poll {}, sendto again {sent3}",
            outcome(&r),
            if ev2.is_empty() {
                "timed out (no error)"
            } else {
                "woke up"
            }
        ),
        why: "The send itself succeeds: UDP only hands the datagram to IP. The host answers \
              with an ICMP port unreachable. Linux reports it, as ECONNREFUSED on the next call, \
              only to a connected UDP socket, which has one peer the error can belong to; an \
              unconnected socket is not told (unless IP_RECVERR), so a client waiting in \
              recvfrom waits forever."
            .into(),
    })
}
