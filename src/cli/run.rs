//! Run the command the user asked for: check the flags that only make
//! sense together, build the tracer, `Sys` and `Output`, start a `--wire`
//! capture around the program, and call the program.

use std::process::ExitCode;

use super::args::{Cli, Command, SockoptCommand, TcpCommand, UdpCommand, UnixCommand};
use super::trace_sink::{lab_recorder, tracer};
use crate::output::Output;
use crate::programs::{self, demo, dgram, server_opts, tcp, udp, unix};
use crate::sys::Sys;
use crate::sys::signals;
use crate::values::error::{Error, Result};
use crate::{bench, inspect, lab, socket, wire};

/// The process's exit code for `result` (DESIGN.md §3): 0, 1 (also when
/// output could not be written: reported when it happened), 2 for usage,
/// and for a stop signal the signal itself, re-raised after cleanup.
/// A traced program ends here through its traced `exit_group` (end.rs).
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        // A stop signal that ended a pause where no blocking call came
        // after it: the program still dies by it.
        Ok(()) if let Some(sig) = signals::pending() => {
            signals::reraise(sig);
            ExitCode::from((128 + sig as i32) as u8)
        }
        Ok(()) if crate::strace::output_failed() => super::end::exit(1),
        Ok(()) => super::end::exit(0),
        Err(Error::Signal(sig)) => {
            signals::reraise(sig);
            ExitCode::from((128 + sig as i32) as u8)
        }
        // Found before any call: no end line (nothing was traced).
        Err(e @ Error::Usage(_)) => {
            crate::output::report(&e);
            ExitCode::from(e.exit_code() as u8)
        }
        Err(e) => {
            crate::output::report(&e);
            super::end::exit(e.exit_code() as u8)
        }
    }
}

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    super::trace_sink::trace_time(&cli)?;
    if let Some(result) = super::script::run(&cli) {
        return result;
    }
    if let Command::Net(cmd) = &cli.command {
        let globals = super::net::Globals {
            wire: cli.wire,
            pcap: cli.pcap.clone(),
            tracing: cli.trace.is_some() || cli.show_state || cli.step || cli.record.is_some(),
        };
        return super::net::run(cmd, &globals);
    }
    lab_flags(&cli)?;
    signals::ignore_file_size_signal()?;
    let inspect = inspect::Inspect::new(
        cli.show_state,
        cli.pause_before.clone(),
        cli.pause_after.clone(),
        cli.step,
    )?;
    check_phases(&cli.command)?;
    let wire_opts = wire::Options {
        show: cli.wire,
        pcap: cli.pcap.clone(),
    };
    if let Command::Lab { name, json } = &cli.command
        && name != "list"
    {
        return lab::run(name, *json, &wire_opts, lab_recorder(&cli)?);
    }
    if !wire_opts.active() {
        let tracer = tracer(&cli)?;
        let out = Output::new(tracer.clone());
        let sys = Sys::new(tracer)
            .with_observer(inspect.observer())
            .with_somaxconn(backlog(&cli.command));
        signals::trace_reraise(&sys);
        signals::note_start(&sys);
        if stops_by_signal(&cli.command) {
            signals::catch_stop_signals_at_start()?;
        }
        super::end::traced_by(&sys, &cli);
        return run_command(&sys, &out, cli.command);
    }
    // --wire / --pcap: capture around the program (src/wire/).
    let ports = wire_ports(&cli.command)?;
    // A stop signal ends the program's blocking call (EINTR), so the
    // capture is stopped, its last lines printed and the pcap file
    // complete before main re-raises the signal.
    let base = tracer(&cli)?;
    let before = Sys::new(base.clone());
    signals::note_start(&before);
    signals::catch_stop_signals(&before)?;
    let (tracer, timeline) = wire::timeline(base, &wire_opts);
    let out = Output::new(tracer.clone());
    let sys = Sys::new(tracer)
        .with_observer(inspect.observer())
        .with_somaxconn(backlog(&cli.command));
    // Recorded, the capture's lines are `wire | ` lines, which the
    // replay skips (as a lab's): its filter is a pointer in the line
    // (CONVENTIONS.md, "--wire and records").
    let wire_sys = match cli.record.is_some() {
        true => sys.retraced(sys.tracer().record_tagged("wire")),
        false => sys.clone(),
    };
    let capture = wire::start(&wire_sys, timeline, &wire_opts, &ports)?;
    super::end::traced_by(&sys, &cli);
    let result = run_command(&sys, &out, cli.command);
    let stopped = capture.stop(&wire_sys);
    result.and(stopped)
}

/// The programs that catch the stop signals from the start (sys/signals.rs),
/// so that one shows in their trace as strace -f shows it (the cut call,
/// its `--- SIG... ---`, the re-raise, `+++ killed by ... +++`): the tcp,
/// udp and unix clients and servers, whose waits are all sys's calls (or
/// end at a stop signal: a client's stdin). Not bench and demo, which wait
/// for their threads untraced (a stop signal would be held until they end).
fn stops_by_signal(command: &Command) -> bool {
    matches!(
        command,
        Command::Tcp(_) | Command::Udp(_) | Command::Unix(_)
    )
}

/// A stream server's `--backlog`.
fn backlog(command: &Command) -> Option<i32> {
    match command {
        Command::Tcp(TcpCommand::Server { stream, .. })
        | Command::Unix(UnixCommand::Server {
            stream,
            dgram: false,
            ..
        }) => Some(stream.backlog),
        _ => None,
    }
}

/// The ports a capturing command names (a server on port 0 adds its own
/// when it prints `listening on`); a usage error for programs without a wire.
fn wire_ports(command: &Command) -> Result<Vec<u16>> {
    let addr = match command {
        Command::Tcp(TcpCommand::Server { addr, .. } | TcpCommand::Client { addr, .. })
        | Command::Udp(UdpCommand::Server { addr, .. } | UdpCommand::Client { addr, .. }) => addr,
        Command::Unix(_) => return Err(wire::no_wire("a UNIX socket")),
        Command::Demo => return Err(wire::no_wire("`socklab demo` (run a tcp or udp program)")),
        Command::Sockopt(_) => return Err(wire::no_wire("`socklab sockopt`")),
        Command::Bench(_) => {
            return Err(Error::Usage(
                "--wire and --pcap do not apply to `socklab bench`: the capture would slow down \
                 what it measures (capture a tcp or udp client instead)"
                    .to_string(),
            ));
        }
        Command::Lab { .. } => return Ok(Vec::new()),
        Command::Script { .. } | Command::Shell { .. } | Command::Net(_) => return Ok(Vec::new()),
    };
    Ok(addr.port().into_iter().collect())
}

fn run_command(sys: &Sys, out: &Output, command: Command) -> Result<()> {
    let ctx = super::hint_context::of(&command);
    program(sys, out, command).map_err(|e| match ctx {
        Some(set) => e.in_context(|c| {
            c.unix |= set.unix;
            c.dgram = set.dgram;
            c.reuseaddr = set.reuseaddr;
            c.broadcast = set.broadcast;
            c.send_flags = set.send_flags;
            c.recv_flags = set.recv_flags;
            c.server = set.server;
            c.client = set.client;
            c.send_empty = set.send_empty;
        }),
        None => e,
    })
}

fn program(sys: &Sys, out: &Output, command: Command) -> Result<()> {
    match command {
        Command::Tcp(TcpCommand::Server {
            addr,
            common,
            stream,
        }) => tcp::server(sys, out, &addr, &common.stream(&stream)),
        Command::Tcp(TcpCommand::Client {
            addr,
            client,
            stream,
        }) => tcp::client(
            sys,
            out,
            &addr,
            client.messages()?,
            &client.stream(&stream, false)?,
        ),
        Command::Udp(UdpCommand::Server {
            addr,
            common,
            model,
            recv_flags,
            batch,
        }) => {
            let mut opts = dgram::ServerOpts {
                model,
                batch: batch.map(|n| n as usize),
                ..common.dgram()
            };
            crate::programs::dgram_batch::check(&opts)?;
            opts.setup.recv_flags = recv_flags.iter().fold(0, |a, b| a | b);
            udp::server(sys, out, &addr, common.reuseaddr, &opts)
        }
        Command::Udp(UdpCommand::Client {
            addr,
            client,
            dgram,
        }) => udp::client(
            sys,
            out,
            &addr,
            client.messages()?,
            &client.dgram(&dgram, false)?,
        ),
        Command::Unix(UnixCommand::Server {
            addr,
            dgram,
            unlink_stale,
            mode,
            follow_symlinks,
            recv_flags,
            batch,
            common,
            stream,
        }) => {
            let file = unix::FileOpts {
                unlink_stale,
                mode,
                follow_symlinks,
            };
            let (stream_opts, mut dgram_opts) = (common.stream(&stream), common.dgram());
            dgram_opts.model = stream.model;
            dgram_opts.setup.recv_flags = recv_flags.iter().fold(0, |a, b| a | b);
            dgram_opts.batch = batch.map(|n| n as usize);
            if dgram {
                crate::programs::dgram_batch::check(&dgram_opts)?;
            }
            let server = if dgram {
                unix::Server::Dgram(&dgram_opts)
            } else {
                unix::Server::Stream(&stream_opts)
            };
            unix::server(sys, out, &addr, common.reuseaddr, &file, server)
        }
        Command::Unix(UnixCommand::Client {
            addr,
            dgram,
            client,
            stream,
            dgram_opts,
        }) => {
            let messages = client.messages()?;
            if dgram {
                unix::dgram_client(sys, out, &addr, messages, &client.dgram(&dgram_opts, true)?)
            } else if dgram_opts.connect {
                Err(Error::Usage(
                    "--connect is for datagram sockets: add --dgram".to_string(),
                ))
            } else {
                unix::stream_client(sys, out, &addr, messages, &client.stream(&stream, true)?)
            }
        }
        Command::Demo => demo::run(),
        Command::Bench(b) => bench::run(sys, out, &b.opts()),
        Command::Sockopt(SockoptCommand::List { kinds }) => {
            programs::sockopt_list::list(sys, out, &kinds)
        }
        Command::Lab { name, .. } if name == "list" => lab::list(),
        Command::Lab { .. } => Ok(()), // run above, with the capture options
        Command::Script { .. } | Command::Shell { .. } | Command::Net(_) => Ok(()), // run above
    }
}

/// A lab always prints its own timeline: the global trace and inspection
/// switches would be silently ignored, so they are refused.
fn lab_flags(cli: &Cli) -> Result<()> {
    let lab = matches!(cli.command, Command::Lab { .. });
    let any = cli.trace.is_some()
        || cli.trace_file.is_some()
        || cli.show_state
        || cli.step
        || !cli.pause_before.is_empty()
        || !cli.pause_after.is_empty();
    let recordless = match &cli.command {
        Command::Demo | Command::Bench(_) | Command::Sockopt(_) => true,
        Command::Lab { name, .. } => name == "list",
        _ => false,
    };
    if recordless && cli.record.is_some() {
        return Err(Error::Usage(
            "--record writes the calls of a program (tcp, udp, unix) or a lab as a script; \
             demo, bench, sockopt list and lab list have none to replay"
                .to_string(),
        ));
    }
    if lab && any {
        return Err(Error::Usage(
            "a lab always prints its own timeline: --trace, --trace-file, --show-state, \
             --pause-before/after and --step do not apply (--json gives it as events)"
                .to_string(),
        ));
    }
    Ok(())
}

/// Every `--sockopt` phase must be one the program reaches.
fn check_phases(command: &Command) -> Result<()> {
    let (socket, accepts, connects) = match command {
        Command::Tcp(TcpCommand::Server { common, .. }) => (&common.socket, true, false),
        Command::Tcp(TcpCommand::Client { client, .. }) => (&client.socket, false, true),
        Command::Udp(UdpCommand::Server { common, .. }) => (&common.socket, false, false),
        Command::Udp(UdpCommand::Client { client, dgram, .. }) => {
            (&client.socket, false, dgram.connect)
        }
        Command::Unix(UnixCommand::Server { common, dgram, .. }) => (&common.socket, !dgram, false),
        Command::Unix(UnixCommand::Client {
            client,
            dgram,
            dgram_opts,
            ..
        }) => (&client.socket, false, !dgram || dgram_opts.connect),
        Command::Demo
        | Command::Sockopt(_)
        | Command::Bench(_)
        | Command::Lab { .. }
        | Command::Script { .. }
        | Command::Shell { .. }
        | Command::Net(_) => {
            return Ok(());
        }
    };
    // --model: what each model can honour, before any syscall.
    match command {
        Command::Tcp(TcpCommand::Server { common, stream, .. })
        | Command::Unix(UnixCommand::Server {
            common,
            stream,
            dgram: false,
            ..
        }) => server_opts::check(&common.stream(stream))?,
        Command::Unix(UnixCommand::Server {
            common,
            stream,
            dgram: true,
            recv_flags,
            ..
        }) => {
            server_opts::parse_dgram(&stream.model.to_string()).map_err(Error::Usage)?;
            let wait = common.socket.setup().wait;
            server_opts::check_dgram(stream.model, wait, !recv_flags.is_empty())?;
        }
        Command::Udp(UdpCommand::Server {
            common,
            model,
            recv_flags,
            ..
        }) => {
            let wait = common.socket.setup().wait;
            server_opts::check_dgram(*model, wait, !recv_flags.is_empty())?;
        }
        _ => {}
    }
    socket::modes::check_phases(&socket.setup(), accepts, connects)
}
