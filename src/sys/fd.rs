//! Waiting and files: poll, ioctl, unlink, newfstatat (files.rs: the
//! calls relative to a directory fd).
#![allow(clippy::disallowed_methods)]

use super::epoll::poll_events;
use super::*;

impl Sys {
    /// poll(2) on one socket; returns its revents (empty on timeout).
    /// `timeout_ms` -1 waits forever.
    pub fn poll(&self, s: Socket, events: PollFlags, timeout_ms: i32) -> Result<PollFlags> {
        let revents = Cell::new(PollFlags::empty());
        self.call(
            Call {
                row: &calls::POLL,
                fd: Some(s),
                unix: false,
            },
            || {
                let mut fds = [PollFd::new(s.borrow(), events)];
                let timeout = nix::poll::PollTimeout::try_from(timeout_ms)
                    .unwrap_or(nix::poll::PollTimeout::NONE);
                let n = nix::poll::poll(&mut fds, timeout)?;
                revents.set(fds[0].revents().unwrap_or(PollFlags::empty()));
                Ok(i64::from(n))
            },
            |ret| Rendered {
                args: row_args(
                    &calls::POLL,
                    &[
                        ArgVal::Text(format!(
                            "[{{fd={s}, events={}}}]",
                            poll_events(events.bits())
                        )),
                        ArgVal::Int(1),
                        ArgVal::Int(i64::from(timeout_ms)),
                    ],
                ),
                addr: None,
                note: match ret {
                    Ok(0) => "(Timeout)".to_string(),
                    Ok(_) => format!(
                        "([{{fd={s}, revents={}}}])",
                        poll_events(revents.get().bits())
                    ),
                    Err(_) => String::new(),
                },
            },
        )?;
        Ok(revents.get())
    }

    /// ioctl(fd, FIONBIO, [on]): Python's `setblocking(False)` / `settimeout`.
    pub fn ioctl_fionbio(&self, s: Socket, on: bool) -> Result<()> {
        let value: libc::c_int = on.into();
        self.call(
            Call {
                row: &calls::IOCTL,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: FIONBIO reads one int from the pointer we pass.
                let r = unsafe { libc::ioctl(s.0, libc::FIONBIO, &value as *const libc::c_int) };
                Errno::result(r).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::IOCTL,
                    &[
                        ArgVal::Fd(s.0),
                        ArgVal::Name("FIONBIO"),
                        ArgVal::Text(format!("[{value}]")),
                    ],
                ))
            },
        )?;
        Ok(())
    }

    /// ioctl(fd, FIONREAD or TIOCOUTQ, [n]): SIOCINQ / SIOCOUTQ, bytes
    /// waiting to be read / not yet acknowledged by the peer.
    pub fn ioctl_queue(&self, s: Socket, request: libc::Ioctl, name: &'static str) -> Result<i32> {
        let value = Cell::new(0 as libc::c_int);
        self.call(
            Call {
                row: &calls::IOCTL,
                fd: Some(s),
                unix: false,
            },
            || {
                // SAFETY: these requests write one int to the pointer we pass.
                let r = unsafe { libc::ioctl(s.0, request, value.as_ptr()) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let argp = match ret {
                    Ok(_) => ArgVal::Text(format!("[{}]", value.get())),
                    Err(_) => ArgVal::Ptr(value.as_ptr().cast_const().cast()),
                };
                plain(row_args(
                    &calls::IOCTL,
                    &[ArgVal::Fd(s.0), ArgVal::Name(name), argp],
                ))
            },
        )?;
        Ok(value.get())
    }

    /// unlink(2): remove a socket file.
    pub fn unlink(&self, path: &Path) -> Result<()> {
        let c = cstring(path)?;
        self.call(
            Call {
                row: &calls::UNLINK,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::unlink(c.as_ptr()) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::UNLINK,
                    &[ArgVal::Buf(path.as_os_str().as_bytes(), usize::MAX)],
                ))
            },
        )?;
        Ok(())
    }

    /// newfstatat(AT_FDCWD, path, ..., AT_SYMLINK_NOFOLLOW), glibc's lstat:
    /// what is at a UNIX server's path before it binds. None if nothing.
    pub fn newfstatat(&self, path: &Path) -> Result<Option<FileKind>> {
        let c = cstring(path)?;
        let st = self.stat_at(libc::AT_FDCWD, "AT_FDCWD", &c, path.as_os_str().as_bytes())?;
        Ok(st.map(|st| file_kind(st.st_mode)))
    }

    /// newfstatat(AT_FDCWD, path, ..., AT_SYMLINK_NOFOLLOW): the type,
    /// device and inode of what is at `path` now; None if nothing.
    pub fn newfstatat_id(&self, path: &Path) -> Result<Option<super::FileId>> {
        let c = cstring(path)?;
        let st = self.stat_at(libc::AT_FDCWD, "AT_FDCWD", &c, path.as_os_str().as_bytes())?;
        Ok(st.map(|st| super::FileId {
            kind: file_kind(st.st_mode),
            dev: st.st_dev,
            ino: st.st_ino,
        }))
    }

    /// newfstatat(dirfd, name, ..., AT_SYMLINK_NOFOLLOW), `dirfd` shown as
    /// `shown`: the stat, or None if nothing is there (ENOENT).
    pub(super) fn stat_at(
        &self,
        dirfd: libc::c_int,
        shown_dir: &str,
        c: &CString,
        name: &[u8],
    ) -> Result<Option<libc::stat>> {
        // SAFETY: a zeroed stat is valid.
        let mut st: libc::stat = unsafe { zeroed() };
        let st_ptr: *mut libc::stat = &mut st;
        let ret = self.call(
            Call {
                row: &calls::NEWFSTATAT,
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid path and st_ptr a live stat buffer.
                let r =
                    unsafe { libc::fstatat(dirfd, c.as_ptr(), st_ptr, libc::AT_SYMLINK_NOFOLLOW) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes to st.
                let st = unsafe { &*st_ptr };
                let shown = match ret {
                    Ok(_) => {
                        // strace names the set-id and sticky bits:
                        // `S_IFDIR|S_ISVTX|0777` (/tmp).
                        let mut mode = file_type_name(st.st_mode).to_string();
                        for (bit, name) in [
                            (libc::S_ISUID, "S_ISUID"),
                            (libc::S_ISGID, "S_ISGID"),
                            (libc::S_ISVTX, "S_ISVTX"),
                        ] {
                            if st.st_mode & bit != 0 {
                                mode.push('|');
                                mode.push_str(name);
                            }
                        }
                        ArgVal::Text(format!(
                            "{{st_mode={mode}|{}, st_size={}, ...}}",
                            strace::octal_mode(st.st_mode & 0o777),
                            st.st_size
                        ))
                    }
                    Err(_) => ArgVal::Ptr(st_ptr.cast_const().cast()),
                };
                plain(row_args(
                    &calls::NEWFSTATAT,
                    &[
                        ArgVal::Name(shown_dir),
                        ArgVal::Buf(name, usize::MAX),
                        shown,
                        ArgVal::Name("AT_SYMLINK_NOFOLLOW"),
                    ],
                ))
            },
        );
        match ret {
            Ok(_) => Ok(Some(st)),
            Err(e) if e.errno() == Some(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub(super) fn cstring(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Usage(format!("path {} contains a NUL byte", path.display())))
}

fn file_type_name(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFSOCK => "S_IFSOCK",
        libc::S_IFLNK => "S_IFLNK",
        libc::S_IFREG => "S_IFREG",
        libc::S_IFDIR => "S_IFDIR",
        libc::S_IFIFO => "S_IFIFO",
        libc::S_IFCHR => "S_IFCHR",
        libc::S_IFBLK => "S_IFBLK",
        _ => "0",
    }
}

/// What kind of file a stat mode says it is.
pub(super) fn file_kind(mode: libc::mode_t) -> FileKind {
    match mode & libc::S_IFMT {
        libc::S_IFSOCK => FileKind::Socket,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    }
}
