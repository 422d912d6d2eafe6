//! The lab network for a lab (src/net/): hosts a (192.0.2.1) and b
//! (192.0.2.2) and the link between them, up for one lab, down when it
//! ends (on drop, whatever happened). A side's thread enters its host
//! with `setns` ([`LabNet::inside`]) and comes back before the lab ends.
//! Needs root, as `socklab net` does.

use std::path::Path;
use std::process::Child;

use crate::net::session::{self, UpOptions};
use crate::net::{Names, control, hosts, quiet_sys};
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub struct LabNet {
    names: Names,
    child: Option<Child>,
}

impl LabNet {
    /// Up with `link` (a SPEC) and `sysctls` in both hosts.
    pub fn up(link: &str, sysctls: &[&str]) -> Result<LabNet> {
        crate::net::need_root()?;
        super::replay::net_up(link, sysctls);
        let names = Names::new(Some(&format!("lab{}", std::process::id() % 1_000_000)))?;
        hosts::quiet();
        let o = UpOptions {
            link: link.to_string(),
            sysctls: sysctls.iter().map(|s| s.to_string()).collect(),
            wire: false,
            pcap: None,
        };
        let child = session::start(&names, &o)?;
        Ok(LabNet {
            names,
            child: Some(child),
        })
    }

    /// Run `f` on this thread inside host `a` or `b` (setns through
    /// `sys`, untraced: the lab's notes say where each side is), then
    /// back in the namespace the thread was in. Meanwhile the thread's
    /// lines are tagged `SIDE@HOST` (`client@b`), as a script's actor on
    /// that host, so that the lab's timeline replays there.
    pub fn inside<T>(&self, host: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let sys = quiet_sys();
        let ns = self.names.host(host)?;
        let home = sys.openat(None, Path::new("/proc/thread-self/ns/net"), 0)?;
        let fd = sys.openat(None, &Path::new("/run/netns").join(ns), 0)?;
        let entered = sys.setns_net(fd.fd());
        sys.close_dir(fd)?;
        let r = entered.and_then(|()| {
            let _tag = crate::strace::host::on_host(host);
            f()
        });
        let back = sys.setns_net(home.fd());
        sys.close_dir(home)?;
        back?;
        r
    }

    /// How many packets the link dropped in one direction (`a>b` or
    /// `b>a`) for `reason` (`blackhole`, `loss 5%`), from `net show`.
    pub fn dropped(&self, dir: &str, reason: &str) -> Result<u64> {
        let (text, _) = control::request(&self.names, "show")?
            .ok_or_else(|| Error::Runtime("the lab network's forwarder is gone".into()))?;
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{dir}: ")))
            .unwrap_or("");
        let key = format!("{reason}: ");
        Ok(line
            .find(&key)
            .map(|at| {
                line[at + key.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

impl Drop for LabNet {
    fn drop(&mut self) {
        let _ = session::stop(&quiet_sys(), &self.names, self.child.take());
    }
}

/// `HOST:PORT` on the lab network (192.0.2.1:0, 192.0.2.3:80).
pub fn net_addr(s: &str) -> Result<Addr> {
    Addr::parse_inet(s).map_err(Error::Runtime)
}

/// A quiet sys a lab can use for a loop it summarises in a note.
pub fn untraced() -> Sys {
    quiet_sys()
}
