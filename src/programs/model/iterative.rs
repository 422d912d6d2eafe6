//! `--model iterative`, the tutorial's server: one connection at a time.
//!
//! 1. `listen(fd, backlog)` (the receive buffer allocated before it)
//! 2. `getsockname(fd)` → print `listening on ADDR`
//! 3. `accept4(fd)` → `conn::serve_conn` (steps 3 to 5 of `stream.rs`)
//! 4. back to 3 until `--once` or `--max-conns`; `close(fd)`

use crate::output::Output;
use crate::programs::conn::{accept_error_is_the_peers, serve_conn};
use crate::programs::server_opts::ServerOpts;
use crate::socket::buffer::buffer;
use crate::socket::modes;
use crate::sys::{Socket, Sys};
use crate::values::error::Result;

/// Serve on a bound socket, steps 1 to 6 of `stream.rs`.
pub fn serve(sys: &Sys, out: &Output, listener: Socket, opts: &ServerOpts) -> Result<()> {
    // One receive buffer for every connection (as the C twin), allocated
    // first: a --bufsize that cannot be allocated fails before listen.
    let mut buf = buffer(opts.bufsize, "--bufsize")?;
    sys.listen(listener, opts.backlog)?;
    let me = sys.getsockname(listener)?;
    out.listening(&me);
    modes::set_wait(sys, out, listener, opts.setup.wait)?;
    let mut served = 0u64;
    loop {
        let (conn, peer) = match modes::accept(sys, listener, opts.setup.wait) {
            Ok(accepted) => accepted,
            // accept(2): Linux passes a pending network error of the new
            // connection on as accept's error; the listener is fine: go on.
            Err(e) if e.errno().is_some_and(accept_error_is_the_peers) => {
                crate::output::report(&e);
                continue;
            }
            Err(e) => return Err(e),
        };
        serve_conn(sys, out, conn, &peer, opts, &mut buf)?;
        served += 1;
        if opts.once || opts.max_conns.is_some_and(|max| served >= max) {
            break;
        }
    }
    sys.close(listener)
}
