//! How calls wait: connect_ex's codes, and blocking, non-blocking and
//! timeout modes of recv.

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::basics::joined;
use super::framework::{Ctx, Lab, Verdict, gettid, listener, loopback, pair, wait_blocked};
use crate::socket::modes::{self, Wait};
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![
        Lab {
            name: "connect-ex",
            question: "What does connect_ex return: when connected, refused, in progress, timed out?",
            source: "the socket object's connect_ex() (returns the error code instead of raising); UNP's nonblocking connect",
            expected: "0, ECONNREFUSED (111), EINPROGRESS (115), EAGAIN (11)",
            run: connect_ex,
        },
        Lab {
            name: "blocking-modes",
            question: "setblocking(True), setblocking(False), settimeout(t): what does recv do with nothing to read?",
            source: "the socket object's setblocking / settimeout / gettimeout",
            expected: "blocking waits for data; non-blocking EAGAIN at once; timeout after t",
            run: blocking_modes,
        },
    ]
}

fn code_name(code: i32) -> String {
    match code {
        0 => "0".to_string(),
        c => format!("{c} ({:?})", Errno::from_raw(c)),
    }
}

fn connect_ex(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let mut codes = Vec::new();
    let mut say = |what: &str, code: i32| {
        ctx.note(
            "client",
            &format!("connect_ex() = {} {what}", code_name(code)),
        );
        codes.push(code);
    };

    ctx.part("a listener: blocking connect_ex");
    let (l, addr) = listener(&ss, 5)?;
    let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    say(
        "connected",
        modes::connect_ex(&cs, c, &addr, Wait::Blocking)?,
    );
    cs.close(c)?;

    ctx.part("a port bound but not listening: nobody accepts");
    let b = ss.socket(AddressFamily::Inet, SockType::Stream)?;
    ss.bind(b, &loopback())?;
    let closed = ss.getsockname(b)?;
    let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    say(
        "the peer answered the SYN with RST",
        modes::connect_ex(&cs, c, &closed, Wait::Blocking)?,
    );
    cs.close(c)?;
    ss.close(b)?;

    ctx.part("setblocking(False): connect_ex returns at once");
    let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    cs.ioctl_fionbio(c, true)?;
    say(
        "the handshake goes on without us",
        modes::connect_ex(&cs, c, &addr, Wait::NonBlocking)?,
    );
    cs.close(c)?;
    ss.close(l)?;

    ctx.part("settimeout(0.2) against a listener whose accept queue is full (listen(fd, 0), one connection in it)");
    let (f, faddr) = listener(&ss, 0)?;
    let first = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    cs.ioctl_fionbio(first, true)?;
    let _ = modes::connect_ex(&cs, first, &faddr, Wait::NonBlocking)?;
    let up = cs.poll(first, PollFlags::POLLOUT, 1000)?;
    let queued = super::framework::settle(
        Duration::from_secs(1),
        || super::framework::accept_queue(ctx, f),
        |q| *q >= 1,
    );
    ctx.note(
        "server",
        &format!("accept queue {queued} of backlog 0: full, SYNs are dropped"),
    );
    let c = cs.socket(AddressFamily::Inet, SockType::Stream)?;
    cs.ioctl_fionbio(c, true)?;
    say(
        "the SYN went unanswered for 0.2 s",
        modes::connect_ex(&cs, c, &faddr, Wait::Timeout(Duration::from_millis(200)))?,
    );
    ctx.show_state("client", c);
    cs.close(c)?;
    cs.close(first)?;
    ss.close(f)?;

    let want = [
        0,
        Errno::ECONNREFUSED as i32,
        Errno::EINPROGRESS as i32,
        Errno::EAGAIN as i32,
    ];
    let shown: Vec<String> = codes.iter().map(|c| code_name(*c)).collect();
    Ok(Verdict {
        pass: codes == want && up.contains(PollFlags::POLLOUT),
        observed: shown.join(", "),
        why: "connect_ex is connect returning errno instead of raising. A listener completes the \
              handshake: 0. A port with no listener answers the SYN with RST: ECONNREFUSED. A \
              non-blocking socket returns before the handshake ends: EINPROGRESS. With a \
              timeout, Python polls for the end of the handshake; a listener with a full accept \
              queue drops the SYN, so poll times out and connect_ex returns EAGAIN (11)."
            .into(),
    })
}

fn blocking_modes(ctx: &Ctx) -> Result<Verdict> {
    let (cs, ss) = (ctx.sys("client"), ctx.sys("server"));
    let (l, c, conn) = pair(&cs, &ss)?;

    ctx.part("blocking (the default): recv waits for data");
    let (tid_tx, tid_rx) = sync_channel(1);
    let (done_tx, done_rx) = sync_channel(1);
    let (waited, blocked, quiet_300) = std::thread::scope(|sc| -> Result<_> {
        let reader = sc.spawn(|| -> Result<(usize, Duration)> {
            let _ = tid_tx.send(gettid(ctx));
            let start = Instant::now();
            let mut buf = [0u8; 64];
            let r = cs.recvfrom(c, &mut buf, false).map(|(n, _)| n);
            let _ = done_tx.send(());
            Ok((r?, start.elapsed()))
        });
        let tid = tid_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::Runtime("the client stopped".into()))?;
        let blocked = wait_blocked(ctx, tid, "recvfrom", Duration::from_secs(2));
        let quiet = done_rx.recv_timeout(Duration::from_millis(300)).is_err();
        ctx.note(
            "client",
            &format!(
                "thread {tid} is in {} (/proc/self/task/{tid}/syscall), {} after 300 ms",
                super::framework::syscall_of(ctx, tid).unwrap_or("?"),
                if quiet { "still waiting" } else { "returned" }
            ),
        );
        ss.sendto(conn, b"wake", None)?;
        let (n, waited) = joined(reader)?;
        Ok((waited, blocked && n == 4, quiet))
    })?;
    ctx.note(
        "client",
        &format!(
            "recv returned after {:.0} ms, when the data came",
            waited.as_secs_f64() * 1000.0
        ),
    );

    ctx.part("setblocking(False): recv returns at once");
    cs.ioctl_fionbio(c, true)?;
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let nb = cs.recvfrom(c, &mut buf, false);
    let nb_time = start.elapsed();
    let eagain = nb.as_ref().err().and_then(Error::errno) == Some(Errno::EAGAIN);
    ctx.note(
        "client",
        &format!(
            "EAGAIN after {:.3} ms: nothing to read, no waiting",
            nb_time.as_secs_f64() * 1000.0
        ),
    );

    ctx.part("settimeout(0.3): poll for at most 0.3 s, then socket.timeout");
    let start = Instant::now();
    let t = modes::recv(&cs, c, &mut buf, Wait::Timeout(Duration::from_millis(300)));
    let t_time = start.elapsed();
    let timed_out = matches!(t, Err(Error::Timeout { .. }));
    ctx.note(
        "client",
        &format!(
            "{} after {:.0} ms",
            if timed_out { "timed out" } else { "returned" },
            t_time.as_secs_f64() * 1000.0
        ),
    );
    cs.close(c)?;
    ss.close(conn)?;
    ss.close(l)?;
    let t_ok = timed_out && t_time >= Duration::from_millis(290) && t_time < Duration::from_secs(3);
    Ok(Verdict {
        pass: blocked && quiet_300 && eagain && t_ok,
        observed: format!(
            "blocking: waited {:.0} ms until data; non-blocking: {} in {:.3} ms; timeout 0.3: {} after {:.0} ms",
            waited.as_secs_f64() * 1000.0,
            super::framework::outcome(&nb),
            nb_time.as_secs_f64() * 1000.0,
            if timed_out { "timeout" } else { "no timeout" },
            t_time.as_secs_f64() * 1000.0
        ),
        why: "A blocking recv sleeps in the kernel until bytes (or EOF) arrive. \
              setblocking(False) is ioctl(FIONBIO): recv returns EAGAIN at once when the buffer \
              is empty. settimeout(t) also makes the socket non-blocking, and Python waits in \
              poll for at most t before each call; a poll that returns 0 becomes socket.timeout."
            .into(),
    })
}
