//! The pipes between the runner and a process actor (`fork()`): the
//! runner's requests go down one, the actor's call entries and results
//! come back up the other, each message a length and its bytes. This is
//! socklab's own plumbing, not part of the experiment: two pipes made
//! with pipe2 and kept above fd 900 (as the actors' /proc files), read
//! and written with read(2)/write(2), not traced (strace -f shows them).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use nix::errno::Errno;

use super::actors::Owned;
use super::call::{Made, Req};
use crate::sys::Cmsg;
use crate::values::addr::Addr;
use crate::values::calls::{self, Syscall};

/// A value written to and read from a pipe's bytes.
pub trait Enc: Sized {
    fn put(&self, w: &mut Vec<u8>);
    fn get(r: &mut &[u8]) -> Option<Self>;
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = (r.get(..n)?, r.get(n..)?);
    *r = tail;
    Some(head)
}

macro_rules! ints {
    ($($t:ty),*) => {$(
        impl Enc for $t {
            fn put(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_le_bytes());
            }
            fn get(r: &mut &[u8]) -> Option<Self> {
                let b = take(r, std::mem::size_of::<$t>())?;
                Some(<$t>::from_le_bytes(b.try_into().ok()?))
            }
        }
    )*};
}
ints!(u8, i16, i32, u32, i64, u64);

impl Enc for usize {
    fn put(&self, w: &mut Vec<u8>) {
        (*self as u64).put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        usize::try_from(u64::get(r)?).ok()
    }
}

impl Enc for bool {
    fn put(&self, w: &mut Vec<u8>) {
        u8::from(*self).put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(u8::get(r)? != 0)
    }
}

impl<T: Enc> Enc for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        self.len().put(w);
        self.iter().for_each(|x| x.put(w));
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        let n = usize::get(r)?;
        // Never more items than bytes left (a bad length allocates nothing).
        let mut v = Vec::with_capacity(n.min(r.len()));
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Some(v)
    }
}

impl<T: Enc> Enc for Option<T> {
    fn put(&self, w: &mut Vec<u8>) {
        self.is_some().put(w);
        if let Some(x) = self {
            x.put(w);
        }
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(if bool::get(r)? {
            Some(T::get(r)?)
        } else {
            None
        })
    }
}

impl<A: Enc, B: Enc> Enc for (A, B) {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some((A::get(r)?, B::get(r)?))
    }
}

impl Enc for String {
    fn put(&self, w: &mut Vec<u8>) {
        self.as_bytes().to_vec().put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        String::from_utf8(Vec::<u8>::get(r)?).ok()
    }
}

impl Enc for PathBuf {
    fn put(&self, w: &mut Vec<u8>) {
        use std::os::unix::ffi::OsStrExt;
        self.as_os_str().as_bytes().to_vec().put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(Vec::get(r)?)))
    }
}

impl Enc for Addr {
    fn put(&self, w: &mut Vec<u8>) {
        let (bytes, len) = self.to_bytes();
        bytes.put(w);
        len.put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        let bytes = Vec::<u8>::get(r)?;
        Addr::from_bytes(&bytes, u32::get(r)?)
    }
}

impl Enc for Cmsg {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Cmsg::Rights(fds) => {
                0u8.put(w);
                fds.put(w);
            }
            Cmsg::Credentials { pid, uid, gid } => {
                1u8.put(w);
                (*pid, (*uid, *gid)).put(w);
            }
            Cmsg::Other { level, ty, data } => {
                2u8.put(w);
                (*level, (*ty, data.clone())).put(w);
            }
        }
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(match u8::get(r)? {
            0 => Cmsg::Rights(Vec::get(r)?),
            2 => {
                let (level, (ty, data)) = Enc::get(r)?;
                Cmsg::Other { level, ty, data }
            }
            _ => {
                let (pid, (uid, gid)) = Enc::get(r)?;
                Cmsg::Credentials { pid, uid, gid }
            }
        })
    }
}

impl Enc for std::result::Result<i64, Errno> {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Ok(v) => (0u8, *v).put(w),
            Err(e) => (1u8, *e as i32 as i64).put(w),
        }
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(match <(u8, i64)>::get(r)? {
            (0, v) => Ok(v),
            (_, e) => Err(Errno::from_raw(i32::try_from(e).ok()?)),
        })
    }
}

impl Enc for Duration {
    fn put(&self, w: &mut Vec<u8>) {
        (self.as_secs(), self.subsec_nanos()).put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        let (s, n) = <(u64, u32)>::get(r)?;
        Some(Duration::new(s, n))
    }
}

impl Enc for SystemTime {
    fn put(&self, w: &mut Vec<u8>) {
        let d = self
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        d.put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        SystemTime::UNIX_EPOCH.checked_add(Duration::get(r)?)
    }
}

impl Enc for &'static Syscall {
    fn put(&self, w: &mut Vec<u8>) {
        let i = calls::ALL.iter().position(|c| std::ptr::eq(*c, *self));
        i.unwrap_or(usize::MAX).put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        calls::ALL.get(usize::get(r)?).copied()
    }
}

/// `Enc` for an enum of tuple variants, each field named once.
macro_rules! variants {
    ($ty:ident { $($var:ident ( $($f:ident : $t:ty),* )),* $(,)? }) => {
        impl Enc for $ty {
            fn put(&self, w: &mut Vec<u8>) {
                let mut tag = 0u8;
                $(
                    #[allow(unused_variables)]
                    if let $ty::$var($($f),*) = self {
                        tag.put(w);
                        $($f.put(w);)*
                        return;
                    }
                    tag += 1;
                )*
                let _ = tag;
                u8::MAX.put(w);
            }
            fn get(r: &mut &[u8]) -> Option<Self> {
                let tag = u8::get(r)?;
                let mut i = 0u8;
                $(
                    if tag == i {
                        return Some($ty::$var($(<$t>::get(r)?),*));
                    }
                    i += 1;
                )*
                let _ = i;
                None
            }
        }
    };
}

variants!(Req {
    Socket(a: i32, b: i32, c: i32),
    Socketpair(a: i32, b: i32, c: i32),
    Bind(a: RawFd, b: Addr),
    Connect(a: RawFd, b: Addr),
    Listen(a: RawFd, b: i32),
    Accept(a: RawFd, b: bool),
    Accept4(a: RawFd, b: bool, c: i32),
    Getsockname(a: RawFd),
    Getpeername(a: RawFd),
    Shutdown(a: RawFd, b: i32),
    Close(a: RawFd),
    Dup(a: RawFd),
    Dup2(a: RawFd, b: RawFd),
    Sendto(a: RawFd, b: Vec<u8>, c: i32, d: Option<Addr>),
    Recvfrom(a: RawFd, b: usize, c: i32, d: bool),
    Read(a: RawFd, b: usize),
    Write(a: RawFd, b: Vec<u8>),
    Setsockopt(a: RawFd, b: i32, c: i32, d: Vec<u8>),
    Getsockopt(a: RawFd, b: i32, c: i32, d: u32),
    Fcntl(a: RawFd, b: i32, c: Option<i64>),
    Ioctl(a: RawFd, b: u64, c: i32),
    Sendmsg(a: RawFd, b: Vec<Vec<u8>>, c: Option<Addr>, d: Vec<Cmsg>, e: i32),
    Recvmsg(a: RawFd, b: Vec<usize>, c: usize, d: i32, e: bool),
    Recvmmsg(a: RawFd, b: usize, c: usize, d: i32, e: bool),
    Sendmmsg(a: RawFd, b: Vec<Vec<u8>>, c: Vec<Option<Addr>>, d: i32),
    Poll(a: Vec<(RawFd, i16)>, b: i32),
    EpollCreate1(a: i32),
    EpollCtl(a: RawFd, b: i32, c: RawFd, d: Option<(u32, u64)>),
    EpollWait(a: RawFd, b: usize, c: i32),
    Kill(a: i32, b: i32),
    Tgkill(a: i32, b: i32, c: i32),
    Sigaction(a: i32, b: bool),
    Handler(a: i32, b: u64),
    Unlink(a: PathBuf, b: u64, c: u64),
    Rmdir(a: PathBuf, b: u64, c: u64),
    Openat(a: RawFd, b: PathBuf, c: i32, d: u32),
    Getrandom(a: usize, b: u32),
    Mkdirat(a: RawFd, b: PathBuf, c: u32),
    Newfstatat(a: RawFd, b: PathBuf),
    Fchmod(a: RawFd, b: u32),
    Fchmodat(a: RawFd, b: PathBuf, c: u32),
    Unlinkat(a: RawFd, b: PathBuf, c: i32),
    UnlinkPath(a: PathBuf),
    Setgroups(a: Vec<u32>),
    Setgid(a: u32),
    Setuid(a: u32),
    Umask(a: u32),
    PrlimitNofile(a: Option<(u64, u64)>),
    Getpid(a: bool),
    Getid(a: bool),
    PrctlPdeathsig(a: i32),
    Sigprocmask(a: i32, b: Option<u64>, c: bool),
    Sigtimedwait(a: u64, b: Option<(u64, u64)>),
    Setaffinity(a: usize, b: Vec<usize>),
    Alarm(a: u32),
    Exit(a: i32),
});

impl Enc for Made {
    fn put(&self, w: &mut Vec<u8>) {
        self.ret.put(w);
        self.out.put(w);
        self.opened.put(w);
        self.closed.put(w);
        self.failure.put(w);
        self.hint.put(w);
        self.file.put(w);
        self.dir.as_deref().cloned().put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(Made {
            ret: Enc::get(r)?,
            out: Enc::get(r)?,
            opened: Enc::get(r)?,
            closed: Enc::get(r)?,
            failure: Enc::get(r)?,
            hint: Enc::get(r)?,
            file: Enc::get(r)?,
            dir: <Option<PathBuf>>::get(r)?.map(Box::new),
            child: None,
        })
    }
}

impl Enc for Owned {
    fn put(&self, w: &mut Vec<u8>) {
        self.row.put(w);
        self.args.put(w);
        self.ret.put(w);
        self.note.put(w);
        self.addr.put(w);
        self.start.put(w);
        self.duration.put(w);
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(Owned {
            row: Enc::get(r)?,
            args: Enc::get(r)?,
            ret: Enc::get(r)?,
            note: Enc::get(r)?,
            addr: Enc::get(r)?,
            start: Enc::get(r)?,
            duration: Enc::get(r)?,
        })
    }
}

/// What a process actor says back.
pub enum Up {
    /// It entered the call of step `id` (for `<unfinished ...>`).
    Entered(u64, &'static Syscall, String),
    /// The call of step `id` returned: what it made, its events, its notes.
    Done(u64, Box<Made>, (Vec<Owned>, Vec<String>)),
}

impl Enc for Up {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Up::Entered(id, row, args) => {
                0u8.put(w);
                (*id, (*row, args.clone())).put(w);
            }
            Up::Done(id, made, said) => {
                1u8.put(w);
                id.put(w);
                made.put(w);
                said.put(w);
            }
        }
    }
    fn get(r: &mut &[u8]) -> Option<Self> {
        Some(match u8::get(r)? {
            0 => {
                let (id, (row, args)) = Enc::get(r)?;
                Up::Entered(id, row, args)
            }
            _ => Up::Done(u64::get(r)?, Box::new(Made::get(r)?), Enc::get(r)?),
        })
    }
}

/// Write one message (its length first).
pub fn send(mut f: &File, value: &impl Enc) -> bool {
    let mut body = Vec::new();
    value.put(&mut body);
    let mut msg = (body.len() as u64).to_le_bytes().to_vec();
    msg.extend_from_slice(&body);
    f.write_all(&msg).is_ok()
}

/// Read one message (None: the pipe ended or the bytes are not one).
pub fn recv<T: Enc>(mut f: &File) -> Option<T> {
    let mut len = [0u8; 8];
    f.read_exact(&mut len).ok()?;
    let n = usize::try_from(u64::from_le_bytes(len)).ok()?;
    let mut body = vec![0u8; n.min(1 << 30)];
    f.read_exact(&mut body).ok()?;
    T::get(&mut body.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_results_come_back_the_same() {
        let addr = Addr::parse_inet("127.0.0.1:8080").unwrap();
        let req = Req::Sendmsg(
            5,
            vec![b"ab".to_vec(), vec![]],
            Some(addr),
            vec![Cmsg::Rights(vec![3, 4])],
            0x40,
        );
        let mut w = Vec::new();
        req.put(&mut w);
        let back = Req::get(&mut w.as_slice()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{req:?}"));
        let made = Made {
            ret: Some(Err(Errno::EPIPE)),
            out: b"x".to_vec(),
            opened: vec![7],
            closed: Some(3),
            failure: None,
            hint: Some("h".into()),
            file: Some((2049, 1234)),
            dir: Some(Box::new("/tmp/d".into())),
            child: None,
        };
        let mut w = Vec::new();
        made.put(&mut w);
        let back = Made::get(&mut w.as_slice()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{made:?}"));
        assert!(Req::get(&mut [200u8].as_slice()).is_none());
    }
}
