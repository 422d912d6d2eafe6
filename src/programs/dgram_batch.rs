//! `--batch N` of the datagram server (`udp server`, `unix server
//! --dgram`): the datagrams that are waiting, up to N, in one recvmmsg, and
//! their replies in one sendmmsg; at the end, how many syscalls each
//! datagram cost.
//!
//! After `modes::bound_socket` (socket, [setsockopt SO_REUSEADDR], bind):
//! 1. `getsockname(fd)` → print `listening on ADDR` (`--model epoll`:
//!    `epoll_create1`, `epoll_ctl(ADD)`)
//! 2. loop: [`epoll_wait`]; `recvmmsg(fd, [N entries], N,
//!    MSG_WAITFORONE|--recv-flags, NULL)`: waits for the first datagram
//!    only, takes the others that are queued (N: `--batch`, fewer to reach
//!    `--once`/`--max-conns`) → each printed as the one-by-one server
//!    prints it; upper-cased in place; `sendmmsg(fd, [the replies], K, 0)`
//!    (UNIX: `MSG_DONTWAIT`, as `dgram.rs` says why): each reply to the
//!    address its datagram came from. Fewer sent than asked: a line
//!    (`sendmmsg: S of K replies sent; sending the rest`) and a sendmmsg of
//!    the rest; one that fails (-1: the first of those asked) is that
//!    peer's failure, reported, its reply dropped, the rest sent.
//! 3. at `--once`/`--max-conns`: `batched: D datagrams, R recvmmsg + S
//!    sendmmsg [+ W epoll_wait] = C syscalls, X per datagram`
//! 4. [`close(epfd)`], `close(fd)`
//!
//! `--timeout`/`--nonblocking` are refused with `--batch` (the command line
//! says so): recvmmsg waits for its first datagram itself.

use crate::output::{Output, shown};
use crate::programs::dgram::{ServerOpts, say_truncated};
use crate::socket::buffer::buffer;
use crate::socket::modes;
use crate::sys::{Batch, Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// The syscalls of a batched run, for the summary line.
#[derive(Default)]
struct Counts {
    datagrams: u64,
    recvs: u64,
    sends: u64,
    waits: u64,
}

impl Counts {
    fn line(&self) -> String {
        let calls = self.recvs + self.sends + self.waits;
        let waits = if self.waits > 0 {
            format!(" + {} epoll_wait", self.waits)
        } else {
            String::new()
        };
        let per = calls as f64 / self.datagrams.max(1) as f64;
        format!(
            "batched: {} datagrams, {} recvmmsg + {} sendmmsg{waits} = {calls} syscalls, {per:.3} per datagram",
            self.datagrams, self.recvs, self.sends
        )
    }
}

/// Serve on a bound socket with batches of `n` (steps 1 to 4).
pub fn serve(sys: &Sys, out: &Output, s: Socket, opts: &ServerOpts, n: usize) -> Result<()> {
    // Allocated first, as the one-by-one server's buffer is.
    let bufs = buffer(n.saturating_mul(opts.bufsize).max(1), "--bufsize --batch")?;
    let mut batch = Batch::new(bufs, opts.bufsize, true);
    let me = sys.getsockname(s)?;
    out.listening(&me);
    modes::set_wait(sys, out, s, opts.setup.wait)?;
    let mut epoll = match opts.model {
        crate::programs::server_opts::Model::Epoll => {
            Some(crate::programs::model::serve_dgram_epoll(sys, s)?)
        }
        _ => None,
    };
    let send_flags = if me.is_unix() { libc::MSG_DONTWAIT } else { 0 };
    let recv_flags = libc::MSG_WAITFORONE | opts.setup.recv_flags;
    let mut c = Counts::default();
    loop {
        if let Some(ep) = &mut epoll {
            ep.wait(sys)?;
            c.waits += 1;
        }
        let left = opts
            .max_conns
            .map_or(u64::MAX, |max| max.saturating_sub(c.datagrams));
        let vlen = if opts.once {
            1
        } else {
            left.min(n as u64) as usize
        };
        let got = sys.recvmmsg(s, &mut batch, vlen, recv_flags)?;
        c.recvs += 1;
        for k in 0..got {
            echo(out, &mut batch, k, opts);
        }
        reply_all(sys, out, s, &mut batch, got, send_flags, opts.quiet, &mut c)?;
        c.datagrams += got as u64;
        if opts.once || opts.max_conns.is_some_and(|max| c.datagrams >= max) {
            break;
        }
    }
    out.say(&c.line());
    if let Some(ep) = epoll {
        ep.close(sys)?;
    }
    sys.close(s)
}

/// Datagram `k`: printed (not with `-q`), upper-cased, its reply's length set.
fn echo(out: &Output, batch: &mut Batch, k: usize, opts: &ServerOpts) {
    let real = batch.len(k);
    let from = batch.from(k).unwrap_or_else(Addr::unix_autobind);
    let buf = batch.buf_mut(k);
    let n = real.min(buf.len());
    let data = buf.get_mut(..n).unwrap_or_default();
    if !opts.quiet {
        let trunc = opts.setup.recv_flags & libc::MSG_TRUNC != 0;
        let empty = crate::output::zero_bytes_suffix(n, real, opts.bufsize, trunc);
        out.say_addr(
            "datagram from ",
            &from,
            &format!(": {}{empty}", shown(data)),
        );
        if real > n {
            say_truncated(out, &from, real, n);
        }
    }
    data.make_ascii_uppercase();
    batch.set_len(k, n);
}

/// sendmmsg of replies `0..got`, the rest again after a partial send; a
/// reply that fails alone is reported and skipped.
#[allow(clippy::too_many_arguments)]
fn reply_all(
    sys: &Sys,
    out: &Output,
    s: Socket,
    batch: &mut Batch,
    got: usize,
    flags: i32,
    quiet: bool,
    c: &mut Counts,
) -> Result<()> {
    let mut at = 0;
    while at < got {
        let asked = got - at;
        let sent = sys.sendmmsg(s, batch, at, asked, flags);
        c.sends += 1;
        match sent {
            Ok(k) if k >= asked => break,
            Ok(k) => {
                if !quiet {
                    out.say(&format!(
                        "sendmmsg: {k} of {asked} replies sent; sending the rest"
                    ));
                }
                at += k.max(1);
            }
            Err(e @ Error::Signal(_)) => return Err(e),
            Err(e) => {
                crate::output::report(&e);
                at += 1;
            }
        }
    }
    Ok(())
}

/// The options `--batch` refuses (a usage error, before any call): models
/// other than iterative and epoll, `--timeout` and `--nonblocking`.
pub fn check(opts: &ServerOpts) -> Result<()> {
    use crate::programs::server_opts::Model;
    if opts.batch.is_none() {
        return Ok(());
    }
    if !matches!(opts.model, Model::Iterative | Model::Epoll) {
        return Err(Error::Usage(format!(
            "--batch works with --model iterative or epoll, not {}",
            opts.model
        )));
    }
    if opts.setup.wait != modes::Wait::Blocking {
        return Err(Error::Usage(
            "--batch waits in recvmmsg (MSG_WAITFORONE): not with --timeout or --nonblocking"
                .to_string(),
        ));
    }
    Ok(())
}
