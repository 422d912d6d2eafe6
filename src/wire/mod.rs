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

pub mod bpf;
pub mod capture;
pub mod decode;
pub mod pcap;
mod ports;
mod refilter;
mod seq;
pub mod tcpdump;
pub mod timeline;

use std::path::PathBuf;
use std::sync::Arc;

pub use decode::{Packet, decode};

use crate::output::Output;
use crate::strace::Tracer;
use crate::sys::Sys;
use crate::values::error::{Error, Result};
use capture::Capture;
use timeline::Timeline;

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--wire`: print the packets among the syscall lines.
    pub show: bool,
    /// `--pcap FILE`.
    pub pcap: Option<PathBuf>,
}

impl Options {
    pub fn active(&self) -> bool {
        self.show || self.pcap.is_some()
    }
}

/// A capture under way, with its timeline.
pub struct Wire {
    capture: Capture,
    timeline: Arc<Timeline>,
    pcap: Option<PathBuf>,
}

/// The tracer for a capturing run: its syscall lines (if traced) go
/// through a timeline, which also learns the program's ports from them
/// and from a server's `listening on` step. Returns the tracer to build
/// `Sys` with and the timeline for [`start`].
pub fn timeline(tracer: Tracer, opts: &Options) -> (Tracer, Arc<Timeline>) {
    let tl = Arc::new(Timeline::new(
        tracer.sink(),
        tracer.own_stdout(),
        tracer.is_json(),
        opts.show,
    ));
    (tracer.with_timeline(tl.clone()), tl)
}

/// Start capturing (the traced calls of `capture.rs`); `ports` are
/// the ones the command line names (0 is left out).
pub fn start(sys: &Sys, timeline: Arc<Timeline>, opts: &Options, ports: &[u16]) -> Result<Wire> {
    for &p in ports.iter().filter(|&&p| p != 0) {
        timeline.watch_port(p);
    }
    if let Some(path) = &opts.pcap {
        let w = pcap::Writer::create(path).map_err(|e| {
            Error::Runtime(format!(
                "cannot create pcap file {}: {}",
                path.display(),
                crate::sys::untraced::output_error(&e)
            ))
        })?;
        timeline.set_pcap(w);
    }
    let capture = match Capture::start(sys, timeline.clone()) {
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
        pcap: opts.pcap.clone(),
    })
}

impl Wire {
    /// Stop capturing, `close` the packet socket, print what is left of
    /// the timeline and, with `--pcap`, where the file is.
    pub fn stop(self, sys: &Sys) -> Result<()> {
        let stopped = self.capture.stop(sys);
        self.timeline.close();
        let drops = stopped?;
        let out = Output::new(sys.tracer().clone());
        if drops > 0 {
            out.say_about(
                "wire",
                &format!(
                "the kernel dropped {drops} frames on lo (the capture's buffer was full; other programs' traffic counts too): some packets may be missing"
            ));
        }
        let stats = self.timeline.stats();
        if stats.over_limit > 0 {
            out.say_about(
                "wire",
                &format!(
                    "{} frames not kept (at most {} packets, {} waiting)",
                    stats.over_limit,
                    timeline::MAX_PACKETS,
                    timeline::MAX_PENDING
                ),
            );
        }
        if let Some(e) = self.timeline.pcap_error() {
            return Err(Error::Runtime(format!("cannot write the pcap file: {e}")));
        }
        if let Some(path) = &self.pcap {
            out.say_about(
                "wire",
                &format!(
                    "{} packets written to {} (read it with: tcpdump -r {} -nn)",
                    stats.kept,
                    path.display(),
                    path.display()
                ),
            );
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
