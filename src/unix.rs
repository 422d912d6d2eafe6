//! `socklab unix server` and `socklab unix client`: AF_UNIX stream or
//! datagram (`--dgram`) sockets on a path or an abstract `@NAME`.
//!
//! Server, for a pathname address:
//! 0. each directory on the path: `newfstatat(dir)`; a symbolic link →
//!    refuse (unless `--follow-symlinks`)
//! 1. `newfstatat(path)`: nothing there → go on; not a socket → refuse;
//!    a socket → with `--unlink-stale`, `unlink(path)`; otherwise probe it:
//!    `socket` + `connect(path)`: ECONNREFUSED means no one answers (stale)
//!    → `close`, `unlink(path)`; connected → `close`, refuse (in use).
//! 2. `umask(0777 & ~MODE)` with `--mode` (else `umask(0)` → OLD,
//!    `umask(OLD)`: the mask, read), `socket(AF_UNIX, type)`,
//!    [`setsockopt(SO_REUSEADDR)`], `bind(path)`, `umask(OLD)`; after
//!    `listening on PATH`, print `socket file mode MODE (...)`.
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

/// What the server may do to its socket file's path (issue #8).
#[derive(Clone, Debug, Default)]
pub struct FileOpts {
    /// `--unlink-stale`: remove a socket file there without probing it.
    pub unlink_stale: bool,
    /// `--mode OCTAL`: the file's permission bits (None: 0777 less umask).
    pub mode: Option<u32>,
    /// `--follow-symlinks`: allow symbolic links among the directories.
    pub follow_symlinks: bool,
}

pub fn server(
    sys: &Sys,
    addr: &Addr,
    reuseaddr: bool,
    file: &FileOpts,
    server: Server,
) -> Result<()> {
    let ty = match server {
        Server::Stream(_) => SockType::Stream,
        Server::Dgram(_) => SockType::Datagram,
    };
    let path = addr.unix_path();
    if path.is_none() && file.mode.is_some() {
        return Err(Error::Usage(format!(
            "--mode is for a socket file; {addr} has none (an abstract or unnamed address)"
        )));
    }
    if let Some(path) = &path {
        if !file.follow_symlinks {
            refuse_linked_directories(sys, path)?;
        }
        clear_path(sys, addr, path, ty, file.unlink_stale)?;
        signals::catch_stop_signals()?;
    }
    let setup = match &server {
        Server::Stream(opts) => &opts.setup,
        Server::Dgram(opts) => &opts.setup,
    };
    let (s, mode_line) = match &path {
        None => (io::bound_socket(sys, addr, ty, reuseaddr, setup)?, None),
        Some(_) => {
            let (s, line) = bind_with_mode(sys, addr, ty, reuseaddr, setup, file.mode)?;
            (s, Some(line))
        }
    };
    let with_mode;
    let sys = match mode_line {
        Some(line) => {
            with_mode = sys.with_after_listening(line);
            &with_mode
        }
        None => sys,
    };
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

/// Step 0: each directory on the path (`/tmp`, then `/tmp/dir`, as written)
/// by `newfstatat(AT_SYMLINK_NOFOLLOW)`: a symbolic link is refused, as it
/// could put the socket elsewhere than the path says (unless
/// `--follow-symlinks`). A directory that is not there ends the check
/// (bind will say ENOENT).
fn refuse_linked_directories(sys: &Sys, path: &Path) -> Result<()> {
    let mut dirs: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .filter(|d| !d.as_os_str().is_empty() && *d != Path::new("/"))
        .collect();
    dirs.reverse();
    for dir in dirs {
        match sys.newfstatat(dir)? {
            None => return Ok(()),
            Some(FileKind::Symlink) => {
                return Err(Error::Runtime(format!(
                    "{} is a symbolic link: refusing to bind {} through it (use the real path, or --follow-symlinks)",
                    dir.display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Step 2 for a socket file, with its mode set race-free: the file is
/// created by bind with 0777 less the umask, so `umask(0777 & ~MODE)` goes
/// before socket and bind and the old mask comes back after (fchmod on the
/// socket does not reach the file; chmod after bind would leave a window).
/// Without `--mode`, `umask(0)` reads the mask and `umask(OLD)` puts it
/// back at once. Returns the line that states the file's mode (printed
/// after `listening on`).
fn bind_with_mode(
    sys: &Sys,
    addr: &Addr,
    ty: SockType,
    reuseaddr: bool,
    setup: &io::Setup,
    mode: Option<u32>,
) -> Result<(crate::sys::Socket, String)> {
    let (s, bits, why) = match mode {
        Some(m) => {
            let old = sys.umask(0o777 & !m)?;
            let bound = io::bound_socket(sys, addr, ty, reuseaddr, setup);
            sys.umask(old)?;
            (bound?, m, format!("--mode {m:04o}"))
        }
        None => {
            let old = sys.umask(0)?;
            sys.umask(old)?;
            let s = io::bound_socket(sys, addr, ty, reuseaddr, setup)?;
            (s, 0o777 & !old, format!("from umask {old:03o}"))
        }
    };
    Ok((s, format!("socket file mode {bits:04o} ({why})")))
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
        Some(FileKind::Symlink) => Err(Error::Runtime(format!(
            "{} is a symbolic link; refusing to remove or follow it (bind never follows a link there: choose another path)",
            path.display()
        ))),
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
