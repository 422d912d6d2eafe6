//! The control socket, `/run/socklab/NAME/ctl` (AF_UNIX, SOCK_STREAM):
//! one request a connection, one line (`show`, `set SPEC`, `stop`),
//! answered with text and closed. `ok` or `error: ...` starts the answer.
//! The forwarder's pid is the socket's SO_PEERCRED.

use std::time::Duration;

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, Shutdown, SockType};

use super::forward::Forwarder;
use super::link::Direction;
use super::{Names, quiet_sys};
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

/// Serve one connection that is waiting on the listener.
pub fn serve_one(f: &mut Forwarder) -> Result<()> {
    let sys = f.sys.clone();
    let ctl = f.ctl_socket();
    let (conn, _) = sys.accept4(ctl)?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    // A client has 1 s to send its line and shut down its side.
    while req.len() < 4096 && !sys.poll(conn, PollFlags::POLLIN, 1000)?.is_empty() {
        match sys.read(conn, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(buf.get(..n).unwrap_or(&[])),
        }
    }
    let req = String::from_utf8_lossy(&req).trim().to_string();
    let answer = match req.split_once(' ').unwrap_or((req.as_str(), "")) {
        ("show", _) => format!("ok\n{}", show(f)),
        ("set", spec) => match f.set(spec) {
            Ok(()) => format!("ok\n{}", link_lines(f)),
            Err(e) => format!("error: {e}\n"),
        },
        ("stop", _) => {
            f.stop = true;
            "ok\n".to_string()
        }
        _ => format!("error: unknown request '{req}'\n"),
    };
    let _ = sys.write(conn, answer.as_bytes());
    sys.close(conn)
}

fn link_lines(f: &Forwarder) -> String {
    format!(
        "link a>b: {}\nlink b>a: {}\nseed: {}\n",
        f.link.ab, f.link.ba, f.link.seed
    )
}

fn counters(name: &str, d: &Direction) -> String {
    let mut s = format!(
        "{name}: forwarded {}, delayed {}, duplicated {}, in the link {}, icmp sent {}",
        d.forwarded, d.delayed, d.duplicated, d.queued, d.icmp_sent
    );
    let dropped: u64 = d.dropped.values().sum();
    s.push_str(&format!(", dropped {dropped}"));
    if dropped > 0 {
        let why: Vec<String> = d.dropped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        s.push_str(&format!(" ({})", why.join(", ")));
    }
    s + "\n"
}

fn show(f: &Forwarder) -> String {
    let n = &f.names;
    format!(
        "network {}: forwarder pid {}\nhost a: netns {}, eth0 192.0.2.1/24 2001:db8::1/64\n\
         host b: netns {}, eth0 192.0.2.2/24 2001:db8::2/64\n{}{}{}",
        n.name,
        std::process::id(),
        n.a,
        n.b,
        link_lines(f),
        counters("a>b", &f.dirs[0]),
        counters("b>a", &f.dirs[1]),
    )
}

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
