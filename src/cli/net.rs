//! `socklab net ...`: the lab network's commands (src/net/), and the
//! global flags that apply to them (`--wire`, `--pcap` on `up` and `run`:
//! the link's packets and decisions).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::net::{self, session::UpOptions};
use crate::values::error::{Error, Result};

#[derive(Args, Debug, Clone)]
pub struct NetName {
    /// The network's name: hosts N-a and N-b, state in /run/socklab/N.
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NetUp {
    #[command(flatten)]
    pub name: NetName,
    /// The link: comma-separated delay=50ms, jitter=5ms, loss=2%, drop=N, drop=syn, drop=N:tcp-data, dup=1%, reorder=1%, rate=10mbit, queue=N, mtu=1400, blackhole, down, seed=N; a>b: or b>a: for one direction.
    #[arg(long, value_name = "SPEC", default_value = "")]
    pub link: String,
    /// A sysctl set in both hosts (net.ipv4.tcp_syn_retries=2). Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum NetCommand {
    /// Make hosts a and b (network namespaces) and the link between them, in the background (needs root).
    Up(NetUp),
    /// Stop the forwarder, delete the namespaces and the state.
    Down(NetName),
    /// Hosts, addresses, link and its counters (forwarded, dropped by reason, ...).
    Show(NetName),
    /// Change the link while it runs (only the properties named; `clear` resets).
    Set {
        #[command(flatten)]
        name: NetName,
        /// The properties to change, as --link takes them.
        spec: String,
    },
    /// Run a program inside host a or b (= ip netns exec).
    Exec {
        #[command(flatten)]
        name: NetName,
        /// a or b.
        host: String,
        /// The program and its arguments (after --).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
    },
    /// Up, CMD_A in host a and CMD_B in host b, wait for both, down: `net run -- CMD_A ::: CMD_B`.
    Run {
        #[command(flatten)]
        up: NetUp,
        /// CMD_A ::: CMD_B.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        cmds: Vec<String>,
    },
    /// Internal: the forwarder process, started by up and run.
    #[command(name = "__forward", hide = true)]
    Forward {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        link: String,
        #[arg(long)]
        wire: bool,
        #[arg(long)]
        pcap: Option<PathBuf>,
    },
}

/// The global flags as they bear on `net`.
pub struct Globals {
    pub wire: bool,
    pub pcap: Option<PathBuf>,
    /// --trace, --show-state, --step or --record: refused.
    pub tracing: bool,
}

fn options(up: &NetUp, g: &Globals) -> UpOptions {
    UpOptions {
        link: up.link.clone(),
        sysctls: up.sysctl.clone(),
        wire: g.wire,
        wire_piped: false,
        pcap: g.pcap.clone(),
    }
}

/// Run `socklab net ...`.
pub fn run(cmd: &NetCommand, g: &Globals) -> Result<()> {
    if g.tracing {
        return Err(Error::Usage(
            "socklab net takes --wire and --pcap (the link's packets); run a program in a host \
             with --trace to see its calls"
                .to_string(),
        ));
    }
    let name = |n: &NetName| n.name.clone();
    match cmd {
        NetCommand::Up(up) => net::up(name(&up.name).as_deref(), &options(up, g)),
        NetCommand::Down(n) => net::down(name(n).as_deref()),
        NetCommand::Show(n) => net::show(name(n).as_deref()),
        NetCommand::Set { name: n, spec } => net::set(name(n).as_deref(), spec),
        NetCommand::Exec { name: n, host, cmd } => net::exec(name(n).as_deref(), host, cmd),
        NetCommand::Run { up, cmds } => net::run(name(&up.name).as_deref(), &options(up, g), cmds),
        NetCommand::Forward {
            name,
            link,
            wire,
            pcap,
        } => net::forward_main(name, link, *wire, pcap.as_deref()),
    }
}
