//! The lab network's calls (`socklab net`, src/net/): setns into a host's
//! network namespace, openat of `/dev/net/tun` read-write, and the
//! `TUNSETIFF` ioctl that makes a TAP device of it. Each renders as
//! strace 6 prints it.
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::strace::ArgVal::{Buf, Fd, Name, Ptr, Unshown};

impl Sys {
    /// setns(2) `(fd, CLONE_NEWNET)`: the calling thread moves into the
    /// network namespace `fd` names (an open `/run/netns/NAME`).
    pub fn setns_net(&self, fd: RawFd) -> Result<()> {
        self.call(
            Call {
                row: &calls::SETNS,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: plain syscall with integer arguments.
                let r = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
                Errno::result(r).map(i64::from)
            },
            |_| plain(row_args(&calls::SETNS, &[Fd(fd), Name("CLONE_NEWNET")])),
        )?;
        Ok(())
    }

    /// Enter the network namespace the file `path` names (`/run/netns/N`)
    /// on this thread: `openat` of it (O_RDONLY|O_CLOEXEC), `setns(fd,
    /// CLONE_NEWNET)`, `close(fd)`, each traced (a script's `NAME@HOST` actor).
    pub fn enter_netns(&self, path: &Path) -> Result<()> {
        let fd = self.openat(None, path, 0)?;
        let entered = self.setns_net(fd.fd());
        self.close_dir(fd)?;
        entered
    }

    /// openat(2) `(AT_FDCWD, PATH, O_RDWR|O_CLOEXEC)`: a device to read
    /// and write (`/dev/net/tun`). The fd is closed by [`Sys::close`].
    pub fn open_rdwr(&self, path: &Path) -> Result<Socket> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Usage(format!("path {} has a NUL byte", path.display())))?;
        let fd = self.call(
            Call {
                row: &calls::OPENAT,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                let r = unsafe {
                    libc::openat(libc::AT_FDCWD, c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC)
                };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let args = [
                    Name("AT_FDCWD"),
                    Buf(path.as_os_str().as_bytes(), usize::MAX),
                    Name("O_RDWR|O_CLOEXEC"),
                    Unshown,
                ];
                plain(row_args(&calls::OPENAT, &args))
            },
        )?;
        Ok(Socket(fd as RawFd))
    }

    /// ioctl(2) `(fd, TUNSETIFF, PTR)` (Documentation/networking/tuntap.rst;
    /// the ifreq is `{ifr_name=NAME, ifr_flags=IFF_TAP|IFF_NO_PI}`, which
    /// strace 6.1 does not decode: it prints the pointer): the fd becomes
    /// a TAP device in the thread's network namespace, named NAME, or by
    /// the kernel if NAME is a pattern (`socklab%d`: the first free
    /// number); the device goes away when the fd is closed. Returns the
    /// device's name.
    pub fn ioctl_tunsetiff_tap(&self, fd: Socket, name: &str) -> Result<String> {
        let mut ifr = ifreq::named(name)?;
        let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        ifr.ifr_ifru.ifru_flags = flags;
        let ifr_ptr: *mut libc::ifreq = &mut ifr;
        self.call(
            Call {
                row: &calls::IOCTL,
                fd: Some(fd),
                unix: false,
            },
            || {
                // SAFETY: TUNSETIFF reads and writes one ifreq.
                let r = unsafe { libc::ioctl(fd.0, libc::TUNSETIFF as libc::Ioctl, ifr_ptr) };
                Errno::result(r).map(i64::from)
            },
            |_| {
                let args = [
                    Fd(fd.0),
                    Name("TUNSETIFF"),
                    Ptr(ifr_ptr.cast_const().cast()),
                ];
                plain(row_args(&calls::IOCTL, &args))
            },
        )?;
        // The kernel wrote the device's name back.
        Ok(ifreq::name_of(&ifr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::traced_lines::traced;

    #[test]
    fn net_calls_render_as_strace() {
        let (sys, lines) = traced();
        let _ = sys.setns_net(-1);
        let _ = sys.open_rdwr(Path::new("/nonexistent/tun"));
        let _ = sys.ioctl_tunsetiff_tap(Socket(-1), "eth0");
        let text = lines.text();
        assert!(
            text.contains("setns(-1, CLONE_NEWNET) = -1 EBADF"),
            "{text}"
        );
        assert!(
            text.contains("openat(AT_FDCWD, \"/nonexistent/tun\", O_RDWR|O_CLOEXEC) = -1 ENOENT"),
            "{text}"
        );
        // strace 6.1 prints TUNSETIFF's ifreq as a pointer (measured:
        // `ioctl(3, TUNSETIFF, 0x7ffc68bc5df0) = 0`).
        assert!(text.contains("ioctl(-1, TUNSETIFF, 0x"), "{text}");
    }
}
