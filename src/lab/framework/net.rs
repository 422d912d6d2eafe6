//! The lab network for a lab (src/net/): hosts a (192.0.2.1) and b
//! (192.0.2.2) and the link between them, up for one lab, down when it
//! ends (on drop, whatever happened). A side's thread enters its host
//! with `setns` ([`LabNet::inside`]) and comes back before the lab ends.
//! Needs root, as `socklab net` does.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use super::Ctx;
use crate::strace::Timeline;

use crate::net::session::{self, UpOptions};
use crate::net::{Names, control, hosts, quiet_sys};
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub struct LabNet {
    names: Names,
    child: Option<Child>,
    /// Under `--wire`: the thread putting the link's lines on the timeline.
    wire: Option<JoinHandle<()>>,
}

impl LabNet {
    /// Up for the lab of `ctx`, with `link` (a SPEC) and `sysctls` in
    /// both hosts. Under `--wire`, every IPv4
    /// frame and ARP the link handles is a `  link | ...` line of the
    /// lab's timeline, with the link's decision (`[dropped (blackhole)]`);
    /// the hosts' IPv6 chatter (router solicitations, MLD) is left out.
    pub fn up_for(ctx: &Ctx, link: &str, sysctls: &[&str]) -> Result<LabNet> {
        crate::net::need_root()?;
        super::replay::net_up(link, sysctls);
        ctx.note_once("lab", super::own::NET);
        let timeline: Option<Arc<dyn Timeline>> = ctx.tracer.timeline();
        // The full pid (pid_max is at most 4194304: 10 characters), so
        // that a later lab can tell a network whose lab is gone.
        let names = Names::new(Some(&format!("lab{}", std::process::id())))?;
        session::sweep_dead_labs(&names);
        hosts::quiet();
        let o = UpOptions {
            link: link.to_string(),
            sysctls: sysctls.iter().map(|s| s.to_string()).collect(),
            wire: timeline.is_some(),
            wire_piped: true,
            pcap: None,
        };
        let mut child = session::start(&names, &o)?;
        let wire = match (timeline, child.stdout.take()) {
            (Some(t), Some(out)) => Some(std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                    // `  0.001234 b>a IP ...`: the time is the timeline's.
                    let frame = line.trim_start().split_once(' ').map_or("", |(_, f)| f);
                    if !frame.contains(" IP6 ") {
                        t.note(SystemTime::now(), format!("  link | {frame}"));
                    }
                }
            })),
            _ => None,
        };
        Ok(LabNet {
            names,
            child: Some(child),
            wire,
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

    /// Change the link while it runs (`net set SPEC`: `blackhole`, `down`).
    /// The timeline shows it as the script line that does the same
    /// (`net | set SPEC`), so that the lab's record replays.
    pub fn set(&self, spec: &str) -> Result<()> {
        super::replay::net_set(spec, &self.names.name);
        control::request(&self.names, &format!("set {spec}"))?
            .map(|_| ())
            .ok_or_else(|| Error::Runtime("the lab network's forwarder is gone".into()))
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
        // The forwarder is gone: its pipe ends, and so does the thread.
        if let Some(w) = self.wire.take() {
            let _ = w.join();
        }
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
