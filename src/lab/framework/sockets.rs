//! The sockets a lab sets up: loopback addresses on port 0, a listener,
//! a connected pair, options by name.

use nix::sys::socket::{AddressFamily, SockType};

use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// `127.0.0.1:0`.
pub fn loopback() -> Addr {
    any_port("127.0.0.1")
}

fn any_port(host: &str) -> Addr {
    match Addr::parse_inet(&format!("{host}:0")) {
        Ok(a) => a,
        Err(_) => Addr::unix_autobind(),
    }
}

/// The port of an inet address.
pub fn port(a: &Addr) -> u16 {
    a.to_string()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

pub fn with_port(port: u16) -> Result<Addr> {
    Addr::parse_inet(&format!("127.0.0.1:{port}")).map_err(Error::Runtime)
}

/// socket, bind 127.0.0.1:0, listen(backlog), getsockname: a TCP listener.
pub fn listener(sys: &Sys, backlog: i32) -> Result<(Socket, Addr)> {
    let s = sys.socket(AddressFamily::Inet, SockType::Stream)?;
    sys.bind(s, &loopback())?;
    sys.listen(s, backlog)?;
    let a = sys.getsockname(s)?;
    Ok((s, a))
}

/// socket, connect: a blocking TCP client.
pub fn dial(sys: &Sys, to: &Addr) -> Result<Socket> {
    let s = sys.socket(AddressFamily::Inet, SockType::Stream)?;
    sys.connect(s, to)?;
    Ok(s)
}

/// A connected TCP pair in one thread: listener (backlog 5), a blocking
/// connect (the kernel completes it without accept), accept4.
/// Returns (listener, client socket, accepted socket).
pub fn pair(cs: &Sys, ss: &Sys) -> Result<(Socket, Socket, Socket)> {
    let (l, addr) = listener(ss, 5)?;
    let c = dial(cs, &addr)?;
    let (conn, _) = ss.accept4(l)?;
    Ok((l, c, conn))
}

/// setsockopt by name with a value in `--sockopt` syntax (`1`, `on:0`, `2.0`).
pub fn setopt(sys: &Sys, s: Socket, name: &str, value: &str) -> Result<()> {
    let opt = crate::values::sockopt::lookup(name)
        .ok_or_else(|| Error::Runtime(format!("unknown option {name}")))?;
    let v = crate::values::sockopt::parse_value(opt.kind, value).map_err(Error::Runtime)?;
    sys.setsockopt(s, &opt, &v)
}

/// getsockopt of an int option by name.
pub fn getopt(sys: &Sys, s: Socket, name: &str) -> Result<i32> {
    let opt = crate::values::sockopt::lookup(name)
        .ok_or_else(|| Error::Runtime(format!("unknown option {name}")))?;
    Ok(sys.getsockopt(s, &opt)?.as_int().unwrap_or(0))
}
