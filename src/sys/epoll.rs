//! Event loops: epoll_create1, epoll_ctl, epoll_wait, and poll(2) on many
//! fds (the `--model poll` and `--model epoll` servers).
#![allow(clippy::disallowed_methods)]

use super::*;
use crate::values::xlat::{self, Group};

/// strace prints at most this many elements of an array (its `-s 32`),
/// then `...`.
const STRACE_MAX_ELEMS: usize = 32;

/// An `epoll_ctl` operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpollOp {
    Add,
    Mod,
    Del,
}

impl Sys {
    /// epoll_create1(EPOLL_CLOEXEC): the epoll instance (closed with [`Sys::close`]).
    pub fn epoll_create1(&self) -> Result<Socket> {
        let fd = self.call(
            Call {
                row: &calls::EPOLL_CREATE1,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: no pointers.
                Errno::result(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(i64::from)
            },
            |_| {
                plain(row_args(
                    &calls::EPOLL_CREATE1,
                    &[ArgVal::Name("EPOLL_CLOEXEC")],
                ))
            },
        )?;
        Ok(Socket(fd as RawFd))
    }

    /// epoll_ctl(2): watch `fd` for `events` (EPOLLIN, EPOLLOUT...), with the
    /// fd itself as the event's data; `EpollOp::Del` passes NULL.
    pub fn epoll_ctl(&self, ep: Socket, op: EpollOp, fd: Socket, events: u32) -> Result<()> {
        self.call(
            Call {
                row: &calls::EPOLL_CTL,
                fd: None,
                unix: false,
            },
            || {
                let mut ev = libc::epoll_event {
                    events,
                    u64: fd.0 as u64,
                };
                let (cop, ptr) = match op {
                    EpollOp::Add => (libc::EPOLL_CTL_ADD, &mut ev as *mut libc::epoll_event),
                    EpollOp::Mod => (libc::EPOLL_CTL_MOD, &mut ev as *mut libc::epoll_event),
                    EpollOp::Del => (libc::EPOLL_CTL_DEL, std::ptr::null_mut()),
                };
                // SAFETY: ptr is null or points to a live epoll_event.
                Errno::result(unsafe { libc::epoll_ctl(ep.0, cop, fd.0, ptr) }).map(i64::from)
            },
            |_| {
                let (name, ev) = match op {
                    EpollOp::Add => (
                        "EPOLL_CTL_ADD",
                        ArgVal::Text(epoll_event(events, fd.0 as u64)),
                    ),
                    EpollOp::Mod => (
                        "EPOLL_CTL_MOD",
                        ArgVal::Text(epoll_event(events, fd.0 as u64)),
                    ),
                    EpollOp::Del => ("EPOLL_CTL_DEL", ArgVal::Null),
                };
                plain(row_args(
                    &calls::EPOLL_CTL,
                    &[ArgVal::Fd(ep.0), ArgVal::Name(name), ArgVal::Fd(fd.0), ev],
                ))
            },
        )?;
        Ok(())
    }

    /// epoll_wait(2) into `events`; returns how many are ready (0 on timeout).
    /// `timeout_ms` -1 waits forever.
    pub fn epoll_wait(
        &self,
        ep: Socket,
        events: &mut [libc::epoll_event],
        timeout_ms: i32,
    ) -> Result<usize> {
        let ptr = events.as_mut_ptr();
        let cap = events.len();
        let n = self.call(
            Call {
                row: &calls::EPOLL_WAIT,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ptr/cap describe the caller's live array.
                let r = unsafe { libc::epoll_wait(ep.0, ptr, cap as libc::c_int, timeout_ms) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                let shown = match ret {
                    Ok(n) => {
                        // SAFETY: the kernel filled the first n entries.
                        let ready = unsafe { std::slice::from_raw_parts(ptr, *n as usize) };
                        ArgVal::Text(array(ready.iter().map(|e| {
                            let (events, data) = (e.events, e.u64);
                            epoll_event(events, data)
                        })))
                    }
                    Err(_) => ArgVal::Ptr(ptr.cast_const().cast()),
                };
                plain(row_args(
                    &calls::EPOLL_WAIT,
                    &[
                        ArgVal::Fd(ep.0),
                        shown,
                        ArgVal::Int(cap as i64),
                        ArgVal::Int(i64::from(timeout_ms)),
                    ],
                ))
            },
        )?;
        Ok(n as usize)
    }

    /// poll(2) on many fds; returns how many have revents (0 on timeout).
    pub fn poll_fds(&self, fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize> {
        let ptr = fds.as_mut_ptr();
        let len = fds.len();
        let n = self.call(
            Call {
                row: &calls::POLL,
                fd: None,
                unix: false,
            },
            || {
                // SAFETY: ptr/len describe the caller's live array.
                let r = unsafe { libc::poll(ptr, len as libc::nfds_t, timeout_ms) };
                Errno::result(r).map(i64::from)
            },
            |ret| {
                // SAFETY: the call has returned; the kernel no longer writes.
                let fds = unsafe { std::slice::from_raw_parts(ptr, len) };
                Rendered {
                    args: row_args(
                        &calls::POLL,
                        &[
                            ArgVal::Text(array(fds.iter().map(|p| {
                                format!("{{fd={}, events={}}}", p.fd, poll_events(p.events))
                            }))),
                            ArgVal::Int(len as i64),
                            ArgVal::Int(i64::from(timeout_ms)),
                        ],
                    ),
                    addr: None,
                    note: match ret {
                        Ok(0) => "(Timeout)".to_string(),
                        Ok(_) => format!(
                            "({})",
                            array(fds.iter().filter(|p| p.revents != 0).map(|p| format!(
                                "{{fd={}, revents={}}}",
                                p.fd,
                                poll_events(p.revents)
                            )))
                        ),
                        Err(_) => String::new(),
                    },
                }
            },
        )?;
        Ok(n as usize)
    }
}

/// `[a, b, ...]`, cut after strace's 32 elements.
fn array(items: impl Iterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i == STRACE_MAX_ELEMS {
            out.push_str("...");
            break;
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// `{events=EPOLLIN|EPOLLOUT, data={u32=5, u64=5}}`.
pub(super) fn epoll_event(events: u32, data: u64) -> String {
    format!(
        "{{events={}, data={{u32={}, u64={data}}}}}",
        epoll_flags(events),
        data as u32
    )
}

/// EPOLLIN|EPOLLOUT..., in strace's order (its `epollevents` list).
pub fn epoll_flags(events: u32) -> String {
    xlat::flags_text(Group::Epoll, i64::from(events))
}

/// `POLLIN|POLLOUT`, in strace's bit order (poll on one fd or many).
pub(super) fn poll_events(events: i16) -> String {
    xlat::flags_text(Group::Poll, i64::from(events as u16))
}
