//! The capture: a packet socket on the loopback interface, read by a
//! thread of its own.
//!
//! Set up in the program's thread, traced like every other call:
//! 1. `socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL))`
//! 2. `ioctl(fd, SIOCGIFINDEX, {ifr_name="lo", ...})` (if_nametoindex)
//! 3. `bind(fd, {sa_family=AF_PACKET, ..., sll_ifindex=if_nametoindex("lo"), ...}, 20)`
//! 4. `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, {len=7, filter=...}, 16)`:
//!    the classic BPF program [`FILTER`] keeps the IPv4 and IPv6 frames
//!    `lo` *sends* (sll_pkttype PACKET_OUTGOING). On `lo` each packet passes
//!    the tap twice, going out and coming back in; socklab shows it once,
//!    and keeps the outgoing copy because the kernel stamps it when it is
//!    sent (dev_queue_xmit_nit), while a TCP segment's incoming copy still
//!    carries TCP's monotonic departure time, which the packet socket
//!    drops: it would be stamped only when read.
//! 5. `setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4)`, then a
//!    50 ms wait: the kernel turns timestamping on through deferred work.
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
//! the FIN or RST a final close sends is in. Then `close(fd)`, traced.
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

use super::pcap;
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
/// The most packets one run keeps.
pub const MAX_PACKETS: u64 = 100_000;
/// `sll_pkttype` of a frame the host sends.
const PACKET_OUTGOING: u8 = 4;
/// The receive buffer: the largest frame `lo` carries (MTU 65536 + 14).
const BUF: usize = 65_536 + 14;

/// The classic BPF program of step 4 (`tcpdump -d` style):
/// ```text
/// 0: ldb [pkttype]            ; SKF_AD_OFF + SKF_AD_PKTTYPE
/// 1: jeq #4 (OUTGOING) 2 5
/// 2: ldh [12]                 ; Ethernet type
/// 3: jeq #0x800 6 4
/// 4: jeq #0x86dd 6 5
/// 5: ret #0
/// 6: ret #262144
/// ```
pub const FILTER: [libc::sock_filter; 7] = [
    bpf(0x30, 0, 0, 0xffff_f004),
    bpf(0x15, 0, 3, PACKET_OUTGOING as u32),
    bpf(0x28, 0, 0, 12),
    bpf(0x15, 2, 0, 0x0800),
    bpf(0x15, 1, 0, 0x86dd),
    bpf(0x06, 0, 0, 0),
    bpf(0x06, 0, 0, pcap::SNAPLEN),
];

const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

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
        sys.setsockopt_attach_filter(s, &FILTER)?;
        sys.setsockopt_timestampns(s)?;
        // The kernel turns its receive timestamps on through deferred work
        // (net_enable_timestamp schedules the static key's change): until
        // it has run, frames carry the time they are read, not sent.
        std::thread::sleep(TIMESTAMPS_ON);
        let stop = Arc::new(AtomicBool::new(false));
        let usys = sys.untraced();
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

    /// Stop the thread, then `close(fd)`.
    pub fn stop(self, sys: &Sys) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        let done = self
            .thread
            .join()
            .unwrap_or_else(|_| Err(Error::Runtime("the capture thread failed".into())));
        sys.close(self.socket)?;
        done
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
