//! `socklab unix server` and `socklab unix client`: AF_UNIX stream or
//! datagram (`--dgram`) sockets on a path or an abstract `@NAME`.
//!
//! Server, for a pathname address (DIR is the path's directory, NAME its
//! last component):
//! 0. each directory on the path: `newfstatat(dir)`; a symbolic link →
//!    refuse (unless `--follow-symlinks`)
//! 1. `newfstatat(path)`: nothing there → go on; not a socket → refuse;
//!    a socket → with `--unlink-stale`, `unlink(path)`; otherwise probe it:
//!    `socket(AF_UNIX, type|SOCK_NONBLOCK)` + `connect(path)`: ECONNREFUSED
//!    means no one answers (stale) → `close`, `unlink(path)`; connected,
//!    or EAGAIN (a live server whose backlog is full) → `close`, refuse
//!    (in use). The probe never waits.
//! 2. `umask(0777 & ~MODE)` with `--mode` (else `umask(0)` → OLD,
//!    `umask(OLD)`: the mask, read), `socket(AF_UNIX, type)`,
//!    [`setsockopt(SO_REUSEADDR)`], `openat(AT_FDCWD, DIR,
//!    O_PATH|O_NOFOLLOW|O_DIRECTORY)` → DIRFD (no `O_NOFOLLOW` with
//!    `--follow-symlinks`), `bind(path)`, `openat(DIRFD, NAME,
//!    O_PATH|O_NOFOLLOW)` → PIN (holds the socket file: its inode number
//!    cannot pass to another file), `newfstatat(DIRFD, NAME)` (the socket
//!    file's device and inode), `umask(OLD)`; after `listening on PATH`,
//!    print `socket file mode MODE (...)`.
//! 3. the stream (`stream.rs`) or datagram (`dgram.rs`) server.
//! 4. on every exit, after SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR2 too:
//!    `newfstatat(DIRFD, NAME)`; still the inode bound in 2 →
//!    `unlinkat(DIRFD, NAME, 0)`; anything else (a file that replaced the
//!    socket, another server's socket, nothing) is left alone, with a line
//!    that says why; `close(PIN)`, `close(DIRFD)`.
//!
//! Abstract addresses (`@NAME`) have no file: steps 1 and 4, and the
//! directory fd of 2, do not happen.
//!
//! Why bind the path itself with DIRFD held, not `/proc/self/fd/DIRFD/NAME`:
//! the name bound is what getsockname, `listening on`, clients'
//! getpeername and `ss -x` show, and a `/proc/self/...` name means nothing
//! outside this process. DIRFD is opened before bind so that the removal
//! at exit goes to the directory the server bound in, even if a directory
//! on the path was swapped for a symbolic link meanwhile; PIN finds no
//! socket at NAME in DIRFD if the path was redirected between openat and
//! bind, and then nothing is ever removed.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType};

use crate::output::Output;
use crate::programs::{dgram, stream};
use crate::socket::messages::Messages;
use crate::socket::modes;
use crate::sys::signals;
use crate::sys::{FileId, FileKind, PathFd, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

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
    out: &Output,
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
        clear_path(sys, out, addr, path, ty, file.unlink_stale)?;
        signals::catch_stop_signals(sys)?;
    }
    let setup = match &server {
        Server::Stream(opts) => &opts.setup,
        Server::Dgram(opts) => &opts.setup,
    };
    let (s, bound) = match &path {
        None => (
            modes::bound_socket(sys, out, addr, ty, reuseaddr, setup)?,
            None,
        ),
        Some(path) => {
            let (s, file) = bind_with_mode(
                sys,
                out,
                Bind {
                    addr,
                    ty,
                    reuseaddr,
                    setup,
                },
                path,
                file,
            )?;
            (s, Some(file))
        }
    };
    let with_mode;
    let out = match &bound {
        Some(file) => {
            with_mode = out.with_after_listening(file.mode_line.clone());
            &with_mode
        }
        None => out,
    };
    let served = match server {
        Server::Stream(opts) => stream::serve(sys, out, s, opts),
        Server::Dgram(opts) => match opts.batch {
            Some(n) => crate::programs::dgram_batch::serve(sys, out, s, opts, n),
            None => dgram::serve(sys, out, s, opts),
        },
    };
    // The file is ours from bind on: remove it however serving ended, if
    // it is still the one we bound.
    let removed = match &bound {
        Some(file) => file.remove(sys, out),
        None => Ok(()),
    };
    served.and(removed)
}

/// The socket file a server bound (step 2), to remove at exit (step 4).
struct BoundFile {
    path: PathBuf,
    /// Its directory, opened `O_PATH|O_NOFOLLOW|O_DIRECTORY` before bind.
    dir: PathFd,
    /// Its last component, relative to `dir`.
    name: OsString,
    /// The socket file, held open (`O_PATH`) from bind to exit.
    pin: Option<PathFd>,
    /// The socket file's identity right after bind (None: no socket was
    /// at NAME in DIR then; the path led elsewhere).
    id: Option<FileId>,
    /// `socket file mode MODE (...)`, printed after `listening on`.
    mode_line: String,
}

impl BoundFile {
    /// Step 4: `newfstatat(DIR, NAME)`; `unlinkat(DIR, NAME, 0)` only if
    /// it is still the inode bound (held by PIN, so its number is not
    /// another file's); then `close(PIN)`, `close(DIR)`. A `--pause-before
    /// unlinkat` pauses before the check. (A file swapped in between the
    /// two calls would still be removed: there is no unlink by inode; the
    /// window is the two calls' own.)
    fn remove(&self, sys: &Sys, out: &Output) -> Result<()> {
        // `--pause-before unlinkat` pauses here, before the check.
        let unlinking = sys.pause_before_check(&crate::values::calls::UNLINKAT);
        let now = sys.fstatat(self.dir, &self.name);
        let removed = match (&self.id, now) {
            (Some(bound), Ok(Some(now))) if now.same(bound) => {
                unlinking.unlinkat(Some(self.dir), &self.name, 0)
            }
            (Some(bound), Ok(Some(now))) => {
                out.say(&format!(
                    "leaving {} alone: it is no longer the socket this server bound (inode {} -> {})",
                    self.path.display(),
                    bound.ino,
                    now.ino
                ));
                Ok(())
            }
            (Some(bound), Ok(None)) => {
                out.say(&format!(
                    "leaving {} alone: the socket this server bound (inode {}) is gone from its directory",
                    self.path.display(),
                    bound.ino
                ));
                Ok(())
            }
            (None, Ok(_)) => {
                out.say(&format!(
                    "leaving {} alone: bind put no socket file in its directory (was the path redirected?)",
                    self.path.display()
                ));
                Ok(())
            }
            (_, Err(e)) => Err(e),
        };
        let unpinned = self.pin.map_or(Ok(()), |pin| sys.close_dir(pin));
        let closed = sys.close_dir(self.dir);
        removed.and(unpinned).and(closed)
    }
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
/// back at once. Between socket and bind: `openat` of the directory;
/// after bind: `newfstatat(DIRFD, NAME)` (see [`bind_in_dir`]).
fn bind_with_mode(
    sys: &Sys,
    out: &Output,
    bind: Bind,
    path: &Path,
    file: &FileOpts,
) -> Result<(crate::sys::Socket, BoundFile)> {
    let follow = file.follow_symlinks;
    let (bound, line) = match file.mode {
        Some(m) => {
            let old = sys.umask(0o777 & !m)?;
            let bound = bind_in_dir(sys, out, bind, path, follow);
            sys.umask(old)?;
            (bound?, format!("socket file mode {m:04o} (--mode {m:04o})"))
        }
        None => {
            let old = sys.umask(0)?;
            sys.umask(old)?;
            let bound = bind_in_dir(sys, out, bind, path, follow)?;
            let bits = 0o777 & !old;
            (
                bound,
                format!("socket file mode {bits:04o} (from umask {old:03o})"),
            )
        }
    };
    let (s, mut file) = bound;
    file.mode_line = line;
    Ok((s, file))
}

/// What a UNIX server binds: its address, socket type, `--reuseaddr`
/// and set-up.
#[derive(Clone, Copy)]
struct Bind<'a> {
    addr: &'a Addr,
    ty: SockType,
    reuseaddr: bool,
    setup: &'a modes::Setup,
}

/// `socket`, [`setsockopt`s], `openat(AT_FDCWD, DIR,
/// O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH|O_DIRECTORY)` (no `O_NOFOLLOW`
/// with `--follow-symlinks`), `bind(path)`, `openat(DIRFD, NAME,
/// O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH)` → PIN, `newfstatat(DIRFD, NAME,
/// AT_SYMLINK_NOFOLLOW)`: the socket, and the file to remove at exit
/// (its `id` None if no socket is at NAME in DIRFD; its `mode_line` is
/// the caller's). The directory fd is closed if bind fails.
fn bind_in_dir(
    sys: &Sys,
    out: &Output,
    bind: Bind,
    path: &Path,
    follow_symlinks: bool,
) -> Result<(crate::sys::Socket, BoundFile)> {
    let Bind {
        addr,
        ty,
        reuseaddr,
        setup,
    } = bind;
    let Some(name) = path.file_name() else {
        return Err(Error::Runtime(format!(
            "{} does not end in a file name (it ends in '..' or '/')",
            path.display()
        )));
    };
    let dir_path = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let s = modes::socket_to_bind(sys, out, addr, ty, reuseaddr, setup)?;
    // --follow-symlinks: the directory may be a link (step 0 allowed it).
    let nofollow = if follow_symlinks { 0 } else { libc::O_NOFOLLOW };
    let dir = sys.openat(None, dir_path, libc::O_PATH | libc::O_DIRECTORY | nofollow)?;
    if let Err(e) = sys.bind(s, addr) {
        let _ = sys.close_dir(dir);
        return Err(e);
    }
    // Hold the socket file (an O_PATH fd): while it is open its inode
    // cannot be freed, so no other file can get its inode number and pass
    // for it at exit. Nothing there (ENOENT) or a link (ELOOP): the path
    // led elsewhere than DIR.
    let pin = match sys.openat(Some(dir), Path::new(name), libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(pin) => Some(pin),
        Err(e) if matches!(e.errno(), Some(Errno::ENOENT | Errno::ELOOP)) => None,
        Err(e) => return Err(e),
    };
    let id = sys
        .fstatat(dir, name)?
        .filter(|found| found.kind == FileKind::Socket && pin.is_some());
    let file = BoundFile {
        path: path.to_path_buf(),
        dir,
        name: name.to_os_string(),
        pin,
        id,
        mode_line: String::new(),
    };
    Ok((s, file))
}

/// Step 1: make sure binding `path` removes nothing but a dead socket file.
fn clear_path(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    path: &Path,
    ty: SockType,
    unlink_stale: bool,
) -> Result<()> {
    match sys.newfstatat(path)? {
        None => Ok(()),
        Some(FileKind::Socket) if unlink_stale => sys.unlink(path),
        Some(FileKind::Socket) => {
            // Non-blocking: a live server whose backlog is full makes a
            // blocking connect wait (forever); here it says EAGAIN.
            let probe = sys.socket_nonblock(AddressFamily::Unix, ty)?;
            let answered = match sys.connect(probe, addr) {
                Err(e) if e.errno() == Some(Errno::EAGAIN) => Ok(true),
                r => r.map(|()| false),
            };
            match answered {
                Err(e) if e.errno() == Some(Errno::ECONNREFUSED) => {
                    sys.close(probe)?;
                    out.say(&format!(
                        "removing stale socket file {} (no one answers on it)",
                        path.display()
                    ));
                    sys.unlink(path)
                }
                Err(e) => Err(e),
                Ok(full) => {
                    sys.close(probe)?;
                    let how = if full {
                        "a server listens on it, its backlog full"
                    } else {
                        "a server answers on it"
                    };
                    Err(Error::Runtime(format!(
                        "{} is in use: {how} (stop it, or choose another path)",
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
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &stream::ClientOpts,
) -> Result<()> {
    stream::client(sys, out, addr, messages, opts)
}

pub fn dgram_client(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &dgram::ClientOpts,
) -> Result<()> {
    dgram::client(sys, out, addr, messages, opts)
}
