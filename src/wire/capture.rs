//! The capture: a packet socket on the loopback interface, read by a
//! thread of its own.
//!
//! Set up in the program's thread, traced like every other call:
//! 1. `socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL))`
//! 2. `ioctl(fd, SIOCGIFINDEX, {ifr_name="lo", ...})` (if_nametoindex)
//! 3. `bind(fd, {sa_family=AF_PACKET, ..., sll_ifindex=if_nametoindex("lo"), ...}, 20)`
//! 4. `setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4)`
//! 5. `setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, [33554432], 4)` (or, if
//!    that fails with EPERM, SO_RCVBUF): room for bursts of other programs'
//!    loopback traffic, which the kernel queues too before socklab drops it
//! 6. `rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], [], 8)`, the thread's
//!    `clone3` (glibc's pthread_create, through `sys`: counted in strace
//!    -f's `[pid N]`), the old mask back; each of the two tasks then
//!    writes a note naming its calls not shown (glibc's around the
//!    clone3, `Sys::pthread_create`'s note for every thread; the
//!    thread's `# wire:` note, here and in its loop); in the thread:
//!    `sendto(fd, "...socklab: timestamp probe", 38, 0, NULL, 0)`, once or
//!    more, a frame to itself, read back to see that the kernel stamps
//!    frames on arrival (see [`wait_for_timestamps`]); the program starts
//!    once it does
//! 7. `setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, {len=N, filter=...}, 16)`:
//!    the classic BPF program of `bpf.rs` keeps the IPv4 and IPv6 frames
//!    to or from the program's ports (and ICMP, and other ports' frames
//!    up to 1514 bytes, for user space to decide) that `lo` *sends*
//!    (sll_pkttype PACKET_OUTGOING). Each time the program names a new
//!    port (a server's getsockname, a connect), the timeline attaches the
//!    new program at once, from the thread that named it: its line comes
//!    right after that call's, under the capture's tag (`refilter.rs`).
//!    On `lo` each packet passes
//!    the tap twice, going out and coming back in; socklab shows it once,
//!    and keeps the outgoing copy because the kernel stamps it when it is
//!    sent (dev_queue_xmit_nit), while a TCP segment's incoming copy still
//!    carries TCP's monotonic departure time, which the packet socket
//!    drops: it would be stamped only when read.
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
//! At most [`super::timeline::MAX_PACKETS`] packets are kept (shown and written), and at
//! most `timeline::MAX_PENDING` frames wait to be sorted; more are
//! counted and reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::poll::PollFlags;

use super::bpf;
use super::timeline::Timeline;
use crate::output::Output;
use crate::sys::pthread::{self, Worker};
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// The interface captured: socklab's traffic is loopback traffic.
pub const IFNAME: &str = "lo";
/// poll's timeout in the capture loop, in milliseconds.
const POLL_MS: i32 = 20;
/// How long the capture may keep reading after the program ended.
const STOP_LIMIT: Duration = Duration::from_secs(1);
/// The frame `wait_for_timestamps` sends to itself: zero addresses, the
/// IEEE local experimental Ethernet type 0x88b5, a text.
const PROBE: &[u8] = b"\0\0\0\0\0\0\0\0\0\0\0\0\x88\xb5socklab: timestamp probe";
/// How long a probe waits before it is read (a live stamp is older).
const PROBE_WAIT: Duration = Duration::from_millis(2);
/// How many probes before giving up (about 2 s).
const PROBES: u32 = 200;
/// The capture socket's receive buffer (step 6).
const RCVBUF: i32 = 32 << 20;
/// `sll_pkttype` of a frame the host sends.
const PACKET_OUTGOING: u8 = 4;
/// Every signal but glibc's own two (SIGRTMIN, SIGRT_1: its thread
/// cancellation and set*id broadcast), as `sigfillset` then
/// `pthread_sigmask` would block them: strace's `~[RTMIN RT_1]`.
const ALL_SIGNALS: u64 = !((1 << 31) | (1 << 32));
/// The receive buffer: the largest frame `lo` carries (MTU 65536 + 14).
const BUF: usize = 65_536 + 14;

/// A running capture.
pub struct Capture {
    socket: Socket,
    stop: Arc<AtomicBool>,
    thread: Worker,
}

impl Capture {
    /// Steps 1 to 6 (the thread hands every frame to `timeline`, which
    /// decides which are the program's), then step 7.
    pub fn start(sys: &Sys, timeline: Arc<Timeline>) -> Result<Capture> {
        let s = sys.socket_packet()?;
        let ifindex = sys.ioctl_siocgifindex(s, IFNAME)?;
        sys.bind_packet(s, ifindex)?;
        sys.setsockopt_timestampns(s)?;
        // Room for bursts of other programs' loopback traffic (64 KiB
        // frames): past rmem_max if allowed (CAP_NET_ADMIN), else up to it.
        if let Err(e) = sys.setsockopt_rcvbuf(s, true, RCVBUF) {
            if e.errno() != Some(Errno::EPERM) {
                return Err(e);
            }
            sys.setsockopt_rcvbuf(s, false, RCVBUF)?;
        }
        let usys = sys.untraced();
        timeline.set_refilter(sys, s);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (live_tx, live_rx) = std::sync::mpsc::sync_channel(1);
        let tl = timeline.clone();
        let tracer = sys.tracer().clone();
        // The thread blocks every signal (it inherits the mask): a SIGINT
        // must interrupt the program's own blocking call, not this poll.
        let old = sys.rt_sigprocmask_setmask(ALL_SIGNALS)?;
        let thread = pthread::spawn(sys, move || {
            tracer.signal(&own_calls(s));
            // Step 6, in this thread: its calls are not printed.
            let live = wait_for_timestamps(&usys, s);
            let failed = live.is_err();
            let _ = live_tx.send(live.unwrap_or(false));
            if failed {
                return Err(Error::Runtime("the timestamp probe failed".into()));
            }
            run(&usys, s, &flag, &tl)
        });
        let restored = sys.rt_sigprocmask_setmask(old);
        let thread = thread?;
        restored?;
        let live = live_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or(false);
        sys.setsockopt_attach_filter(s, &bpf::program(&timeline.ports()))?;
        if !live {
            Output::new(sys.tracer().clone()).note(
                "wire: the kernel's timestamps did not come on within 2 s (a loaded machine?): packets may be placed late",
            );
        }
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
        let done = self.thread.join();
        let drops = sys
            .getsockopt_packet_statistics(self.socket)
            .map(|(_, d)| d);
        sys.close(self.socket)?;
        done?;
        drops
    }
}

/// The note the capture thread writes first, with its own `[pid N]`:
/// the calls it makes that are not shown, and why.
fn own_calls(s: Socket) -> String {
    format!(
        "# wire: this task is socklab's capture thread; its calls are not shown as lines: \
         glibc's set_robust_list, rseq and rt_sigprocmask at its start; setsockopt({s}, \
         SOL_SOCKET, SO_ATTACH_FILTER, ...) (probes only), then sendto({s}, a 38-byte probe \
         frame, ...), clock_nanosleep (2 ms) and recvmsg({s}, ...) until the kernel stamps \
         frames as they arrive; then, until the program ends, poll([{{fd={s}, \
         events=POLLIN}}], 1, 20) and recvmsg({s}, ..., MSG_TRUNC|MSG_DONTWAIT) per frame, \
         each frame shown as its `wire:` line instead (a line per call would double every \
         packet), getrandom (a hash table's seed) and the write of the trace's lines; \
         glibc's rt_sigprocmask, madvise and exit at its end"
    )
}

/// Wait until the kernel stamps frames when they arrive, not when they
/// are read. SO_TIMESTAMPNS turns the stamping on through deferred work
/// (net_enable_timestamp schedules a static key's change), which a loaded
/// machine may run late. So, with a filter that keeps only the probes:
/// `sendto(fd, PROBE, ..., NULL, 0)` (the frame
/// goes out on `lo` and comes back to this socket), wait 2 ms, read it
/// (skipping other frames): once its stamp is older than the moment it
/// was read by more than 1 ms, stamping is live. False after [`PROBES`]
/// tries.
fn wait_for_timestamps(sys: &Sys, s: Socket) -> Result<bool> {
    // Only probes from now on: other loopback traffic would bury them.
    sys.setsockopt_attach_filter(s, &bpf::probe_program())?;
    let mut buf = vec![0u8; BUF];
    for _ in 0..PROBES {
        sys.sendto(s, PROBE, None)?;
        std::thread::sleep(PROBE_WAIT);
        // At most the frames queued meanwhile (other loopback traffic).
        for _ in 0..10_000 {
            let frame = match sys.recvmsg_packet(s, &mut buf) {
                Ok(f) => f,
                Err(e) if e.errno() == Some(Errno::EAGAIN) => break,
                Err(e) => return Err(e),
            };
            if frame.pkttype == PACKET_OUTGOING || buf.get(..frame.caplen) != Some(PROBE) {
                continue;
            }
            let age = frame
                .stamp
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            if age > PROBE_WAIT / 2 {
                return Ok(true);
            }
            break;
        }
    }
    Ok(false)
}

fn run(sys: &Sys, s: Socket, stop: &AtomicBool, timeline: &Timeline) -> Result<()> {
    let mut buf = vec![0u8; BUF];
    // When the stop came: (now, its wall-clock time).
    let mut stopping: Option<(Instant, SystemTime)> = None;
    loop {
        if stopping.is_none() && stop.load(Ordering::SeqCst) {
            stopping = Some((Instant::now(), SystemTime::now()));
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
        let (mut got, mut newest) = (0, None);
        if readable {
            (got, newest) = drain(sys, s, &mut buf, timeline)?;
        }
        timeline.flush(false);
        // Done when nothing came for a poll interval, or (loopback busy
        // with other traffic) the queue has been read past the stop plus
        // a poll interval: it is in time order.
        if let Some((since, at)) = stopping {
            let past = newest.is_some_and(|t| t > at + Duration::from_millis(POLL_MS as u64));
            if got == 0 || past || since.elapsed() > STOP_LIMIT {
                return Ok(());
            }
        }
    }
}

/// Read every queued frame into the timeline. Returns how many were read
/// and the newest timestamp among them.
fn drain(
    sys: &Sys,
    s: Socket,
    buf: &mut [u8],
    timeline: &Timeline,
) -> Result<(u64, Option<SystemTime>)> {
    let mut read = 0;
    let mut newest = None;
    loop {
        let frame = match sys.recvmsg_packet(s, buf) {
            Ok(f) => f,
            Err(e) if e.errno() == Some(Errno::EAGAIN) => return Ok((read, newest)),
            Err(e) => return Err(e),
        };
        read += 1;
        if frame.pkttype != PACKET_OUTGOING {
            continue;
        }
        let ts = frame.stamp.unwrap_or_else(SystemTime::now);
        newest = newest.max(Some(ts));
        timeline.frame(ts, &buf[..frame.caplen], frame.len);
    }
}
