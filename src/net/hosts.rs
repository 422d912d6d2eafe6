//! The hosts and the state directory.
//!
//! The namespaces are made and configured by iproute2's `ip` (run as a
//! child, each command printed on stderr as `+ ip ...`), so they are
//! exactly what `ip netns add` makes (a bind mount at /run/netns/NAME)
//! and `ip netns exec`, tcpdump and every other tool find them; socklab
//! adds no netlink code of its own. Per host (N-a, N-b):
//! `ip netns add`, then once the forwarder has made its TAP in the root
//! namespace (`socklab0`, named by the kernel): `ip link set dev TAP
//! netns NS name eth0` (moved, it keeps the index the root gave it,
//! which no root interface has: see `forward.rs`), `ip -n NS link set
//! lo up`, `link set eth0 address 02:00:00:00:00:0X`
//! (fixed MACs: the same seed gives the same frames),
//! `addr add 192.0.2.X/24 dev eth0`, `addr add 2001:db8::X/64 dev eth0
//! nodad`, `link set eth0 up`. No route is added: each host reaches the
//! other's subnet and nothing else.
//!
//! The state: `/run/socklab` (0700) and `/run/socklab/NAME` (0700, made
//! exclusively: mkdirat fails with EEXIST if it is there), holding the
//! control socket `ctl` only.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Names, TAP};
use crate::sys::{FileKind, Sys};
use crate::values::error::{Error, Result};

/// Whether `ip` commands are printed (not in a lab, whose timeline says
/// what the network is instead).
static ECHO: AtomicBool = AtomicBool::new(true);

/// Stop printing the `ip` commands (a lab's network).
pub fn quiet() {
    ECHO.store(false, Ordering::Relaxed);
}

/// Run `ip ARGS`, printed first; its error output becomes ours.
pub fn ip(args: &[&str]) -> Result<()> {
    run(
        Command::new("ip").args(args),
        &format!("ip {}", args.join(" ")),
    )
}

fn run(cmd: &mut Command, shown: &str) -> Result<()> {
    if ECHO.load(Ordering::Relaxed) {
        eprintln!("+ {shown}");
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::Runtime(format!("{shown}: {e} (is iproute2 installed?)")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(Error::Runtime(format!(
        "{shown} failed: {}",
        err.lines().next().unwrap_or("no message")
    )))
}

/// Whether the namespace `ns` is there (/run/netns/NS).
pub fn exists(sys: &Sys, ns: &str) -> bool {
    matches!(
        sys.newfstatat(&Path::new("/run/netns").join(ns)),
        Ok(Some(_))
    )
}

pub fn add_namespaces(names: &Names) -> Result<()> {
    for ns in [&names.a, &names.b] {
        ip(&["netns", "add", ns])?;
    }
    Ok(())
}

/// The taps (their names in the root namespace) moved into the hosts
/// as eth0, addresses and links; then the `--sysctl`s.
pub fn configure(names: &Names, taps: &[String; 2], sysctls: &[String]) -> Result<()> {
    for ((ns, n), tap) in [(&names.a, 1), (&names.b, 2)].into_iter().zip(taps) {
        let mac = format!("02:00:00:00:00:0{n}");
        let v4 = format!("192.0.2.{n}/24");
        let v6 = format!("2001:db8::{n}/64");
        ip(&["link", "set", "dev", tap, "netns", ns, "name", TAP])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&["-n", ns, "link", "set", "eth0", "address", &mac])?;
        ip(&["-n", ns, "addr", "add", &v4, "dev", "eth0"])?;
        ip(&["-n", ns, "addr", "add", &v6, "dev", "eth0", "nodad"])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        for s in sysctls {
            let shown = format!("ip netns exec {ns} sysctl -q -w {s}");
            run(
                Command::new("ip").args(["netns", "exec", ns, "sysctl", "-q", "-w", s]),
                &shown,
            )?;
        }
    }
    Ok(())
}

/// Delete the namespaces that are there; what was deleted.
pub fn delete_namespaces(sys: &Sys, names: &Names) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for ns in [&names.a, &names.b] {
        if exists(sys, ns) {
            ip(&["netns", "del", ns])?;
            gone.push(format!("netns {ns}"));
        }
    }
    Ok(gone)
}

/// `/run/socklab/NAME`, made exclusively (Ok(false): it was there).
pub fn make_state_dir(sys: &Sys, names: &Names) -> Result<bool> {
    match sys.mkdirat(None, OsStr::new("/run/socklab"), 0o700) {
        Ok(()) => {}
        Err(e) if e.errno() == Some(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    let run = sys.openat(
        None,
        Path::new("/run/socklab"),
        libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )?;
    let made = sys.mkdirat(Some(run), OsStr::new(&names.name), 0o700);
    sys.close_dir(run)?;
    match made {
        Ok(()) => Ok(true),
        Err(e) if e.errno() == Some(nix::errno::Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Remove the control socket (if it is a socket) and the directory;
/// what was removed.
pub fn remove_state_dir(sys: &Sys, names: &Names) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    let run = match sys.openat(
        None,
        Path::new("/run/socklab"),
        libc::O_DIRECTORY | libc::O_NOFOLLOW,
    ) {
        Ok(fd) => fd,
        Err(_) => return Ok(gone),
    };
    let dir = sys.openat(
        Some(run),
        Path::new(&names.name),
        libc::O_DIRECTORY | libc::O_NOFOLLOW,
    );
    if let Ok(dir) = dir {
        if let Ok(Some(id)) = sys.fstatat(dir, OsStr::new("ctl"))
            && id.kind == FileKind::Socket
        {
            sys.unlinkat(Some(dir), OsStr::new("ctl"), 0)?;
            gone.push(format!("{}", names.ctl_path().display()));
        }
        sys.close_dir(dir)?;
        sys.unlinkat(Some(run), OsStr::new(&names.name), libc::AT_REMOVEDIR)?;
        gone.push(format!("/run/socklab/{}", names.name));
    }
    sys.close_dir(run)?;
    Ok(gone)
}
