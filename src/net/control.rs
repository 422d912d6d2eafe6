//! The control socket's client side (the forwarder serves it,
//! `forward.rs`), `/run/socklab/NAME/ctl` (AF_UNIX, SOCK_STREAM):
//! one request a connection, one line (`show`, `set SPEC`, `stop`),
//! answered with text and closed. `ok` or `error: ...` starts the answer.
//! The forwarder's pid is the socket's SO_PEERCRED.

use std::time::Duration;

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, Shutdown, SockType};

use super::{Names, quiet_sys};
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// Ask the forwarder of `names` (None: nothing answers at the socket:
/// no such network, or its forwarder died). Returns the answer after
/// its `ok` line, and the forwarder's pid.
pub fn request(names: &Names, req: &str) -> Result<Option<(String, i32)>> {
    let sys = quiet_sys();
    let s = sys.socket(AddressFamily::Unix, SockType::Stream)?;
    let addr = Addr::parse_unix(&names.ctl_path().to_string_lossy()).map_err(Error::Usage)?;
    if sys.connect(s, &addr).is_err() {
        sys.close(s)?;
        return Ok(None);
    }
    let pid = sys.peercred(s).map(|c| c.pid).unwrap_or(0);
    let answer = exchange(&sys, s, req);
    sys.close(s)?;
    let answer = answer?;
    match answer.strip_prefix("ok\n") {
        Some(rest) => Ok(Some((rest.to_string(), pid))),
        None => Err(Error::Usage(
            answer.trim().trim_start_matches("error: ").to_string(),
        )),
    }
}

fn exchange(sys: &Sys, s: crate::sys::Socket, req: &str) -> Result<String> {
    sys.write(s, format!("{req}\n").as_bytes())?;
    sys.shutdown(s, Shutdown::Write)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if sys.poll(s, PollFlags::POLLIN, 1000)?.is_empty() {
            continue;
        }
        match sys.read(s, &mut buf)? {
            0 => break,
            n => out.extend_from_slice(buf.get(..n).unwrap_or(&[])),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
