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

/// A directory's file descriptor, or an `O_PATH` one of a file, from
/// [`Sys::openat`]. Not closed on drop: [`Sys::close_dir`] closes it,
/// traced, as a socket is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathFd(RawFd);

impl PathFd {
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

/// openat's flags socklab uses, in the order strace prints them (after
/// the access mode, always `O_RDONLY` here).
const OPEN_FLAGS: [(libc::c_int, &str); 4] = [
    (libc::O_NOFOLLOW, "O_NOFOLLOW"),
    (libc::O_CLOEXEC, "O_CLOEXEC"),
    (libc::O_PATH, "O_PATH"),
    (libc::O_DIRECTORY, "O_DIRECTORY"),
];

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
                let r = unsafe { libc::getrandom(ptr as *mut libc::c_void, len, 0) };
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
                    &[shown, ArgVal::Int(len as i64), ArgVal::Name("0")],
                ))
            },
        )?;
        if n as usize != len {
            return Err(Error::Runtime(format!(
                "getrandom gave {n} of {len} random bytes"
            )));
        }
        Ok(())
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
        let c = cstring(path)?;
        let (dirfd, shown) = at(dir);
        let flags = flags | libc::O_RDONLY | libc::O_CLOEXEC;
        let fd = self.call(
            Call {
                row: &calls::OPENAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::openat(dirfd, c.as_ptr(), flags) }).map(i64::from)
            },
            |_| {
                let mut f = "O_RDONLY".to_string();
                for (bit, name) in OPEN_FLAGS {
                    if flags & bit != 0 {
                        f.push('|');
                        f.push_str(name);
                    }
                }
                plain(row_args(
                    &calls::OPENAT,
                    &[
                        ArgVal::Name(&shown),
                        ArgVal::Buf(path.as_os_str().as_bytes(), usize::MAX),
                        ArgVal::Text(f),
                        // The mode, which strace shows only with O_CREAT.
                        ArgVal::Unshown,
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
    pub fn fchmodat(&self, dir: PathFd, name: &OsStr, mode: libc::mode_t) -> Result<()> {
        let c = cname(name)?;
        self.call(
            Call {
                row: &calls::FCHMODAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::fchmodat(dir.0, c.as_ptr(), mode, 0) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::FCHMODAT,
                    &[
                        ArgVal::Fd(dir.0),
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
