//! The lab framework: what a lab is ([`Lab`], [`Verdict`]), running one
//! under a watchdog with its header, timeline and verdict (`run_one`),
//! the timeline's output (`timeline.rs`), what a lab gets (`ctx.rs`), the
//! sockets it sets up (`sockets.rs`), what it observes (`observe.rs`),
//! and a lab that is a script (`script.rs`).
//!
//! A lab starts both sides itself (threads in this process, a script's
//! process actors), on port 0, fresh
//! temporary paths or fresh abstract names; orders them by channels, never
//! by sleeps; bounds its own time with poll timeouts (and a watchdog here);
//! closes every socket and unlinks every socket file.
//!
//! Output: the question and the step it reproduces; the timeline of both
//! sides, one line per syscall exactly as strace prints it, tagged with the
//! side (`client | ...`), with `# ...` lines for what the lab looked at (the
//! TCP state from TCP_INFO, /proc/net/tcp, /proc/self/task/TID/syscall);
//! then what was observed and why; then `lab NAME: observed ... (expected
//! ...): PASS|FAIL`. `--json` gives the same as JSON Lines events, each
//! timeline event with its wall-clock `time` (so that a packet capture can
//! later be interleaved by time).
//!
//! Each side of a lab makes its calls through one [`Sys`] whose tracer is
//! the lab's timeline ([`Ctx::sys`]). The verdict is computed from what the
//! calls returned (values, errnos, counts, states), never written in.
//!
//! The seam for a packet source (`--wire`, issue 7): every timeline line
//! goes through one [`Out`] per run (syscall events from the shared
//! [`Tracer`], notes and parts from [`Ctx`]), and in `--json` each event
//! carries its wall-clock `time` (`SystemTime`, the clock pcap uses). A
//! capture started in [`run_one`] before the lab and stopped after it can be
//! merged into that stream by time, or written through the same `Out`.

mod ctx;
mod net;
mod observe;
mod own;
mod replay;
mod script;
mod sockets;
mod timeline;

pub use ctx::Ctx;
pub use net::{LabNet, net_addr, untraced};
pub use observe::*;
pub use script::{Ran, Step, run_script};
pub use sockets::*;
pub use timeline::Out;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::strace::json_str;
use crate::values::error::Result;

/// The longest a lab may run before the watchdog declares it failed.
const LAB_LIMIT: Duration = Duration::from_secs(20);

/// One experiment.
pub struct Lab {
    pub name: &'static str,
    pub question: &'static str,
    /// The tutorial step or UNP program it reproduces.
    pub source: &'static str,
    pub expected: &'static str,
    pub run: fn(&Ctx) -> Result<Verdict>,
}

/// What a lab saw, and whether that is the phenomenon it is about.
pub struct Verdict {
    pub observed: String,
    pub pass: bool,
    pub why: String,
}

/// Run one lab under the watchdog; print its header, timeline and verdict.
pub fn run_one(
    lab: &Lab,
    json: bool,
    out: &Out,
    wire: &crate::wire::Options,
) -> Result<(String, bool)> {
    if json {
        out.line(&format!(
            "{{\"time\":{:.6},\"lab\":{},\"event\":\"start\",\"question\":{},\"source\":{},\"expected\":{}}}",
            now(),
            json_str(lab.name),
            json_str(lab.question),
            json_str(lab.source),
            json_str(lab.expected)
        ));
    } else {
        out.line(&format!("== lab {}: {}", lab.name, lab.question));
        out.line(&format!("reproduces: {}", lab.source));
        out.line("");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let run = lab.run;
    let mut ctx = Ctx::new(lab.name, json, out.clone());
    // --wire / --pcap: the lab's packets on its timeline (src/wire/).
    let mut capture = None;
    if wire.active() {
        let (tracer, timeline) = crate::wire::timeline(ctx.tracer.clone(), wire);
        ctx.tracer = tracer;
        let wire_sys = ctx.sys("wire");
        match crate::wire::start(&wire_sys, timeline, wire, &[]) {
            Ok(w) => capture = Some((w, wire_sys)),
            // No capture (EPERM without CAP_NET_RAW): the error, exit 1.
            Err(e) => return Err(e),
        }
    }
    // The lab's threads are socklab's, not the experiment's (own.rs).
    ctx.note_once("lab", own::THREADS);
    let worker = std::thread::spawn(move || {
        let lab = replay::for_lab(&ctx);
        let r = run(&ctx);
        drop(lab);
        let _ = tx.send(r);
    });
    let result = match rx.recv_timeout(LAB_LIMIT) {
        Ok(r) => r,
        Err(_) => {
            // A side is stuck in a call the lab did not bound: stop here, as
            // a hung lab must not hang `lab all`. The kernel closes the sockets.
            out.line(&format!(
                "lab {}: no verdict after {} s (a call blocked that should not have): FAIL",
                lab.name,
                LAB_LIMIT.as_secs()
            ));
            std::process::exit(1);
        }
    };
    let _ = worker.join();
    if let Some((w, wire_sys)) = capture
        && let Err(e) = w.stop(&wire_sys)
    {
        out.line(&format!("socklab: {e}"));
    }
    let verdict = match result {
        Ok(v) => v,
        Err(e) => Verdict {
            observed: format!("an unexpected failure: {e}"),
            pass: false,
            why: "The lab could not run to its end; the line above is the call that failed."
                .to_string(),
        },
    };
    let status = if verdict.pass { "PASS" } else { "FAIL" };
    if json {
        out.line(&format!(
            "{{\"time\":{:.6},\"lab\":{},\"event\":\"verdict\",\"observed\":{},\"expected\":{},\"why\":{},\"pass\":{}}}",
            now(),
            json_str(lab.name),
            json_str(&verdict.observed),
            json_str(lab.expected),
            json_str(&verdict.why),
            verdict.pass
        ));
    } else {
        out.line("");
        out.line(&format!("observed: {}", verdict.observed));
        out.line(&format!("why: {}", verdict.why));
        out.line(&format!(
            "lab {}: observed {} (expected {}): {status}",
            lab.name, verdict.observed, lab.expected
        ));
    }
    Ok((verdict.observed, verdict.pass))
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}
