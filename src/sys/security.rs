//! The calls of a UNIX socket file's and peer's security: umask around
//! bind (the socket file's mode; the unix-family lab changes it afterwards
//! with fchmodat, files.rs) and getsockopt(SO_PEERCRED) (who is on the other end of an
//! accepted UNIX connection).
#![allow(clippy::disallowed_methods)]

use super::*;

/// The credentials of a UNIX peer as the kernel recorded them at connect
/// (SO_PEERCRED, unix(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Sys {
    /// umask(2): set the file mode creation mask, return the previous one.
    /// It cannot fail.
    pub fn umask(&self, mask: u32) -> Result<u32> {
        let old = self.call(
            Call {
                row: &calls::UMASK,
                fd: None,
                unix: true,
            },
            // SAFETY: umask only swaps the process's mask.
            || Ok(i64::from(unsafe { libc::umask(mask as libc::mode_t) })),
            |_| {
                plain(row_args(
                    &calls::UMASK,
                    &[ArgVal::Text(strace::octal_mode(mask))],
                ))
            },
        )?;
        Ok(old as u32)
    }

    /// getsockopt(fd, SOL_SOCKET, SO_PEERCRED): the connected UNIX peer's
    /// pid, uid and gid, strace's `{pid=N, uid=N, gid=N}`.
    pub fn peercred(&self, s: Socket) -> Result<PeerCred> {
        // SAFETY: a zeroed ucred is valid.
        let mut cred: libc::ucred = unsafe { zeroed() };
        let cred_ptr: *mut libc::ucred = &mut cred;
        let cap = size_of::<libc::ucred>() as libc::socklen_t;
        let len = Cell::new(cap);
        self.call(
            Call {
                row: &calls::GETSOCKOPT,
                fd: Some(s),
                unix: true,
            },
            || {
                len.set(cap);
                // SAFETY: cred_ptr points to a live ucred of `len` bytes.
                let r = unsafe {
                    libc::getsockopt(
                        s.0,
                        libc::SOL_SOCKET,
                        libc::SO_PEERCRED,
                        cred_ptr as *mut libc::c_void,
                        len.as_ptr(),
                    )
                };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes.
                let c = unsafe { &*cred_ptr };
                let (shown, out_len) = match ret {
                    Ok(_) => (
                        ArgVal::Text(format!("{{pid={}, uid={}, gid={}}}", c.pid, c.uid, c.gid)),
                        Some(len.get()),
                    ),
                    Err(_) => (ArgVal::Ptr(cred_ptr.cast_const().cast()), None),
                };
                plain(row_args(
                    &calls::GETSOCKOPT,
                    &[
                        ArgVal::Fd(s.0),
                        ArgVal::Name("SOL_SOCKET"),
                        ArgVal::Name("SO_PEERCRED"),
                        shown,
                        ArgVal::InOut(cap, out_len),
                    ],
                ))
            },
        )?;
        Ok(PeerCred {
            pid: cred.pid,
            uid: cred.uid,
            gid: cred.gid,
        })
    }
}
