//! Server models (UNP chapter 30): how a stream server handles many
//! clients. `iterative` (the tutorial's, `iterative.rs`) serves one at a
//! time; the others start after `listen` and `getsockname`:
//!
//! - `fork`: `accept4`, `clone` (fork) a child per connection that serves it
//!   (`conn::serve_conn`) and exits; the parent closes its copy of the
//!   connection and reaps ended children with `wait4(WNOHANG)` before each
//!   `accept4` (`workers.rs`).
//! - `thread`: `accept4`, a thread per connection running `serve_conn`.
//! - `prefork:N` / `prethread:N`: N processes / threads made up front, each
//!   calling `accept4` on the shared listening socket, then `serve_conn`;
//!   a prefork worker ends with its parent (`PR_SET_PDEATHSIG`).
//! - thread, prethread, prefork out of fds (`accept4`: EMFILE): reported,
//!   accepting pauses until a connection closes (`pause.rs`), as the event
//!   loops take their listener out of the poll set.
//! - `poll` / `epoll`: one thread, non-blocking sockets, an event loop
//!   (`event.rs`).
//! - `uring`: one thread, an io_uring loop (`uring.rs`, `uring_conn.rs`;
//!   the datagram server's in `uring_dgram.rs`).
//!
//! `--max-conns N` counts connections across all workers: once N have been
//! accepted no more are, and the server exits when the last one is closed.

mod children;
mod event;
mod iterative;
mod pause;
mod poller;
mod ring_loop;
mod uring;
mod uring_conn;
mod uring_dgram;
mod workers;

use crate::output::Output;
use crate::programs::server_opts::{Model, ServerOpts};
use crate::sys::{Socket, Sys};
use crate::values::error::Result;

pub use event::serve_dgram_epoll;
pub use uring_dgram::{DgramUring, serve_dgram_uring};

/// Serve on a bound socket with the model `--model` names. The iterative
/// server listens itself (after allocating its buffer); the others
/// start after `listen` and `getsockname` (which gives `me`), and each
/// prints `listening on ME` once it is ready (the event loops after their
/// set-up, prefork after its forks, prethread after its threads).
pub fn serve(sys: &Sys, out: &Output, listener: Socket, opts: &ServerOpts) -> Result<()> {
    if opts.model == Model::Iterative {
        return iterative::serve(sys, out, listener, opts);
    }
    sys.listen(listener, opts.backlog)?;
    let me = &sys.getsockname(listener)?;
    match opts.model {
        Model::Iterative => Ok(()), // served above
        Model::Fork => workers::fork(sys, out, listener, me, opts),
        Model::Thread => workers::thread(sys, out, listener, me, opts),
        Model::Prefork(n) => workers::prefork(sys, out, listener, me, opts, n),
        Model::Prethread(n) => workers::prethread(sys, out, listener, me, opts, n),
        Model::Poll => event::serve(sys, out, listener, me, opts, poller::Kind::Poll),
        Model::Epoll => event::serve(sys, out, listener, me, opts, poller::Kind::Epoll),
        Model::Uring => uring::serve(sys, out, listener, me, opts),
    }
}
