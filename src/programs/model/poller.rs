//! epoll or poll behind one interface, for the event-loop models
//! (`event.rs`): `epoll_create1`/`epoll_ctl`/`epoll_wait`, or one `poll`
//! over an array of pollfds kept in step with the connections.

use crate::sys::{EpollOp, Socket, Sys};
use crate::values::error::Result;

/// How many events one `epoll_wait` returns at most.
pub(super) const MAX_EVENTS: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Poll,
    Epoll,
}

/// Readiness, whatever the mechanism.
pub(super) const READ: u32 = 1;
pub(super) const WRITE: u32 = 2;
pub(super) const ERROR: u32 = 4;

/// epoll or poll behind one interface; `ready` is refilled by each wait.
pub(super) enum Poller {
    Epoll {
        ep: Socket,
        events: Vec<libc::epoll_event>,
    },
    Poll {
        fds: Vec<libc::pollfd>,
        /// fd → its index in `fds`.
        slot: Vec<usize>,
    },
}

fn epoll_events(interest: u32) -> u32 {
    if interest == WRITE {
        libc::EPOLLOUT as u32
    } else {
        libc::EPOLLIN as u32
    }
}

fn poll_events(interest: u32) -> i16 {
    if interest == WRITE {
        libc::POLLOUT
    } else {
        libc::POLLIN
    }
}

impl Poller {
    pub(super) fn new(sys: &Sys, kind: Kind) -> Result<Poller> {
        Ok(match kind {
            Kind::Epoll => Poller::Epoll {
                ep: sys.epoll_create1()?,
                events: vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS],
            },
            Kind::Poll => Poller::Poll {
                fds: Vec::new(),
                slot: Vec::new(),
            },
        })
    }

    pub(super) fn add(&mut self, sys: &Sys, s: Socket, interest: u32) -> Result<()> {
        match self {
            Poller::Epoll { ep, .. } => sys.epoll_ctl(*ep, EpollOp::Add, s, epoll_events(interest)),
            Poller::Poll { fds, slot } => {
                let fd = s.fd() as usize;
                if slot.len() <= fd {
                    slot.resize(fd + 1, usize::MAX);
                }
                slot[fd] = fds.len();
                fds.push(libc::pollfd {
                    fd: s.fd(),
                    events: poll_events(interest),
                    revents: 0,
                });
                Ok(())
            }
        }
    }

    pub(super) fn modify(&mut self, sys: &Sys, s: Socket, interest: u32) -> Result<()> {
        match self {
            Poller::Epoll { ep, .. } => sys.epoll_ctl(*ep, EpollOp::Mod, s, epoll_events(interest)),
            Poller::Poll { fds, slot } => {
                if let Some(&i) = slot.get(s.fd() as usize)
                    && let Some(p) = fds.get_mut(i)
                {
                    p.events = poll_events(interest);
                }
                Ok(())
            }
        }
    }

    /// Stop watching `s`. With `closing`, epoll needs no call: closing the
    /// fd removes it from the epoll set.
    pub(super) fn remove(&mut self, sys: &Sys, s: Socket, closing: bool) -> Result<()> {
        match self {
            Poller::Epoll { ep, .. } if !closing => sys.epoll_ctl(*ep, EpollOp::Del, s, 0),
            Poller::Epoll { .. } => Ok(()),
            Poller::Poll { fds, slot } => {
                let fd = s.fd() as usize;
                if let Some(&i) = slot.get(fd)
                    && i < fds.len()
                {
                    fds.swap_remove(i);
                    if let Some(moved) = fds.get(i) {
                        slot[moved.fd as usize] = i;
                    }
                    slot[fd] = usize::MAX;
                }
                Ok(())
            }
        }
    }

    /// Wait (forever) and put (fd, READ|WRITE|ERROR) of each ready fd in `ready`.
    pub(super) fn wait(&mut self, sys: &Sys, ready: &mut Vec<(i32, u32)>) -> Result<()> {
        ready.clear();
        match self {
            Poller::Epoll { ep, events } => {
                let n = sys.epoll_wait(*ep, events, -1)?;
                for e in &events[..n] {
                    let (bits, data) = (e.events, e.u64);
                    let mut r = 0;
                    if bits & libc::EPOLLIN as u32 != 0 {
                        r |= READ;
                    }
                    if bits & libc::EPOLLOUT as u32 != 0 {
                        r |= WRITE;
                    }
                    if bits & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                        r |= ERROR;
                    }
                    ready.push((data as i32, r));
                }
            }
            Poller::Poll { fds, .. } => {
                sys.poll_fds(fds, -1)?;
                for p in fds.iter().filter(|p| p.revents != 0) {
                    let mut r = 0;
                    if p.revents & libc::POLLIN != 0 {
                        r |= READ;
                    }
                    if p.revents & libc::POLLOUT != 0 {
                        r |= WRITE;
                    }
                    if p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                        r |= ERROR;
                    }
                    ready.push((p.fd, r));
                }
            }
        }
        Ok(())
    }

    pub(super) fn close(self, sys: &Sys) -> Result<()> {
        match self {
            Poller::Epoll { ep, .. } => sys.close(ep),
            Poller::Poll { .. } => Ok(()),
        }
    }
}
