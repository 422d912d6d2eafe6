//! `--wire` and `--pcap FILE`: the program's packets beside its syscalls.
//!
//! socklab opens a packet socket on `lo` through its own traced `sys`
//! layer (`capture.rs`), decodes each frame (`decode.rs`), keeps the ones
//! to or from the program's ports (filtered in user space; a classic BPF
//! filter keeps only the IP frames loopback sends, each once, in the
//! kernel), and
//! - with `--wire`, prints them among the syscall lines, ordered by time
//!   (`timeline.rs`, which says the ordering rule), as `tcpdump -nn`
//!   prints them: `  wire: IP 127.0.0.1.40000 > 127.0.0.1.5000: Flags [S], ...`;
//! - with `--pcap FILE`, writes them to a pcap file (`pcap.rs`).
//!
//! UNIX sockets have no wire: `--wire` or `--pcap` on a UNIX program (or
//! on `demo` and `sockopt`) is a usage error (exit 2) before any syscall.
//! Capturing needs CAP_NET_RAW: without it, socket(AF_PACKET) fails with
//! EPERM, reported with a hint, exit 1.

pub mod capture;
pub mod decode;
pub mod pcap;
pub mod timeline;

use std::path::Path;
use std::sync::Arc;

pub use decode::{Packet, decode};

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::sys::Sys;
use crate::trace::Tracer;
use capture::Capture;
use timeline::Timeline;

/// The port of an IPv4 or IPv6 address (None for UNIX addresses).
pub fn port_of(addr: &Addr) -> Option<u16> {
    if addr.is_unix() {
        return None;
    }
    addr.to_string().rsplit_once(':')?.1.parse().ok()
}

/// A capture under way, with its timeline.
pub struct Wire {
    capture: Capture,
    timeline: Arc<Timeline>,
    pcap: Option<std::path::PathBuf>,
}

/// The tracer for a capturing run: its syscall lines (if traced) go
/// through a timeline, which also learns the server's port from its
/// `listening on` step. Returns the tracer to build `Sys` with and the
/// timeline for [`start`].
pub fn timeline(tracer: Tracer) -> (Tracer, Arc<Timeline>) {
    let tl = Arc::new(Timeline::new(tracer.sink(), tracer.is_json()));
    (tracer.with_timeline(tl.clone()), tl)
}

/// Start capturing (the five traced calls of `capture.rs`); `ports` are
/// the ones the command line names (0 is left out).
pub fn start(
    sys: &Sys,
    timeline: Arc<Timeline>,
    show: bool,
    pcap: Option<&Path>,
    ports: &[u16],
) -> Result<Wire> {
    for &p in ports.iter().filter(|&&p| p != 0) {
        timeline.watch_port(p);
    }
    let capture = match Capture::start(sys, timeline.clone(), show, pcap) {
        Ok(c) => c,
        Err(e) => {
            // The failed call's trace line is in the timeline: print it.
            timeline.flush(true);
            return Err(e);
        }
    };
    Ok(Wire {
        capture,
        timeline,
        pcap: pcap.map(Path::to_path_buf),
    })
}

impl Wire {
    /// Stop capturing, `close` the packet socket, print what is left of
    /// the timeline and, with `--pcap`, where the file is.
    pub fn stop(self, sys: &Sys) -> Result<()> {
        let stats = self.capture.stop(sys);
        self.timeline.flush(true);
        let stats = stats?;
        if stats.over_limit > 0 {
            sys.note(&format!(
                "wire: {} more packets not kept (limit {})",
                stats.over_limit,
                capture::MAX_PACKETS
            ));
        }
        if let Some(path) = &self.pcap {
            sys.say(&format!(
                "wire: {} packets written to {} (read it with: tcpdump -r {} -nn)",
                stats.kept,
                path.display(),
                path.display()
            ));
        }
        Ok(())
    }
}

/// `--wire`/`--pcap` on a program without a wire: the usage error.
pub fn no_wire(what: &str) -> Error {
    Error::Usage(format!(
        "--wire and --pcap capture IP packets; {what} has no packets on the wire (try --trace)"
    ))
}
