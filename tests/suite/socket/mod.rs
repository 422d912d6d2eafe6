//! The socket object's switches: non-blocking and timeout modes, the
//! kernel's timeouts, the four connect_ex results, send vs sendall, and
//! socket options set, read back and listed.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The test's own peer sockets (a silent UDP port, a full accept queue) are
// the test's, not socklab's: the sys-only rule does not apply to them.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod modes;
mod sockopts;

use crate::harness::{Server, run, socklab};

fn silent_udp() -> (std::net::UdpSocket, String) {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap().to_string();
    (s, addr)
}
