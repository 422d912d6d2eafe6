//! `socklab tcp server` and `socklab tcp client`, over IPv4 or IPv6.
//!
//! Server: 1. `socket(AF_INET[6], SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)`;
//! 2. `setsockopt(SOL_SOCKET, SO_REUSEADDR, [1])` with `--reuseaddr` only;
//! 3. `bind`; then the stream server of `stream.rs`: `listen`,
//! `getsockname`, `accept4`, `recvfrom`/`sendto` loop, `close`.
//!
//! Client: `socket`, `connect`, `sendto`/`recvfrom` per message, `close`
//! (see `stream.rs`).

use nix::sys::socket::SockType;

use crate::output::Output;
use crate::programs::stream::{self, ClientOpts, ServerOpts};
use crate::socket::messages::Messages;
use crate::socket::modes;
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::Result;

pub fn server(sys: &Sys, out: &Output, addr: &Addr, opts: &ServerOpts) -> Result<()> {
    let listener = modes::bound_socket(
        sys,
        out,
        addr,
        SockType::Stream,
        opts.reuseaddr,
        &opts.setup,
    )?;
    stream::serve(sys, out, listener, opts)
}

pub fn client(
    sys: &Sys,
    out: &Output,
    addr: &Addr,
    messages: Messages,
    opts: &ClientOpts,
) -> Result<()> {
    stream::client(sys, out, addr, messages, opts)
}
