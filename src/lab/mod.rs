//! `socklab lab`: the tutorial's experiments (and UNP's) as self-checking
//! runs. The framework that runs them is `framework/`; the labs, grouped
//! by what they teach: `basics.rs` (the phone call, blocking calls, empty
//! sends), `servers.rs` (listen, backlog, bind and reuse), `sticky.rs`
//! (a stream has no message boundaries), `modes.rs` (blocking, timeout,
//! non-blocking), `queues.rs` (the accept queue, SO_REUSEPORT), `teardown.rs`
//! (half-close, RST, SIGPIPE), `udp_errors.rs` (ICMP errors and UDP),
//! `unix_files.rs` (the UNIX-domain family, socket files, permissions);
//! and the labs that are scripts (`scripts/NAME.script`, run through
//! `crate::script` by `framework/script.rs`): `order.rs` (calls out of the
//! usual order: connect twice, accept without listen, listen without bind,
//! self-connect), `shutdowns.rs` (send after SHUT_WR, recv after SHUT_RD,
//! close vs a blocked accept), `delivery.rs` (MSG_PEEK/MSG_WAITALL,
//! SCM_RIGHTS over a socketpair, the Nagle stall); `network.rs`: labs
//! on the lab network of `socklab net` (syn-timeout, host-unreachable,
//! udp-loss, nagle-rtt; root needed), `dead_peer.rs` (rto-backoff,
//! keepalive) and `link_capacity.rs` (pmtu, slow-start) there too; `uring.rs`: the same echo load on
//! epoll and io_uring servers (child processes), syscalls counted by
//! socklab's trace and by strace -c.

mod basics;
mod dead_peer;
mod delivery;
mod framework;
mod link_capacity;
mod modes;
mod network;
mod order;
mod queues;
mod servers;
mod shutdowns;
mod sticky;
mod teardown;
mod udp_errors;
mod unix_files;
mod uring;

use crate::values::error::{Error, Result};
use framework::{Lab, Out, run_one};

/// Every lab, in `lab list` order.
pub fn all() -> Vec<Lab> {
    let mut v = basics::labs();
    v.extend(servers::labs());
    v.extend(sticky::labs());
    v.extend(modes::labs());
    v.extend(queues::labs());
    v.extend(teardown::labs());
    v.extend(udp_errors::labs());
    v.extend(unix_files::labs());
    v.extend(order::labs());
    v.extend(shutdowns::labs());
    v.extend(delivery::labs());
    v.extend(network::labs());
    v.extend(dead_peer::labs());
    v.extend(link_capacity::labs());
    v.extend(uring::labs());
    v
}

/// `socklab lab list`.
pub fn list() -> Result<()> {
    let labs = all();
    let width = labs.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for lab in &labs {
        crate::output::print_line(&format!("{:width$}  {}", lab.name, lab.question));
    }
    crate::output::print_line("");
    crate::output::print_line(
        "Run one: socklab lab NAME [--json]; all of them: socklab lab all [--json]",
    );
    Ok(())
}

/// `socklab lab NAME|all [--json]`: exit 0 only if every lab run observed
/// what it should (Error::Runtime with a summary otherwise, exit 1).
pub fn run(
    name: &str,
    json: bool,
    wire: &crate::wire::Options,
    record: Option<crate::strace::Recorder>,
) -> Result<()> {
    let labs = all();
    let chosen: Vec<&Lab> = if name == "all" {
        labs.iter().collect()
    } else {
        match labs.iter().find(|l| l.name == name) {
            Some(l) => vec![l],
            None => {
                let names: Vec<&str> = labs.iter().map(|l| l.name).collect();
                return Err(Error::Usage(format!(
                    "no lab named '{name}'; labs: {}, all (see socklab lab list)",
                    names.join(", ")
                )));
            }
        }
    };
    if wire.pcap.is_some() && chosen.len() > 1 {
        return Err(Error::Usage(
            "--pcap writes one lab's packets: name one lab, not all".to_string(),
        ));
    }
    if json && record.is_some() {
        return Err(Error::Usage(
            "--record writes the text timeline as a script: drop --json".to_string(),
        ));
    }
    let out = Out::with_record(record);
    let mut results = Vec::new();
    for (i, lab) in chosen.iter().enumerate() {
        if i > 0 && !json {
            out.line("");
        }
        let (observed, pass) = run_one(lab, json, &out, wire)?;
        results.push((lab.name, lab.expected, observed, pass));
    }
    let failed = results.iter().filter(|r| !r.3).count();
    if chosen.len() > 1 {
        summary(&out, json, &results);
    }
    if failed > 0 {
        return Err(Error::Runtime(format!(
            "{failed} of {} labs did not observe what they should",
            results.len()
        )));
    }
    Ok(())
}

fn summary(out: &Out, json: bool, results: &[(&str, &str, String, bool)]) {
    let passed = results.iter().filter(|r| r.3).count();
    if json {
        out.line(&format!(
            "{{\"event\":\"summary\",\"passed\":{passed},\"total\":{}}}",
            results.len()
        ));
        return;
    }
    let w = results.iter().map(|r| r.0.len()).max().unwrap_or(3).max(3);
    out.line("");
    out.line("== summary ==");
    out.line(&format!(
        "{:w$}  {:6}  {:40}  observed",
        "lab", "result", "expected"
    ));
    for (name, expected, observed, pass) in results {
        out.line(&format!(
            "{name:w$}  {:6}  {:40}  {observed}",
            if *pass { "pass" } else { "FAIL" },
            cut(expected, 40)
        ));
    }
    out.line(&format!("{passed} of {} labs passed", results.len()));
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
