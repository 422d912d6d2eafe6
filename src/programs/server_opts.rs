//! What the stream server does, from the command line: its options and
//! `--model` (the server models are in `model/`, the connection they all
//! serve in `conn.rs`).

use std::fmt;
use std::str::FromStr;

use crate::socket::modes::{Setup, Wait};
use crate::values::error::{Error, Result};

/// What the stream server does, from the command line.
#[derive(Clone, Debug)]
pub struct ServerOpts {
    pub backlog: i32,
    pub bufsize: usize,
    pub reuseaddr: bool,
    pub once: bool,
    pub max_conns: Option<u64>,
    pub quiet: bool,
    pub naive: bool,
    pub naive_limit: u64,
    /// `--lines`: read through a buffer line by line (Python's makefile).
    pub lines: bool,
    /// `--sink`: read and discard, no reply.
    pub sink: bool,
    pub setup: Setup,
    /// `--model`: how the server handles many clients (`model/`).
    pub model: Model,
}

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
    Uring,
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
                "uring" => Ok(Model::Uring),
                "prefork" | "prethread" => {
                    Err(format!("'{s}' needs a pool size: {s}:N (e.g. {s}:4)"))
                }
                _ => Err(format!(
                    "'{s}' is not a model: iterative, fork, thread, prefork:N, prethread:N, poll, epoll or uring"
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
            Model::Uring => write!(f, "uring"),
        }
    }
}

/// clap's value parser for `--model`.
pub fn parse(s: &str) -> std::result::Result<Model, String> {
    s.parse()
}

/// The UDP server's `--model`: iterative, epoll or uring.
pub fn parse_dgram(s: &str) -> std::result::Result<Model, String> {
    match s {
        "iterative" => Ok(Model::Iterative),
        "epoll" => Ok(Model::Epoll),
        "uring" => Ok(Model::Uring),
        _ => Err(format!(
            "'{s}' is not a datagram server model: iterative, epoll or uring"
        )),
    }
}

/// What the datagram server's `--model uring` cannot honour, as a usage
/// error: a wait mode (the ring never blocks the socket) and
/// `--recv-flags` (the multishot RECVMSG takes none).
pub fn check_dgram(model: Model, wait: Wait, recv_flags: bool) -> Result<()> {
    if model != Model::Uring {
        return Ok(());
    }
    if wait != Wait::Blocking {
        return Err(Error::Usage(
            "--model uring: the ring waits, not the socket; drop --timeout/--nonblocking"
                .to_string(),
        ));
    }
    if recv_flags {
        return Err(Error::Usage(
            "--model uring: the multishot RECVMSG takes no --recv-flags; use --model iterative or epoll".to_string(),
        ));
    }
    Ok(())
}

/// Options a model cannot honour, as a usage error (before any syscall).
pub fn check(opts: &ServerOpts) -> Result<()> {
    let event_loop = matches!(opts.model, Model::Poll | Model::Epoll | Model::Uring);
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
    if opts.model == Model::Uring && opts.bufsize == 0 {
        return Err(Error::Usage(
            "--model uring: --bufsize 0 gives io_uring's provided buffers no room; use 1 or more"
                .to_string(),
        ));
    }
    Ok(())
}
