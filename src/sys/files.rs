//! The calls on directories and the files socklab made in them (issue 12):
//! getrandom (a private directory's random name), mkdirat, openat (a
//! directory fd, `O_DIRECTORY`), newfstatat relative to a directory fd (a
//! file's device and inode), unlinkat, fchmodat and fchmod.
//!
//! Everything a server or a lab removes or changes it reaches through a
//! directory fd it holds, by a name checked against the inode it recorded
//! when it made the file: never by a path that someone could have swapped.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsStr;

use super::fd::{cstring, file_kind};
use super::*;
use crate::values::xlat;

/// A directory's file descriptor, or an `O_PATH` one of a file, from
/// [`Sys::openat`]. Not closed on drop: [`Sys::close_dir`] closes it,
/// traced, as a socket is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathFd(RawFd);

impl PathFd {
    /// An fd a script's openat returned (a script's file calls).
    pub fn raw(fd: RawFd) -> PathFd {
        PathFd(fd)
    }

    /// The fd number, for a call that takes any fd (setns).
    pub fn fd(self) -> RawFd {
        self.0
    }
}

impl fmt::Display for PathFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What [`Sys::fstatat`] found at a name: its type and identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    pub kind: FileKind,
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    /// The same file (device and inode), whatever its type.
    pub fn same(&self, other: &FileId) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// The first argument of an `*at` call as strace prints it.
fn at(dir: Option<PathFd>) -> (libc::c_int, String) {
    match dir {
        Some(d) => (d.0, d.to_string()),
        None => (libc::AT_FDCWD, "AT_FDCWD".to_string()),
    }
}

fn cname(name: &OsStr) -> Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| {
        Error::Usage(format!(
            "path {} contains a NUL byte",
            name.to_string_lossy()
        ))
    })
}

impl Sys {
    /// getrandom(2) into `buf`, flags 0: strace shows the bytes in hex.
    pub fn getrandom(&self, buf: &mut [u8]) -> Result<()> {
        let n = self.getrandom_raw(buf, 0)?;
        if n != buf.len() {
            return Err(Error::Runtime(format!(
                "getrandom gave {n} of {} random bytes",
                buf.len()
            )));
        }
        Ok(())
    }

    /// getrandom(2) into `buf` with `flags` as given (a script's): how
    /// many bytes it wrote.
    pub fn getrandom_raw(&self, buf: &mut [u8], flags: u32) -> Result<usize> {
        let ptr = buf.as_mut_ptr();
        let len = buf.len();
        let n = self.call(
            Call {
                row: &calls::GETRANDOM,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ptr points to `len` writable bytes.
                let r = unsafe { libc::getrandom(ptr as *mut libc::c_void, len, flags) };
                Errno::result(r).map(|n| n as i64)
            },
            |ret| {
                let shown = match ret {
                    // SAFETY: the call has returned; `n` bytes are written.
                    Ok(n) => ArgVal::Text(hex_quote(unsafe {
                        std::slice::from_raw_parts(ptr, *n as usize)
                    })),
                    Err(_) => ArgVal::Ptr(ptr.cast_const().cast()),
                };
                plain(row_args(
                    &calls::GETRANDOM,
                    &[shown, ArgVal::Int(len as i64), ArgVal::Text(grnd(flags))],
                ))
            },
        )?;
        Ok(n as usize)
    }

    /// mkdirat(2): make directory `name` in `dir` with `mode` (less the
    /// umask). EEXIST is an error like the others: the caller retries.
    pub fn mkdirat(&self, dir: Option<PathFd>, name: &OsStr, mode: libc::mode_t) -> Result<()> {
        let c = cname(name)?;
        let (fd, shown) = at(dir);
        self.call(
            Call {
                row: &calls::MKDIRAT,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::mkdirat(fd, c.as_ptr(), mode) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::MKDIRAT,
                    &[
                        ArgVal::Name(&shown),
                        ArgVal::Buf(name.as_bytes(), usize::MAX),
                        ArgVal::Text(strace::octal_mode(mode)),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// openat(2), `O_RDONLY|O_CLOEXEC` plus `flags` (`O_NOFOLLOW`,
    /// `O_PATH`, `O_DIRECTORY`): a directory fd to make, look at and
    /// remove files relative to, or an `O_PATH` fd that holds a file (its
    /// inode cannot be freed, nor its number reused, while the fd is open).
    pub fn openat(&self, dir: Option<PathFd>, path: &Path, flags: libc::c_int) -> Result<PathFd> {
        self.openat_raw(dir, path, flags | libc::O_RDONLY | libc::O_CLOEXEC, 0)
    }

    /// openat(2) with the flags and mode as given (a script's): the flags
    /// by name as strace prints them, the mode shown with `O_CREAT` or
    /// `O_TMPFILE` only (as strace does).
    pub fn openat_raw(
        &self,
        dir: Option<PathFd>,
        path: &Path,
        flags: libc::c_int,
        mode: libc::mode_t,
    ) -> Result<PathFd> {
        let c = cstring(path)?;
        let (dirfd, shown) = at(dir);
        let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let fd = self.call(
            Call {
                row: &calls::OPENAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::openat(dirfd, c.as_ptr(), flags, mode) })
                    .map(i64::from)
            },
            |_| {
                let f = xlat::flags_text(xlat::Group::OFlags, i64::from(flags as u32));
                plain(row_args(
                    &calls::OPENAT,
                    &[
                        ArgVal::Name(&shown),
                        ArgVal::Buf(path.as_os_str().as_bytes(), usize::MAX),
                        ArgVal::Text(f),
                        // The mode, which strace shows only with O_CREAT.
                        if creates {
                            ArgVal::Text(strace::octal_mode(mode))
                        } else {
                            ArgVal::Unshown
                        },
                    ],
                ))
            },
        )?;
        Ok(PathFd(fd as RawFd))
    }

    /// newfstatat(dir, name, ..., AT_SYMLINK_NOFOLLOW): the type, device
    /// and inode of what `name` in `dir` names now; None if nothing.
    pub fn fstatat(&self, dir: PathFd, name: &OsStr) -> Result<Option<FileId>> {
        let c = cname(name)?;
        let st = self.stat_at(dir.0, &dir.to_string(), &c, name.as_bytes())?;
        Ok(st.map(|st| FileId {
            kind: file_kind(st.st_mode),
            dev: st.st_dev,
            ino: st.st_ino,
        }))
    }

    /// newfstatat(dir or AT_FDCWD, name, ..., AT_SYMLINK_NOFOLLOW) as a
    /// script makes it: its identity, or the errno (ENOENT included).
    pub fn fstatat_raw(&self, dir: Option<PathFd>, name: &OsStr) -> Result<FileId> {
        let c = cname(name)?;
        let (fd, shown) = at(dir);
        let st = self.stat_at(fd, &shown, &c, name.as_bytes())?;
        st.map(|st| FileId {
            kind: file_kind(st.st_mode),
            dev: st.st_dev,
            ino: st.st_ino,
        })
        .ok_or_else(|| Error::sys(&calls::NEWFSTATAT, String::new(), Errno::ENOENT, false))
    }

    /// unlinkat(2): remove `name` in `dir` (`flags` 0), or the empty
    /// directory `name` (`AT_REMOVEDIR`).
    pub fn unlinkat(&self, dir: Option<PathFd>, name: &OsStr, flags: libc::c_int) -> Result<()> {
        let c = cname(name)?;
        let (fd, shown) = at(dir);
        self.call(
            Call {
                row: &calls::UNLINKAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::unlinkat(fd, c.as_ptr(), flags) }).map(i64::from)
            },
            |_| {
                let f = if flags & libc::AT_REMOVEDIR != 0 {
                    "AT_REMOVEDIR".to_string()
                } else {
                    flags.to_string()
                };
                plain(row_args(
                    &calls::UNLINKAT,
                    &[
                        ArgVal::Name(&shown),
                        ArgVal::Buf(name.as_bytes(), usize::MAX),
                        ArgVal::Text(f),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// fchmodat(dir, name, mode), which follows a symbolic link at `name`
    /// (the kernel's fchmodat has no flags; fchmodat2's AT_SYMLINK_NOFOLLOW
    /// needs Linux 6.6 and a strace that knows it). Callers use it only in
    /// a directory of their own that nobody else can write, on a name they
    /// have just checked with [`Sys::fstatat`].
    pub fn fchmodat(&self, dir: Option<PathFd>, name: &OsStr, mode: libc::mode_t) -> Result<()> {
        let c = cname(name)?;
        let (fd, shown) = at(dir);
        self.call(
            Call {
                row: &calls::FCHMODAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::fchmodat(fd, c.as_ptr(), mode, 0) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::FCHMODAT,
                    &[
                        ArgVal::Name(&shown),
                        ArgVal::Buf(name.as_bytes(), usize::MAX),
                        ArgVal::Text(strace::octal_mode(mode)),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// fchmod(2) on a directory fd opened without `O_PATH`.
    pub fn fchmod(&self, dir: PathFd, mode: libc::mode_t) -> Result<()> {
        self.call(
            Call {
                row: &calls::FCHMOD,
                fd: None,
                unix: false,
            },
            // SAFETY: fchmod only reads its two integer arguments.
            || Errno::result(unsafe { libc::fchmod(dir.0, mode) }).map(i64::from),
            |_| {
                plain(row_args(
                    &calls::FCHMOD,
                    &[ArgVal::Fd(dir.0), ArgVal::Text(strace::octal_mode(mode))],
                ))
            },
        )?;
        Ok(())
    }

    /// close(2) of a directory or `O_PATH` fd.
    pub fn close_dir(&self, dir: PathFd) -> Result<()> {
        self.close(Socket(dir.0))
    }
}

/// getrandom's flags as strace prints them (`0`, `GRND_NONBLOCK`).
fn grnd(flags: u32) -> String {
    let mut out = Vec::new();
    let mut left = flags;
    for (bit, name) in [
        (libc::GRND_NONBLOCK, "GRND_NONBLOCK"),
        (libc::GRND_RANDOM, "GRND_RANDOM"),
        (libc::GRND_INSECURE, "GRND_INSECURE"),
    ] {
        if left & bit != 0 {
            out.push(name.to_string());
            left &= !bit;
        }
    }
    if left != 0 || out.is_empty() {
        out.push(if out.is_empty() && left == 0 {
            "0".to_string()
        } else {
            format!("{left:#x}")
        });
    }
    out.join("|")
}

/// strace's hex form of a buffer (getrandom's): every byte `\xNN`, cut
/// after 32 bytes.
fn hex_quote(buf: &[u8]) -> String {
    let mut s = String::from("\"");
    for b in buf.iter().take(STRACE_MAX_STRLEN) {
        s.push_str(&format!("\\x{b:02x}"));
    }
    s.push('"');
    if buf.len() > STRACE_MAX_STRLEN {
        s.push_str("...");
    }
    s
}
