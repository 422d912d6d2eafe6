//! `socklab udp server` and `socklab udp client`, over IPv4 or IPv6.
//!
//! Server: 1. `socket(AF_INET[6], SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP)`;
//! 2. `setsockopt(SO_REUSEADDR)` with `--reuseaddr` only; 3. `bind`; then
//! the datagram server of `dgram.rs`: `getsockname`, `recvfrom`/`sendto`
//! loop, `close` (`--batch N`: `dgram_batch.rs`, recvmmsg/sendmmsg).
//!
//! Client: `socket`, [`connect`], `sendto`/`recvfrom` per line (empty lines
//! are real, empty datagrams), `close` (see `dgram.rs`).

use nix::sys::socket::SockType;

use crate::output::Output;
use crate::programs::dgram::{self, ClientOpts, ServerOpts};
use crate::programs::dgram_batch;
use crate::socket::messages::Messages;
use crate::socket::modes;
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::Result;

pub fn server(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    reuseaddr: bool,
    opts: &ServerOpts,
) -> Result<()> {
    let s = modes::bound_socket(sys, out, addr, SockType::Datagram, reuseaddr, &opts.setup)?;
    match opts.batch {
        Some(n) => dgram_batch::serve(sys, out, s, opts, n),
        None => dgram::serve(sys, out, s, opts),
    }
}

pub fn client(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &ClientOpts,
) -> Result<()> {
    dgram::client(sys, out, addr, messages, opts)
}
