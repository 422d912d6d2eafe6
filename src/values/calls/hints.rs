//! The hints that hold for any call, after a call's own (its row's).

use nix::errno::Errno::*;

use super::{Hint, When};

/// Hints that hold for any call, after the call's own.
pub static GENERIC_HINTS: &[Hint] = &[
    Hint {
        errnos: &[EADDRINUSE],
        when: When::Any,
        text: "the local address is taken; use port 0 for an ephemeral port",
    },
    Hint {
        errnos: &[EACCES],
        when: When::Unix,
        text: "no permission on the socket file or a directory on its path (connect needs write permission on the socket)",
    },
    Hint {
        errnos: &[ECONNREFUSED],
        when: When::Unix,
        text: "nothing is bound to it: a stale socket file left by a program that ended, or an abstract name nobody holds",
    },
    Hint {
        errnos: &[ECONNREFUSED],
        when: When::Any,
        text: "no server is listening on this address and port (the peer answered with RST, or ICMP port unreachable for UDP)",
    },
    Hint {
        errnos: &[ENOENT],
        when: When::Unix,
        text: "no socket file at this path: is the server running, and is the path the same on both sides?",
    },
    // Not sun_path's 107 bytes: a longer UNIX address is refused before
    // the call, and within 108 bytes no name passes NAME_MAX or PATH_MAX
    // (the kernel says EINVAL for a sockaddr_un too long).
    Hint {
        errnos: &[ENAMETOOLONG],
        when: When::Any,
        text: "a file name holds at most 255 bytes (NAME_MAX), a whole path at most 4095 (PATH_MAX)",
    },
    Hint {
        errnos: &[EPIPE],
        when: When::Any,
        text: "the connection is closed for writing: the peer closed it, or it was never connected (check connect's result)",
    },
    Hint {
        errnos: &[ECONNRESET],
        when: When::Any,
        text: "the peer reset the connection (RST): it closed with unread data, or exited, or used SO_LINGER 0",
    },
    Hint {
        errnos: &[EAGAIN],
        when: When::Any,
        text: "the call would block (non-blocking socket, or SO_RCVTIMEO/SO_SNDTIMEO expired); wait with poll and retry",
    },
    Hint {
        errnos: &[EINPROGRESS],
        when: When::Any,
        text: "a non-blocking connect is under way; poll for POLLOUT, then read SO_ERROR",
    },
    Hint {
        errnos: &[EADDRNOTAVAIL],
        when: When::Any,
        text: "this address is not configured on any local interface of this host or network namespace (ip -br addr lists them; loopback is 127.0.0.1 and ::1)",
    },
    Hint {
        errnos: &[ENOTCONN],
        when: When::Any,
        text: "the socket is not connected: connect first, or name the peer with sendto",
    },
    Hint {
        errnos: &[EAFNOSUPPORT],
        when: When::Any,
        text: "this address family is not available in this kernel or namespace",
    },
    Hint {
        errnos: &[EMFILE, ENFILE],
        when: When::Any,
        text: "out of file descriptors: raise ulimit -n, or close sockets you no longer use",
    },
];
