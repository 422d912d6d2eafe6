//! How a connection ends: half-close, reset, and writing to a reset
//! connection (SIGPIPE, in a child process).

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::socket::Shutdown;

use super::framework::{Ctx, Lab, Verdict, outcome, pair, port, run_script, setopt, show};
use super::servers::proc_net_tcp;
use crate::sys::untraced::Ended;
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "half-close",
            question: "shutdown(SHUT_WR): does the peer see EOF, and can it still answer?",
            source: "UNP 6.6 (shutdown), the client that sends a request, then half-closes and reads the answer",
            expected: "peer reads data then EOF, its reply still arrives",
            run: half_close,
        },
        Lab {
            name: "rst",
            question: "SO_LINGER {on, 0} then close: what does the peer's recv get?",
            source: "UNP 7.5 (SO_LINGER with l_linger 0: an abortive close sends RST)",
            expected: "the peer's recv fails with ECONNRESET; no TIME_WAIT",
            run: rst,
        },
        Lab {
            name: "sigpipe",
            question: "Writing to a reset connection: EPIPE or death by SIGPIPE?",
            source: "UNP 5.13 (SIGPIPE signal), in two forked client processes (a script's process actors)",
            expected: "EPIPE with SIGPIPE ignored; killed by SIGPIPE with the default action",
            run: sigpipe,
        },
    ]
}

fn half_close(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (l, c, conn) = pair(&cs, &ss)?;
    cs.sendto(c, b"request", None)?;
    cs.shutdown(c, Shutdown::Write)?;
    let mut buf = [0u8; 64];
    let (n, _) = ss.recvfrom(conn, &mut buf, false)?;
    let request = buf[..n].to_vec();
    let (eof, _) = ss.recvfrom(conn, &mut buf, false)?;
    let server_state = ctx.show_state("server", conn);
    let client_state = ctx.show_state("client", c);
    let sent = ss.sendto(conn, b"REQUEST", None)?;
    ss.close(conn)?;
    let (n, _) = cs.recvfrom(c, &mut buf, false)?;
    let reply = buf[..n].to_vec();
    let (end, _) = cs.recvfrom(c, &mut buf, false)?;
    cs.close(c)?;
    ss.close(l)?;
    Ok(Verdict {
        pass: request == b"request"
            && eof == 0
            && sent == 7
            && reply == b"REQUEST"
            && end == 0
            && client_state.starts_with("FIN_WAIT")
            && server_state == "CLOSE_WAIT",
        observed: format!(
            "server read {} then EOF ({server_state}); client ({client_state}) still got {}",
            show(&request),
            show(&reply)
        ),
        why: "shutdown(SHUT_WR) sends a FIN but keeps the socket open for reading: the peer's \
              recv returns the data, then 0 (end of stream), and the peer, in CLOSE_WAIT, can \
              still send; the half-closed client, in FIN_WAIT1 or 2 (its FIN sent, \
              or sent and acknowledged), reads the answer until the \
              peer closes too. close() would have given up both directions."
            .into(),
    })
}

fn rst(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (l, c, conn) = pair(&cs, &ss)?;
    let local = cs.getsockname(c)?;
    let (cport, local) = (port(&local), local.to_string());
    let remote = cs.getpeername(c)?.to_string();
    setopt(&cs, c, "SO_LINGER", "on:0")?;
    cs.close(c)?;
    let mut buf = [0u8; 64];
    let r = ss.recvfrom(conn, &mut buf, false);
    let state = ctx.show_state("server", conn);
    // This connection's own entry (its 4-tuple): another socket may use the
    // same local port towards another peer.
    let tw = proc_net_tcp(ctx, cport)
        .iter()
        .any(|e| e.local == local && e.remote == remote);
    ctx.note(
        "lab",
        &format!(
            "/proc/net/tcp: {} for {local} -> {remote}",
            if tw {
                "the connection is still there"
            } else {
                "no entry left (no TIME_WAIT)"
            }
        ),
    );
    ss.close(conn)?;
    ss.close(l)?;
    let reset = r.as_ref().err().and_then(Error::errno) == Some(Errno::ECONNRESET);
    Ok(Verdict {
        pass: reset && !tw,
        observed: format!(
            "server recv: {}, state {state}, client port {}",
            outcome(&r),
            if tw { "still in use" } else { "free" }
        ),
        why: "With SO_LINGER {on, 0}, close does not send a FIN after the data: it discards \
              what is unsent and sends a RST. The peer's next recv fails with ECONNRESET, and \
              neither side goes through TIME_WAIT (an abortive close)."
            .into(),
    })
}

fn sigpipe(ctx: &Ctx) -> Result<Verdict> {
    let ran = run_script(ctx, "sigpipe", include_str!("scripts/sigpipe.script"))?;
    let epipe = ran
        .calls("ign", "sendto")
        .last()
        .is_some_and(|s| s.is(Errno::EPIPE));
    // ign's ignored SIGPIPE (strace -f's `--- SIGPIPE` after its EPIPE)
    // is sys's note, printed by the runner after that sendto.
    let (ign, dfl) = (ran.ended("ign"), ran.ended("dfl"));
    let ended = |e: Option<Ended>| match e {
        Some(Ended::Killed(s)) => format!(
            "killed by signal {s} ({})",
            crate::values::xlat::signal_name(s)
        ),
        Some(Ended::Exited(c)) => format!("exit {c}"),
        Some(Ended::Unknown(e)) => format!("unknown ({e:?})"),
        None => "?".into(),
    };
    Ok(Verdict {
        pass: ran.pass(
            epipe
                && ign == Some(Ended::Exited(0))
                && dfl == Some(Ended::Killed(Signal::SIGPIPE as i32)),
        ),
        observed: ran.observed(format!(
            "ignored: {} and {}; default: {}",
            if epipe {
                "send failed with EPIPE"
            } else {
                "no EPIPE"
            },
            ended(ign),
            ended(dfl)
        )),
        why: "After the peer reset the connection, the first send reports the pending error \
              (ECONNRESET) and the socket can no longer send: the next send fails with EPIPE and \
              the kernel also sends SIGPIPE to the writer. Its default action terminates the \
              process silently (the shell shows 141 = 128+13); a program that ignores SIGPIPE \
              (as Python and Rust do at start-up) gets EPIPE (BrokenPipeError) instead. Each \
              client is a process of its own (fork): a signal's action is the whole process's."
            .into(),
    })
}
