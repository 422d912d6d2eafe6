//! The capture: a packet socket on the loopback interface, read by a
//! thread of its own.
//!
//! Set up in the program's thread, traced like every other call:
//! 1. `socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL))`
//! 2. `ioctl(fd, SIOCGIFINDEX, {ifr_name="lo", ...})` (if_nametoindex)
//! 3. `bind(fd, {sa_family=AF_PACKET, ..., sll_ifindex=if_nametoindex("lo"), ...}, 20)`
//! 4. `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, {len=N, filter=...}, 16)`:
//!    the classic BPF program of `bpf.rs` keeps the IPv4 and IPv6 frames
//!    to or from the program's ports (and ICMP) that `lo` *sends*
//!    (sll_pkttype PACKET_OUTGOING). Each time the program names a new
//!    port (a server's getsockname, a connect), the timeline attaches the
//!    new program at once, from the thread that named it, untraced (it
//!    happens inside another call's trace line; `strace -f` shows it).
//!    On `lo` each packet passes
//!    the tap twice, going out and coming back in; socklab shows it once,
//!    and keeps the outgoing copy because the kernel stamps it when it is
//!    sent (dev_queue_xmit_nit), while a TCP segment's incoming copy still
//!    carries TCP's monotonic departure time, which the packet socket
//!    drops: it would be stamped only when read.
//! 5. `setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4)`
//! 6. `setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, [33554432], 4)` (or, if
//!    that fails with EPERM, SO_RCVBUF): room for bursts of other programs'
//!    loopback traffic, which the kernel queues too before socklab drops it
//!
//! then a 50 ms wait: the kernel turns timestamping on through deferred work.
//!
//! Then the capture thread loops on `poll(fd, POLLIN, 20)` and
//! `recvmsg(fd, ..., MSG_DONTWAIT|MSG_TRUNC)` until EAGAIN (through `sys`,
//! not printed: each would double a packet line), and hands each frame
//! to the timeline. Which packets are the program's is decided in user
//! space, by port, when they are printed (see `timeline.rs`). Frames
//! captured before the filter was attached, and incoming copies, are
//! dropped here too.
//!
//! Stopping: the program's thread sets a flag and joins; the thread reads
//! until a poll interval passes with nothing new (at most one second), so
//! the FIN or RST a final close sends is in. Then, traced,
//! `getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, ...)`: frames the kernel
//! dropped because the buffer was full are reported; and `close(fd)`.
//! At most [`MAX_PACKETS`] packets are kept (shown and written), and at
//! most `timeline::MAX_PENDING` frames wait to be sorted; more are
//! counted and reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};

use super::bpf;
use super::timeline::Timeline;
use crate::error::{Error, Result};
use crate::sys::{Socket, Sys};

/// The interface captured: socklab's traffic is loopback traffic.
pub const IFNAME: &str = "lo";
/// poll's timeout in the capture loop, in milliseconds.
const POLL_MS: i32 = 20;
/// How long the capture may keep reading after the program ended.
const STOP_LIMIT: Duration = Duration::from_secs(1);
/// How long to let the kernel turn timestamps on (see `Capture::start`).
const TIMESTAMPS_ON: Duration = Duration::from_millis(50);
/// The capture socket's receive buffer (step 6).
const RCVBUF: i32 = 32 << 20;
/// The most packets one run keeps.
pub const MAX_PACKETS: u64 = 100_000;
/// `sll_pkttype` of a frame the host sends.
const PACKET_OUTGOING: u8 = 4;
/// The receive buffer: the largest frame `lo` carries (MTU 65536 + 14).
const BUF: usize = 65_536 + 14;

/// A running capture.
pub struct Capture {
    socket: Socket,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<()>>,
}

impl Capture {
    /// Steps 1 to 5, then start the thread, which hands every frame to
    /// `timeline` (it decides which are the program's).
    pub fn start(sys: &Sys, timeline: Arc<Timeline>) -> Result<Capture> {
        let s = sys.socket_packet()?;
        let ifindex = sys.ioctl_siocgifindex(s, IFNAME)?;
        sys.bind_packet(s, ifindex, IFNAME)?;
        sys.setsockopt_attach_filter(s, &bpf::program(&timeline.ports()))?;
        sys.setsockopt_timestampns(s)?;
        // Room for bursts of other programs' loopback traffic (64 KiB
        // frames): past rmem_max if allowed (CAP_NET_ADMIN), else up to it.
        if let Err(e) = sys.setsockopt_rcvbuf(s, true, RCVBUF) {
            if e.errno() != Some(Errno::EPERM) {
                return Err(e);
            }
            sys.setsockopt_rcvbuf(s, false, RCVBUF)?;
        }
        // The kernel turns its receive timestamps on through deferred work
        // (net_enable_timestamp schedules the static key's change): until
        // it has run, frames carry the time they are read, not sent.
        std::thread::sleep(TIMESTAMPS_ON);
        let usys = sys.untraced();
        timeline.set_refilter(usys.clone(), s);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // The thread blocks every signal (it inherits the mask): a SIGINT
        // must interrupt the program's own blocking call, not this poll.
        let mut old = SigSet::empty();
        let _ = pthread_sigmask(
            SigmaskHow::SIG_SETMASK,
            Some(&SigSet::all()),
            Some(&mut old),
        );
        let thread = std::thread::Builder::new()
            .name("socklab-wire".into())
            .spawn(move || run(&usys, s, &flag, &timeline));
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        let thread =
            thread.map_err(|e| Error::Runtime(format!("cannot start the capture thread: {e}")))?;
        Ok(Capture {
            socket: s,
            stop,
            thread,
        })
    }

    /// Stop the thread, read the kernel's drop count (PACKET_STATISTICS),
    /// then `close(fd)`. Returns the frames the kernel dropped.
    pub fn stop(self, sys: &Sys) -> Result<u32> {
        self.stop.store(true, Ordering::SeqCst);
        let done = self
            .thread
            .join()
            .unwrap_or_else(|_| Err(Error::Runtime("the capture thread failed".into())));
        let drops = sys
            .getsockopt_packet_statistics(self.socket)
            .map(|(_, d)| d);
        sys.close(self.socket)?;
        done?;
        drops
    }
}

fn run(sys: &Sys, s: Socket, stop: &AtomicBool, timeline: &Timeline) -> Result<()> {
    let mut buf = vec![0u8; BUF];
    let mut stopping_since: Option<Instant> = None;
    loop {
        if stopping_since.is_none() && stop.load(Ordering::SeqCst) {
            stopping_since = Some(Instant::now());
        }
        let readable = match sys.poll(s, PollFlags::POLLIN, POLL_MS) {
            Ok(r) => !r.is_empty(),
            // A stop signal is pending (the program is ending): keep reading.
            Err(Error::Signal(_)) => {
                std::thread::sleep(Duration::from_millis(POLL_MS as u64));
                true
            }
            Err(e) => return Err(e),
        };
        let mut got = 0;
        if readable {
            got = drain(sys, s, &mut buf, timeline)?;
        }
        timeline.flush(false);
        if let Some(since) = stopping_since
            && (got == 0 || since.elapsed() > STOP_LIMIT)
        {
            return Ok(());
        }
    }
}

/// Read every queued frame into the timeline. Returns how many were read.
fn drain(sys: &Sys, s: Socket, buf: &mut [u8], timeline: &Timeline) -> Result<u64> {
    let mut read = 0;
    loop {
        let frame = match sys.recvmsg_packet(s, buf) {
            Ok(f) => f,
            Err(e) if e.errno() == Some(Errno::EAGAIN) => return Ok(read),
            Err(e) => return Err(e),
        };
        read += 1;
        if frame.pkttype != PACKET_OUTGOING {
            continue;
        }
        let ts = frame.stamp.unwrap_or_else(SystemTime::now);
        timeline.frame(ts, &buf[..frame.caplen], frame.len);
    }
}
