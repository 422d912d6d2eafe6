//! `socklab unix server` and `socklab unix client`: AF_UNIX stream or
//! datagram (`--dgram`) sockets on a path or an abstract `@NAME`.
//!
//! Server, for a pathname address:
//! 1. `newfstatat(path)`: nothing there → go on; not a socket → refuse;
//!    a socket → with `--unlink-stale`, `unlink(path)`; otherwise probe it:
//!    `socket` + `connect(path)`: ECONNREFUSED means no one answers (stale)
//!    → `close`, `unlink(path)`; connected → `close`, refuse (in use).
//! 2. `socket(AF_UNIX, type)`, [`setsockopt(SO_REUSEADDR)`], `bind(path)`.
//! 3. the stream (`stream.rs`) or datagram (`dgram.rs`) server.
//! 4. `unlink(path)` on every exit, after SIGINT, SIGTERM and SIGHUP too.
//!
//! Abstract addresses (`@NAME`) have no file: steps 1 and 4 do not happen.

use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType};

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::sys::{FileKind, Sys};
use crate::text::Messages;
use crate::{dgram, io, signals, stream};

/// Which server runs on the socket.
pub enum Server<'a> {
    Stream(&'a stream::ServerOpts),
    Dgram(&'a dgram::ServerOpts),
}

pub fn server(
    sys: &Sys,
    addr: &Addr,
    reuseaddr: bool,
    unlink_stale: bool,
    server: Server,
) -> Result<()> {
    let ty = match server {
        Server::Stream(_) => SockType::Stream,
        Server::Dgram(_) => SockType::Datagram,
    };
    let path = addr.unix_path();
    if let Some(path) = &path {
        clear_path(sys, addr, path, ty, unlink_stale)?;
        signals::catch_stop_signals()?;
    }
    let setup = match &server {
        Server::Stream(opts) => &opts.setup,
        Server::Dgram(opts) => &opts.setup,
    };
    let s = io::bound_socket(sys, addr, ty, reuseaddr, setup)?;
    let served = match server {
        Server::Stream(opts) => stream::serve(sys, s, opts),
        Server::Dgram(opts) => dgram::serve(sys, s, opts),
    };
    // The file is ours from bind on: remove it however serving ended.
    let removed = match &path {
        Some(path) => sys.unlink(path),
        None => Ok(()),
    };
    served.and(removed)
}

/// Step 1: make sure binding `path` removes nothing but a dead socket file.
fn clear_path(sys: &Sys, addr: &Addr, path: &Path, ty: SockType, unlink_stale: bool) -> Result<()> {
    match sys.newfstatat(path)? {
        None => Ok(()),
        Some(FileKind::Socket) if unlink_stale => sys.unlink(path),
        Some(FileKind::Socket) => {
            let probe = sys.socket(AddressFamily::Unix, ty)?;
            match sys.connect(probe, addr) {
                Err(e) if e.errno() == Some(Errno::ECONNREFUSED) => {
                    sys.close(probe)?;
                    sys.say(&format!(
                        "removing stale socket file {} (no one answers on it)",
                        path.display()
                    ));
                    sys.unlink(path)
                }
                Err(e) => Err(e),
                Ok(()) => {
                    sys.close(probe)?;
                    Err(Error::Runtime(format!(
                        "{} is in use: a server answers on it (stop it, or choose another path)",
                        path.display()
                    )))
                }
            }
        }
        Some(_) => Err(Error::Runtime(format!(
            "{} exists and is not a socket; refusing to remove it (choose another path)",
            path.display()
        ))),
    }
}

pub fn stream_client(
    sys: &Sys,
    addr: &Addr,
    messages: Messages,
    opts: &stream::ClientOpts,
) -> Result<()> {
    stream::client(sys, addr, messages, opts)
}

pub fn dgram_client(
    sys: &Sys,
    addr: &Addr,
    messages: Messages,
    opts: &dgram::ClientOpts,
) -> Result<()> {
    dgram::client(sys, addr, messages, opts)
}
