//! The forwarder: the link between the hosts, a process of its own
//! (`socklab net __forward`, started by `net up` / `net run`).
//!
//! Its calls, in order (through `sys`, untraced):
//! 1. twice, in the forwarder's own (the root) namespace:
//!    `openat(AT_FDCWD, "/dev/net/tun", O_RDWR|O_CLOEXEC)`,
//!    `ioctl(fd, TUNSETIFF, {ifr_name="socklab%d", ifr_flags=IFF_TAP|IFF_NO_PI})`:
//!    a TAP device whose other end is this fd (it goes away with the
//!    process), named by the kernel (`socklab0`, ...). Its `ready` line
//!    names them; `net up` then moves each into its host as `eth0`
//!    (`hosts::configure`). Made in the root and moved, a host's eth0
//!    keeps the index the root gave it, which the root does not give
//!    again (it counts on): so no root interface has it, and a strace in
//!    the root prints it as the number, as socklab does
//!    (`values::sockaddr::ifindex`). Made inside the host, it would be
//!    index 2 there, which strace names after the root's own index 2.
//! 2. the control socket: `socket(AF_UNIX, SOCK_STREAM)`,
//!    `bind(/run/socklab/N/ctl)`, `listen`
//! 3. loop: `poll([tap a, tap b, ctl], ...)` until the next delayed
//!    packet is due; `read` a frame from a tap, judge it (`link.rs`),
//!    `write` it to the other tap now or later, or an ICMP back
//!    (`icmp.rs`); `accept4` a control connection, `read` its request,
//!    `write` the answer, `close`
//! 4. on `stop`: `close` the taps (the hosts' eth0 go away) and the
//!    control socket, and exit.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::PollFlags;
use nix::sys::socket::{AddressFamily, SockType};

use super::Names;
use super::icmp;
use super::link::{Direction, Kind, Verdict};
use super::spec::Link;
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};
use crate::wire::decode::decode;
use crate::wire::pcap;

/// The b>a direction draws from the seed xor this.
const BA_SEED: u64 = 0x5eed_b0a0;

/// A frame waiting for its time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Duration,
    seq: u64,
    dir: usize,
    frame: Vec<u8>,
}

pub struct Forwarder {
    pub sys: Sys,
    taps: [Socket; 2],
    ctl: Socket,
    pub link: Link,
    pub dirs: [Direction; 2],
    start: Instant,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    wire: bool,
    pcap: Option<pcap::Writer>,
    pub stop: bool,
    pub names: Names,
    /// The taps' names in the root namespace, until `net up` moves them.
    pub tap_names: [String; 2],
}

/// The name the kernel numbers (`socklab0`, `socklab1`, ...) for a TAP
/// device made in the root namespace before it moves into its host.
const TAP_PATTERN: &str = "socklab%d";

/// Make the two taps here (the root namespace); their fds and names.
fn taps(sys: &Sys) -> Result<([Socket; 2], [String; 2])> {
    let make = || -> Result<(Socket, String)> {
        let tap = sys.open_rdwr(Path::new("/dev/net/tun"))?;
        let name = sys.ioctl_tunsetiff_tap(tap, TAP_PATTERN)?;
        Ok((tap, name))
    };
    // On a failure the process exits: its fds, and the taps, go with it.
    let (a, name_a) = make()?;
    let (b, name_b) = make()?;
    Ok(([a, b], [name_a, name_b]))
}

impl Forwarder {
    pub fn start(
        names: Names,
        link: Link,
        wire: bool,
        pcap_path: Option<PathBuf>,
    ) -> Result<Forwarder> {
        let sys = super::quiet_sys();
        let (taps, tap_names) = taps(&sys)?;
        let ctl = sys.socket(AddressFamily::Unix, SockType::Stream)?;
        let path = names.ctl_path();
        let addr = Addr::parse_unix(&path.to_string_lossy()).map_err(Error::Usage)?;
        sys.bind(ctl, &addr)?;
        sys.listen(ctl, 8)?;
        let pcap = match pcap_path {
            Some(p) => Some(pcap::Writer::create(&p).map_err(|e| {
                Error::Runtime(format!(
                    "cannot create pcap file {}: {}",
                    p.display(),
                    crate::sys::untraced::output_error(&e)
                ))
            })?),
            None => None,
        };
        Ok(Forwarder {
            dirs: [
                Direction::new(link.ab.clone(), link.seed),
                Direction::new(link.ba.clone(), link.seed ^ BA_SEED),
            ],
            sys,
            taps,
            ctl,
            link,
            start: Instant::now(),
            pending: BinaryHeap::new(),
            seq: 0,
            wire,
            pcap,
            stop: false,
            names,
            tap_names,
        })
    }

    /// Forward until a `stop` request.
    pub fn run(&mut self) -> Result<()> {
        let mut buf = vec![0u8; 65536 + 14];
        while !self.stop {
            let now = self.start.elapsed();
            let timeout = match self.pending.peek() {
                Some(Reverse(p)) => {
                    let wait = p.at.saturating_sub(now);
                    wait.as_micros().div_ceil(1000).min(60_000) as i32
                }
                None => -1,
            };
            let mut fds: Vec<libc::pollfd> = [self.taps[0], self.taps[1], self.ctl]
                .iter()
                .map(|s| libc::pollfd {
                    fd: s.fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            self.sys.poll_fds(&mut fds, timeout)?;
            for (dir, pfd) in fds.iter().take(2).enumerate() {
                if pfd.revents & libc::POLLIN != 0 {
                    let n = self.sys.read(self.taps[dir], &mut buf)?;
                    self.arrive(dir, buf.get(..n).unwrap_or(&[]))?;
                }
            }
            self.release()?;
            if fds.get(2).is_some_and(|p| p.revents & libc::POLLIN != 0) {
                serve_one(self)?;
            }
        }
        for s in [self.taps[0], self.taps[1], self.ctl] {
            self.sys.close(s)?;
        }
        if let Some(p) = self.pcap.as_mut() {
            let _ = p.flush();
        }
        Ok(())
    }

    /// A frame from host `dir` (0: a, going a>b; 1: b, going b>a).
    fn arrive(&mut self, dir: usize, frame: &[u8]) -> Result<()> {
        let now = self.start.elapsed();
        let kind = Kind::of(frame);
        let Some(d) = self.dirs.get_mut(dir) else {
            return Ok(());
        };
        let verdict = d.decide(kind, frame.len(), now);
        self.show(dir, frame, &verdict);
        let d = &mut self.dirs[dir.min(1)];
        match verdict {
            Verdict::Drop(_) | Verdict::Router => {}
            Verdict::TooBig { mtu } => {
                if let Some(back) = icmp::too_big(frame, mtu) {
                    d.icmp_sent += 1;
                    self.sys.write(self.taps[dir], &back)?;
                    self.show(1 - dir.min(1), &back, &Verdict::Router);
                }
            }
            Verdict::Send { after, copies, .. } => {
                for _ in 0..copies {
                    self.seq += 1;
                    self.pending.push(Reverse(Pending {
                        at: now + after,
                        seq: self.seq,
                        dir,
                        frame: frame.to_vec(),
                    }));
                }
            }
        }
        Ok(())
    }

    /// Send every frame whose time has come, in time order.
    fn release(&mut self) -> Result<()> {
        let now = self.start.elapsed();
        while self.pending.peek().is_some_and(|Reverse(p)| p.at <= now) {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            if let Some(d) = self.dirs.get_mut(p.dir) {
                d.queued = d.queued.saturating_sub(1);
            }
            if let Some(w) = self.pcap.as_mut() {
                let _ = w.write(std::time::SystemTime::now(), &p.frame, p.frame.len());
            }
            let to = self.taps[1 - p.dir.min(1)];
            // A host whose eth0 is down refuses the frame (EIO): a lost packet.
            match self.sys.write(to, &p.frame) {
                Ok(_) | Err(Error::Sys { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `--wire`: the frame as it entered the link, with the link's
    /// decision. (`--pcap` has the frames as they leave it, in `release`.)
    fn show(&mut self, dir: usize, frame: &[u8], verdict: &Verdict) {
        let t = self.start.elapsed();
        if !self.wire {
            return;
        }
        let what = match verdict {
            Verdict::Drop(why) => format!("dropped ({why})"),
            Verdict::TooBig { mtu } => format!("dropped (mtu {mtu}), ICMP sent back"),
            Verdict::Router => "from the link's router".to_string(),
            Verdict::Send { note, .. } if note.is_empty() => "forwarded".to_string(),
            Verdict::Send { note, .. } => note.clone(),
        };
        let arrow = if dir == 0 { "a>b" } else { "b>a" };
        let line = format!(
            "{:>10.6} {arrow} {}  [{what}]\n",
            t.as_secs_f64(),
            decode(frame).tcpdump(None)
        );
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    pub fn ctl_socket(&self) -> Socket {
        self.ctl
    }

    /// `set SPEC`: new properties from now on.
    pub fn set(&mut self, spec: &str) -> Result<()> {
        self.link.apply(spec)?;
        self.dirs[0].set(self.link.ab.clone());
        self.dirs[1].set(self.link.ba.clone());
        if spec.split(',').any(|t| t.trim().starts_with("seed=")) {
            self.dirs[0].reseed(self.link.seed);
            self.dirs[1].reseed(self.link.seed ^ BA_SEED);
        }
        Ok(())
    }
}

// The control socket's server side (its client: control.rs).

/// Serve one connection that is waiting on the listener.
pub(super) fn serve_one(f: &mut Forwarder) -> Result<()> {
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
