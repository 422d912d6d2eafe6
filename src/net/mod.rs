//! The lab network (issue 16): two hosts, network namespaces `N-a` and
//! `N-b` (`socklab-a`, `socklab-b` by default), joined by a link that
//! socklab itself drives, packet by packet: delay, jitter, loss, drops,
//! duplication, reordering, rate, queue, MTU (with the ICMP a router
//! sends back), blackhole, down. No netem needed (this kernel has none).
//!
//! The link is a userspace forwarder between a TAP device in each host
//! (`eth0`), as mahimahi does with TUN. TAP, not AF_PACKET on a veth
//! pair: a veth hands a packet socket frames with checksums still to be
//! filled in and TSO super-frames of 64 KB (the offloads, which only
//! ethtool turns off, and there is no ethtool here), while a TAP device
//! without IFF_VNET_HDR gets every frame segmented and checksummed by
//! the kernel, the size the link carries. TAP, not TUN: Ethernet frames,
//! so ARP and neighbour discovery cross the link as on a real one (a
//! connect to an address nobody has fails with EHOSTUNREACH), and
//! tcpdump in a host sees what it would see on a wire. The TAP devices
//! are made in the root namespace and moved into the hosts (so that
//! their indexes are no root interface's: `forward.rs`), and belong to
//! the forwarder's fds: when it exits, however it exits, the
//! hosts' eth0 go away with it.
//!
//! Files: `spec.rs` (the SPEC), `link.rs` (the decisions), `icmp.rs`
//! (the router's ICMP), `forward.rs` (the forwarder process),
//! `control.rs` (its control socket: show, set, stop), `hosts.rs` (the
//! namespaces through `ip`, the state directory), `session.rs` (up,
//! down, run, exec as the command line calls them).

pub mod control;
mod forward;
pub mod hosts;
pub mod icmp;
pub mod link;
pub mod session;
pub mod spec;

pub use session::{down, exec, forward_main, run, set, show, up};

use std::path::PathBuf;

use crate::strace::{Format, Tracer};
use crate::sys::Sys;
use crate::values::error::{Error, Result};

/// The hosts' interface, the forwarder's TAP device in each.
pub const TAP: &str = "eth0";

/// A network's name and its hosts' namespaces.
#[derive(Clone, Debug)]
pub struct Names {
    pub name: String,
    pub a: String,
    pub b: String,
}

impl Names {
    /// `--name N` (default `socklab`): 1 to 12 of [a-z0-9-], so that
    /// `N-a` is a namespace name and `/run/socklab/N` a plain directory.
    pub fn new(name: Option<&str>) -> Result<Names> {
        let name = name.unwrap_or("socklab");
        let ok = !name.is_empty()
            && name.len() <= 12
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(Error::Usage(format!(
                "bad network name '{}': 1 to 12 of a-z, 0-9 and -",
                crate::values::error::printable(name)
            )));
        }
        Ok(Names {
            name: name.to_string(),
            a: format!("{name}-a"),
            b: format!("{name}-b"),
        })
    }

    pub fn ctl_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/socklab/{}/ctl", self.name))
    }

    /// The namespace of host `a` or `b`.
    pub fn host(&self, host: &str) -> Result<&str> {
        match host {
            "a" => Ok(&self.a),
            "b" => Ok(&self.b),
            _ => Err(Error::Usage(format!(
                "bad host '{}': a or b",
                crate::values::error::printable(host)
            ))),
        }
    }
}

/// A `sys` that traces nothing: the network's own calls are not the
/// programs' (strace -f shows them).
pub fn quiet_sys() -> Sys {
    Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink())))
}

/// Root (CAP_NET_ADMIN, CAP_SYS_ADMIN for the namespaces' mounts) or a
/// one-line error.
pub fn need_root() -> Result<()> {
    if crate::sys::untraced::geteuid() != 0 {
        return Err(Error::Runtime(
            "socklab net needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN: namespaces, TAP devices); \
             hint: run it with sudo"
                .to_string(),
        ));
    }
    Ok(())
}
