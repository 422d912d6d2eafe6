//! socklab: a Linux command-line lab for BSD sockets. See DESIGN.md in
//! `../shared/` and CONVENTIONS.md for the architecture: every syscall goes
//! through the traced `sys` layer.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "socklab is a lab for Linux sockets (accept4, abstract UNIX addresses, strace): it builds on Linux only"
);

pub mod bench;
pub mod cli;
pub mod inspect;
pub mod lab;
pub mod private_dir;
pub mod programs;
pub mod socket;
pub mod strace;
pub mod sys;
pub mod values;
pub mod wire;

use std::io::Write;

use cli::{Cli, Command, SockoptCommand, TcpCommand, TraceFormat, UdpCommand, UnixCommand};
use programs::{demo, dgram, model, tcp, udp, unix};
use strace::{Format, Tracer};
use sys::Sys;
use sys::signals;
use values::error::{self, Error, Result};

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
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
        return lab::run(name, *json, &wire_opts);
    }
    if !wire_opts.active() {
        let sys = Sys::new(tracer(&cli)?)
            .with_observer(inspect.observer())
            .with_somaxconn(backlog(&cli.command));
        return run_command(&sys, cli.command);
    }
    // --wire / --pcap: capture around the program (src/wire/).
    let ports = wire_ports(&cli.command)?;
    // A stop signal ends the program's blocking call (EINTR), so the
    // capture is stopped, its last lines printed and the pcap file
    // complete before main re-raises the signal.
    signals::catch_stop_signals()?;
    let (tracer, timeline) = wire::timeline(tracer(&cli)?, &wire_opts);
    let sys = Sys::new(tracer)
        .with_observer(inspect.observer())
        .with_somaxconn(backlog(&cli.command));
    let capture = wire::start(&sys, timeline, &wire_opts, &ports)?;
    let result = run_command(&sys, cli.command);
    let stopped = capture.stop(&sys);
    result.and(stopped)
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
        Command::Lab { .. } | Command::LabChild { .. } => return Ok(Vec::new()),
    };
    Ok(addr.port().into_iter().collect())
}

fn run_command(sys: &Sys, command: Command) -> Result<()> {
    match command {
        Command::Tcp(TcpCommand::Server {
            addr,
            common,
            stream,
        }) => tcp::server(sys, &addr, &common.stream(&stream)),
        Command::Tcp(TcpCommand::Client {
            addr,
            client,
            stream,
        }) => tcp::client(sys, &addr, client.messages()?, &client.stream(&stream)),
        Command::Udp(UdpCommand::Server {
            addr,
            common,
            model,
        }) => {
            let opts = dgram::ServerOpts {
                model,
                ..common.dgram()
            };
            udp::server(sys, &addr, common.reuseaddr, &opts)
        }
        Command::Udp(UdpCommand::Client {
            addr,
            client,
            dgram,
        }) => udp::client(sys, &addr, client.messages()?, &client.dgram(&dgram)),
        Command::Unix(UnixCommand::Server {
            addr,
            dgram,
            unlink_stale,
            mode,
            follow_symlinks,
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
            let server = if dgram {
                unix::Server::Dgram(&dgram_opts)
            } else {
                unix::Server::Stream(&stream_opts)
            };
            unix::server(sys, &addr, common.reuseaddr, &file, server)
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
                unix::dgram_client(sys, &addr, messages, &client.dgram(&dgram_opts))
            } else if dgram_opts.connect {
                Err(Error::Usage(
                    "--connect is for datagram sockets: add --dgram".to_string(),
                ))
            } else {
                unix::stream_client(sys, &addr, messages, &client.stream(&stream))
            }
        }
        Command::Demo => demo::run(),
        Command::Bench(b) => bench::run(sys, &b.opts()),
        Command::Sockopt(SockoptCommand::List { kinds }) => {
            programs::sockopt_list::list(sys, &kinds)
        }
        Command::Lab { name, .. } if name == "list" => lab::list(),
        Command::Lab { .. } => Ok(()), // run above, with the capture options
        Command::LabChild { lab, args } => lab::child_main(&lab, &args),
    }
}

/// A lab always prints its own timeline: the global trace and inspection
/// switches would be silently ignored, so they are refused.
fn lab_flags(cli: &Cli) -> Result<()> {
    let lab = matches!(cli.command, Command::Lab { .. } | Command::LabChild { .. });
    let any = cli.trace.is_some()
        || cli.trace_file.is_some()
        || cli.show_state
        || cli.step
        || !cli.pause_before.is_empty()
        || !cli.pause_after.is_empty();
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
        | Command::LabChild { .. } => {
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
        }) => model::check(&common.stream(stream))?,
        Command::Unix(UnixCommand::Server {
            stream,
            dgram: true,
            ..
        }) => {
            model::parse_dgram(&stream.model.to_string()).map_err(Error::Usage)?;
        }
        _ => {}
    }
    socket::modes::check_phases(&socket.setup(), accepts, connects)
}

fn tracer(cli: &Cli) -> Result<Tracer> {
    let format = match (cli.trace, &cli.trace_file) {
        (Some(TraceFormat::Json), _) => Format::Json,
        (Some(TraceFormat::Text), _) | (None, Some(_)) => Format::Text,
        (None, None) if cli.wire => Format::Text,
        (None, None) => Format::Off,
    };
    let sink = match &cli.trace_file {
        None => strace::Output::new("stderr", Box::new(std::io::stderr())),
        Some(path) => {
            let file = trace_file(path)?;
            // Leaked on purpose: the file stays open until the process exits,
            // so no untraced close(2) appears among the socket calls.
            let name = format!("trace file {}", error::printable(&path.to_string_lossy()));
            strace::Output::new(name, Box::new(Box::leak(Box::new(file))))
        }
    };
    Ok(Tracer::new(format, Box::new(sink)))
}

/// `--trace-file PATH`, created or truncated. Opened with O_NONBLOCK, so
/// a FIFO that no one reads fails at once (ENXIO) instead of blocking the
/// open before anything happens; the flag is then cleared, so writes to a
/// FIFO wait for a slow reader as they would to a terminal.
fn trace_file(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = error::printable(&path.to_string_lossy());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => Error::Runtime(format!(
                "cannot open trace file {shown}: it is a FIFO that no process reads \
                 (ENXIO); start its reader first (e.g. cat {shown})"
            )),
            _ => Error::Runtime(format!("cannot create trace file {shown}: {e}")),
        })?;
    crate::sys::untraced::clear_nonblock(&file).map_err(|e| {
        Error::Runtime(format!(
            "cannot use trace file {shown}: fcntl: {}",
            strace::errno_text(e)
        ))
    })?;
    Ok(file)
}

/// One line on stdout; a closed stdout (`socklab demo | head -1`) is not an
/// error and never a panic, as println! would make it; another failure is
/// reported once and makes the exit code 1 (`strace::Output`).
pub fn print_line(text: &str) {
    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
        strace::write_failed("stdout", &e);
    }
}

/// Print an error as DESIGN.md §3 says: `socklab: <call> = -1 ENAME (text)`
/// and, on the next line, the hint.
pub fn report(e: &Error) {
    // One write: a forked server's children share this stderr.
    let text = match e.hint() {
        Some(hint) => format!("socklab: {e}\n  hint: {hint}"),
        None => format!("socklab: {e}"),
    };
    strace::write_line(&mut std::io::stderr().lock(), &text);
}
