//! A script's process actor gives up root: setgroups, setgid, setuid,
//! each the raw syscall (the calling thread's credentials: a process
//! actor is a process of one thread), as strace prints it.
#![allow(clippy::disallowed_methods)]

use super::*;

impl Sys {
    /// setgroups(2): the supplementary groups; none is `setgroups(0,
    /// NULL)` (a NULL list, as strace shows it).
    pub fn setgroups(&self, groups: &[u32]) -> Result<()> {
        let shown = if groups.is_empty() {
            "NULL".to_string()
        } else {
            let all: Vec<String> = groups.iter().map(u32::to_string).collect();
            format!("[{}]", all.join(", "))
        };
        let ptr = if groups.is_empty() {
            std::ptr::null()
        } else {
            groups.as_ptr()
        };
        let n = groups.len();
        self.call(
            Call {
                row: &calls::SETGROUPS,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ptr is NULL with n == 0, or points to n gid_t.
                let r = unsafe { libc::syscall(libc::SYS_setgroups, n, ptr) };
                Errno::result(r)
            },
            |_| {
                plain(row_args(
                    &calls::SETGROUPS,
                    &[ArgVal::Int(n as i64), ArgVal::Text(shown.clone())],
                ))
            },
        )?;
        Ok(())
    }

    /// setgid(2) of the calling thread.
    pub fn setgid(&self, gid: u32) -> Result<()> {
        self.id_call(&calls::SETGID, libc::SYS_setgid, gid)
    }

    /// setuid(2) of the calling thread.
    pub fn setuid(&self, uid: u32) -> Result<()> {
        self.id_call(&calls::SETUID, libc::SYS_setuid, uid)?;
        // The uid a signal this thread sends from now on carries.
        super::sigpipe::set_uid(uid);
        Ok(())
    }

    fn id_call(&self, row: &'static Syscall, nr: libc::c_long, id: u32) -> Result<()> {
        self.call(
            Call {
                row,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: an integer argument only.
                let r = unsafe { libc::syscall(nr, id) };
                Errno::result(r)
            },
            |_| plain(row_args(row, &[ArgVal::Int(i64::from(id))])),
        )?;
        Ok(())
    }
}
