//! Labels (issue 14, rule 3): the fds, ports and abstract names a script
//! writes stand for what this run got. The first time one appears in a
//! result it is bound; later it means that value, in any position. Script
//! names (`s = socket(...)`) are labels too, bound by the line that names
//! them. Only the main thread of the runner holds them.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::RawFd;

/// An fd label's binding: the fd this run got, and whether it is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    fd: RawFd,
    open: bool,
}

/// What the script's labels mean in this run.
#[derive(Debug, Default)]
pub struct Labels {
    /// fd as written -> fd of this run (0, 1, 2 stand for themselves).
    fds: BTreeMap<i64, Bound>,
    /// `NAME = call(...)`: NAME -> the fd it returned.
    names: BTreeMap<String, RawFd>,
    /// `NAME = socketpair(...)`: NAME -> both fds (`NAME[0]`, `NAME[1]`).
    pairs: BTreeMap<String, [RawFd; 2]>,
    /// port as written -> port of this run.
    ports: BTreeMap<u16, u16>,
    /// port as written -> the fds (by `fd_ids`) open when a result last
    /// showed it: once all are closed, its sockets are gone.
    port_seen: BTreeMap<u16, Vec<u64>>,
    /// Each open fd's id (fd numbers are given again; ids are not).
    fd_ids: BTreeMap<RawFd, u64>,
    next_fd_id: u64,
    /// port as written -> the socket (by `fd_ids`) whose call showed it:
    /// accept4's new one, else the call's fd (`checking_fd`).
    port_holder: BTreeMap<u16, u64>,
    /// The socket of the call being checked.
    checking: Option<RawFd>,
    /// abstract or autobind name as written -> as this run got it.
    names_abstract: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Every fd the script opened and has not closed, in the order opened.
    open: Vec<RawFd>,
    /// pid as written (a fork's result) -> pid of this run.
    pids: BTreeMap<i64, i64>,
    /// epoll data numbers an epoll_ctl line wrote as its fd's label
    /// (epoll_data.rs): epoll_wait's `data=` N is then that fd.
    epoll_data: BTreeSet<i64>,
}

/// Whether an fd label was just bound or compared.
#[derive(Debug, PartialEq, Eq)]
pub enum Unified {
    Bound,
    Same,
    /// The label already means another open fd: (it means, this run got).
    Differs(RawFd, RawFd),
}

impl Labels {
    pub fn new() -> Labels {
        let mut l = Labels::default();
        for fd in 0..=2 {
            l.fds.insert(
                fd,
                Bound {
                    fd: fd as RawFd,
                    open: true,
                },
            );
        }
        l
    }

    /// The fd a written fd stands for (None: never bound).
    pub fn fd(&self, written: i64) -> Option<RawFd> {
        self.fds.get(&written).map(|b| b.fd)
    }

    /// An fd a result shows as `written` (socket's `= 3`, socketpair's
    /// `[3, 4]`, SCM_RIGHTS' `cmsg_data=[5]`): bound when the label is
    /// new or its fd was closed, else compared.
    pub fn result_fd(&mut self, written: i64, got: RawFd) -> Unified {
        match self.fds.get(&written) {
            Some(b) if b.open && b.fd != got => Unified::Differs(b.fd, got),
            Some(b) if b.open => Unified::Same,
            _ => {
                self.fds.insert(
                    written,
                    Bound {
                        fd: got,
                        open: true,
                    },
                );
                Unified::Bound
            }
        }
    }

    /// An epoll_ctl line passed the fd label `written` as its data.
    pub fn epoll_data_fd(&mut self, written: i64) {
        self.epoll_data.insert(written);
    }

    /// Whether epoll_wait's `data=` `written` is an fd label (else a number).
    pub fn is_epoll_data_fd(&self, written: i64) -> bool {
        self.epoll_data.contains(&written)
    }

    /// The fd a script name stands for.
    pub fn name(&self, name: &str) -> Option<RawFd> {
        self.names.get(name).copied()
    }

    pub fn bind_name(&mut self, name: &str, fd: RawFd) {
        self.names.insert(name.to_string(), fd);
    }

    /// One fd of a pair bound by `NAME = socketpair(...)`.
    pub fn pair(&self, name: &str, i: usize) -> Option<RawFd> {
        self.pairs.get(name).and_then(|p| p.get(i).copied())
    }

    pub fn bind_pair(&mut self, name: &str, fds: [RawFd; 2]) {
        self.pairs.insert(name.to_string(), fds);
    }

    /// A new fd of this run (to close at the end if the script does not).
    pub fn opened(&mut self, fd: RawFd) {
        if !self.open.contains(&fd) {
            self.open.push(fd);
            self.next_fd_id += 1;
            self.fd_ids.insert(fd, self.next_fd_id);
        }
    }

    /// `fd` closed: labels that meant it are closed too (a later result
    /// may bind them again; a use still means the old number, for EBADF).
    pub fn closed(&mut self, fd: RawFd) {
        self.open.retain(|&f| f != fd);
        self.fd_ids.remove(&fd);
        for b in self.fds.values_mut() {
            if b.fd == fd {
                b.open = false;
            }
        }
    }

    /// `fd` closed by a process actor (in its own fd table): labels
    /// that meant it may be bound again; this process's fd stays open.
    pub fn closed_elsewhere(&mut self, fd: RawFd) {
        for b in self.fds.values_mut() {
            if b.fd == fd {
                b.open = false;
            }
        }
    }

    /// A pid a fork or wait4 returned, shown as `written`: bound when
    /// new, else compared (pids are labels too).
    pub fn result_pid(&mut self, written: i64, got: i64) -> bool {
        *self.pids.entry(written).or_insert(got) == got
    }

    /// The pid a written pid stands for (itself if never bound).
    pub fn pid(&self, written: i64) -> i64 {
        self.pids.get(&written).copied().unwrap_or(written)
    }

    /// The fds still open, in the order they were opened.
    pub fn still_open(&self) -> Vec<RawFd> {
        self.open.clone()
    }

    /// The port a written port stands for: its binding, or itself (a
    /// port first written in an input is used as written, and bound so).
    pub fn port_in(&mut self, written: u16) -> u16 {
        if written == 0 {
            return 0;
        }
        *self.ports.entry(written).or_insert(written)
    }

    /// A port a result shows: bound when new (port 0 never is a label),
    /// else compared. True when it holds.
    pub fn port_out(&mut self, written: u16, got: u16) -> bool {
        if written == 0 {
            return got == 0;
        }
        // A port whose sockets are all closed may be given again: the
        // record's kernel gave it to a new client or listener, this
        // run's gave another port (and the converse below).
        if let Some(&p) = self.ports.get(&written)
            && p != got
            && !self.port_gone(written)
        {
            return false;
        }
        // Another label may have this port once its sockets are gone:
        // the kernel gives a closed connection's port again (loopback's
        // tcp_tw_reuse=2 takes it out of TIME_WAIT), so a replay's
        // clients can share one where the record's had two.
        let held = |(&w, &p): (&u16, &u16)| w != written && p == got && !self.port_gone(w);
        if self.ports.iter().any(held) {
            return false;
        }
        self.ports.insert(written, got);
        self.port_seen
            .insert(written, self.fd_ids.values().copied().collect());
        match self.checking.and_then(|fd| self.fd_ids.get(&fd)) {
            Some(&id) => self.port_holder.insert(written, id),
            None => self.port_holder.remove(&written),
        };
        true
    }

    /// The socket whose call is being checked (a port it shows is
    /// that socket's): accept4's new one, else the call's fd.
    pub fn checking_fd(&mut self, fd: Option<RawFd>) {
        self.checking = fd;
    }

    /// Whether the port label `written`'s socket is closed: the one
    /// whose call showed it, or else every fd open then (false when none
    /// was open: nothing says so).
    fn port_gone(&self, written: u16) -> bool {
        let closed = |id: &u64| !self.fd_ids.values().any(|v| v == id);
        if self.port_holder.get(&written).is_some_and(closed) {
            return true;
        }
        self.port_seen
            .get(&written)
            .is_some_and(|seen| !seen.is_empty() && seen.iter().all(closed))
    }

    /// The abstract name an input means (its binding, or itself).
    pub fn abstract_in(&self, written: &[u8]) -> Vec<u8> {
        self.names_abstract
            .get(written)
            .cloned()
            .unwrap_or_else(|| written.to_vec())
    }

    /// An abstract name a result shows: bound when new, else compared.
    pub fn abstract_out(&mut self, written: &[u8], got: &[u8]) -> bool {
        self.names_abstract
            .entry(written.to_vec())
            .or_insert_with(|| got.to_vec())
            .as_slice()
            == got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fds_bind_once_then_compare_and_rebind_after_close() {
        let mut l = Labels::new();
        assert_eq!(l.fd(1), Some(1));
        assert_eq!(l.fd(3), None);
        assert_eq!(l.result_fd(3, 7), Unified::Bound);
        assert_eq!(l.fd(3), Some(7));
        assert_eq!(l.result_fd(3, 7), Unified::Same);
        assert_eq!(l.result_fd(3, 8), Unified::Differs(7, 8));
        l.opened(7);
        l.closed(7);
        assert!(l.still_open().is_empty());
        assert_eq!(l.fd(3), Some(7), "a closed label still means its fd");
        assert_eq!(l.result_fd(3, 9), Unified::Bound);
        assert_eq!(l.fd(3), Some(9));
    }

    #[test]
    fn ports_zero_is_never_a_label_and_inputs_bind_themselves() {
        let mut l = Labels::new();
        assert!(l.port_out(0, 0));
        assert!(!l.port_out(0, 5));
        assert!(l.port_out(40000, 51234));
        assert_eq!(l.port_in(40000), 51234);
        assert!(!l.port_out(40000, 51235));
        assert_eq!(l.port_in(8081), 8081);
        assert!(!l.port_out(8081, 9000));
        assert!(!l.port_out(40001, 51234), "another label's port");
        assert!(l.abstract_out(b"00001", b"0002a"));
        assert_eq!(l.abstract_in(b"00001"), b"0002a".to_vec());
        assert_eq!(l.abstract_in(b"x"), b"x".to_vec());
    }

    #[test]
    fn a_port_label_whose_sockets_are_closed_may_mean_another_port() {
        let mut l = Labels::new();
        l.opened(3);
        assert!(l.port_out(40000, 51234));
        assert!(!l.port_out(40000, 51235), "fd 3 still open");
        l.opened(4);
        assert!(l.port_out(40000, 51234));
        l.closed(3);
        assert!(!l.port_out(40000, 51235), "fd 4 was open when it was shown");
        l.closed(4);
        l.opened(3);
        assert!(l.port_out(40000, 51235), "its sockets are gone");
        assert_eq!(l.port_in(40000), 51235);
        assert!(!l.port_out(40000, 51236), "the new fd 3 is open");
        l.closed(3);
        l.opened(5);
        assert!(l.port_out(40001, 51235), "a port given again");
    }

    #[test]
    fn a_port_label_is_free_once_the_socket_that_showed_it_is_closed() {
        let mut l = Labels::new();
        l.opened(3); // a listener, open throughout
        l.opened(4);
        l.checking_fd(Some(4));
        assert!(l.port_out(40000, 51234));
        assert!(!l.port_out(40001, 51234), "fd 4 is open");
        l.closed(4);
        l.opened(4);
        l.checking_fd(Some(4));
        assert!(l.port_out(40001, 51234), "the fd that showed it closed");
    }
}
