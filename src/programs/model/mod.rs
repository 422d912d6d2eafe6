//! Server models (UNP chapter 30): how a stream server handles many
//! clients. `iterative` (the tutorial's, in `stream.rs`) serves one at a
//! time; the others start after `listen` and `getsockname`:
//!
//! - `fork`: `accept4`, `clone` (fork) a child per connection that serves it
//!   (`stream::serve_conn`) and exits; the parent closes its copy of the
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
//!
//! `--max-conns N` counts connections across all workers: once N have been
//! accepted no more are, and the server exits when the last one is closed.

mod children;
mod event;
mod pause;
mod pthread;
mod workers;

use std::fmt;
use std::str::FromStr;

use crate::output::Output;
use crate::programs::stream::ServerOpts;
use crate::socket::modes::Wait;
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub use event::{raise_fd_limit, serve_dgram_epoll};

/// `--model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Model {
    #[default]
    Iterative,
    Fork,
    Thread,
    Prefork(u32),
    Prethread(u32),
    Poll,
    Epoll,
}

/// The largest pool `prefork:N` / `prethread:N` accepts.
pub const MAX_POOL: u32 = 1024;

impl FromStr for Model {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Model, String> {
        let pool = |kind: &str, n: &str| -> std::result::Result<u32, String> {
            match n.parse::<u32>() {
                Ok(n) if (1..=MAX_POOL).contains(&n) => Ok(n),
                _ => Err(format!(
                    "'{s}': {kind}:N needs N from 1 to {MAX_POOL} (e.g. {kind}:4)"
                )),
            }
        };
        match s.split_once(':') {
            Some(("prefork", n)) => pool("prefork", n).map(Model::Prefork),
            Some(("prethread", n)) => pool("prethread", n).map(Model::Prethread),
            _ => match s {
                "iterative" => Ok(Model::Iterative),
                "fork" => Ok(Model::Fork),
                "thread" => Ok(Model::Thread),
                "poll" => Ok(Model::Poll),
                "epoll" => Ok(Model::Epoll),
                "prefork" | "prethread" => {
                    Err(format!("'{s}' needs a pool size: {s}:N (e.g. {s}:4)"))
                }
                _ => Err(format!(
                    "'{s}' is not a model: iterative, fork, thread, prefork:N, prethread:N, poll or epoll"
                )),
            },
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Model::Iterative => write!(f, "iterative"),
            Model::Fork => write!(f, "fork"),
            Model::Thread => write!(f, "thread"),
            Model::Prefork(n) => write!(f, "prefork:{n}"),
            Model::Prethread(n) => write!(f, "prethread:{n}"),
            Model::Poll => write!(f, "poll"),
            Model::Epoll => write!(f, "epoll"),
        }
    }
}

/// clap's value parser for `--model`.
pub fn parse(s: &str) -> std::result::Result<Model, String> {
    s.parse()
}

/// The UDP server's `--model`: iterative or epoll.
pub fn parse_dgram(s: &str) -> std::result::Result<Model, String> {
    match s {
        "iterative" => Ok(Model::Iterative),
        "epoll" => Ok(Model::Epoll),
        _ => Err(format!(
            "'{s}' is not a datagram server model: iterative or epoll"
        )),
    }
}

/// Options a model cannot honour, as a usage error (before any syscall).
pub fn check(opts: &ServerOpts) -> Result<()> {
    let event_loop = matches!(opts.model, Model::Poll | Model::Epoll);
    if event_loop && opts.setup.wait != Wait::Blocking {
        return Err(Error::Usage(format!(
            "--model {}: the event loop's sockets are non-blocking already (accept4 SOCK_NONBLOCK); drop --timeout/--nonblocking",
            opts.model
        )));
    }
    if event_loop && (opts.lines || opts.naive) {
        return Err(Error::Usage(format!(
            "--model {}: --lines and --naive need a blocking model (iterative, fork, thread, prefork:N, prethread:N)",
            opts.model
        )));
    }
    Ok(())
}

/// Serve on a listening socket (after `listen` and `getsockname`, which
/// gave `me`): each model prints `listening on ME` once it is ready (the
/// event loops after their set-up, prefork after its forks, prethread
/// after its threads).
pub fn serve(
    sys: &Sys,
    out: &Output,
    listener: Socket,
    me: &Addr,
    opts: &ServerOpts,
) -> Result<()> {
    match opts.model {
        Model::Iterative => Err(Error::Runtime(
            "the iterative server is stream::serve".to_string(),
        )),
        Model::Fork => workers::fork(sys, out, listener, me, opts),
        Model::Thread => workers::thread(sys, out, listener, me, opts),
        Model::Prefork(n) => workers::prefork(sys, out, listener, me, opts, n),
        Model::Prethread(n) => workers::prethread(sys, out, listener, me, opts, n),
        Model::Poll => event::serve(sys, out, listener, me, opts, event::Kind::Poll),
        Model::Epoll => event::serve(sys, out, listener, me, opts, event::Kind::Epoll),
    }
}
