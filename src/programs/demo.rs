//! `socklab demo`: every server with its client, traced, in one transcript.
//!
//! Each scenario runs the server in a thread on an ephemeral port, a
//! temporary path or a fresh abstract name, learns its address from the
//! `listening on` step (a channel, not a sleep), then runs the client in
//! this thread. Both sides write to one stdout, each line tagged with its
//! side, so the transcript shows the two syscall sequences interleaved in
//! the order they happened. The server exits by itself (`--max-conns`).

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use crate::output::Output;
use crate::private_dir::PrivateDir;
use crate::programs::{dgram, stream, tcp, udp, unix};
use crate::socket::messages::Messages;
use crate::socket::modes::Setup;
use crate::strace::{Format, Tracer};
use crate::sys::Sys;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

#[derive(Clone, Copy)]
enum Kind {
    Stream,
    Dgram,
}

struct Scenario {
    title: &'static str,
    kind: Kind,
    addr: String,
    messages: &'static [&'static str],
}

pub fn run() -> Result<()> {
    let base = Tracer::shared(Format::Text, Box::new(crate::strace::Stream::stdout()));
    crate::output::print_line(
        "socklab demo: each server and its client, every syscall as strace prints it.",
    );
    crate::output::print_line(
        "Lines `server | call(...) = ret` are syscalls; `server > text` is what the program prints.",
    );
    // The socket files' private directory (src/private_dir.rs), made
    // and removed by the `demo` side, traced as every other call.
    crate::output::print_line("");
    crate::output::print_line("== the socket files' private directory ==");
    let setup = Sys::new(base.with_side("demo"));
    let dir = PrivateDir::create(&setup, "socklab-demo")?;
    let result = run_all(&base, dir.path());
    crate::output::print_line("");
    crate::output::print_line("== the private directory removed ==");
    let removed = dir.remove(&setup);
    if result.is_ok() && removed.is_ok() {
        crate::output::print_line("");
        crate::output::print_line(
            "Every socket is closed and every socket file removed. Try: socklab --trace tcp server :0",
        );
    }
    result.and(removed)
}

fn run_all(base: &Tracer, dir: &std::path::Path) -> Result<()> {
    // The abstract name shares the directory's random suffix: another
    // user cannot take it in advance as they could a name made of the pid.
    let name = dir.file_name().map_or_else(
        || "socklab-demo".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let scenarios = [
        Scenario {
            title: "TCP over IPv4",
            kind: Kind::Stream,
            addr: "127.0.0.1:0".into(),
            messages: &["hello", "world"],
        },
        Scenario {
            title: "TCP over IPv6",
            kind: Kind::Stream,
            addr: "[::1]:0".into(),
            messages: &["hello"],
        },
        Scenario {
            title: "UDP over IPv4 (the empty line is a real, empty datagram)",
            kind: Kind::Dgram,
            addr: "127.0.0.1:0".into(),
            messages: &["hello", "", "world"],
        },
        Scenario {
            title: "UNIX stream socket on a path",
            kind: Kind::Stream,
            addr: dir.join("stream.sock").display().to_string(),
            messages: &["hello"],
        },
        Scenario {
            title: "UNIX datagram socket on a path (the client autobinds so the reply can come back)",
            kind: Kind::Dgram,
            addr: dir.join("dgram.sock").display().to_string(),
            messages: &["hello"],
        },
        Scenario {
            title: "UNIX stream socket on an abstract name (no file)",
            kind: Kind::Stream,
            addr: format!("@{name}"),
            messages: &["hello"],
        },
    ];
    for sc in &scenarios {
        crate::output::print_line("");
        crate::output::print_line(&format!("== {} ==", sc.title));
        run_one(base, sc)?;
    }
    Ok(())
}

fn run_one(base: &Tracer, sc: &Scenario) -> Result<()> {
    let is_unix = sc.addr.starts_with('/') || sc.addr.starts_with('@');
    let addr = if is_unix {
        Addr::parse_unix(&sc.addr)
    } else {
        Addr::parse_inet(&sc.addr)
    }
    .map_err(Error::Runtime)?;
    let (tx, rx) = sync_channel(1);
    let server_sys = Sys::new(base.with_side("server"));
    let server_out = Output::new(base.with_side("server")).notify_listening(tx);
    let client_sys = Sys::new(base.with_side("client"));
    let out = Output::new(base.with_side("client"));
    let messages = || Messages::new(sc.messages.iter().map(|m| m.as_bytes().to_vec()).collect());
    std::thread::scope(|scope| {
        let server = scope.spawn(|| serve(&server_sys, &server_out, &addr, sc, is_unix));
        let Ok(bound) = rx.recv_timeout(Duration::from_secs(5)) else {
            // The server stopped before listening: its error says why.
            return server
                .join()
                .unwrap_or(Err(Error::Runtime("demo server thread failed".into())));
        };
        let client = match sc.kind {
            Kind::Stream => {
                let opts = stream::ClientOpts {
                    bufsize: 1024,
                    send_empty: false,
                    connect_ex: false,
                    send_mode: stream::SendMode::Sendall,
                    sized: false,
                    lines: false,
                    shutdown: false,
                    // The replies of the demo's own server, to its own messages.
                    raw: true,
                    no_reply: false,
                    bind: None,
                    setup: Setup::default(),
                    unix: is_unix,
                };
                if is_unix {
                    unix::stream_client(&client_sys, &out, &bound, messages(), &opts)
                } else {
                    tcp::client(&client_sys, &out, &bound, messages(), &opts)
                }
            }
            Kind::Dgram => {
                let opts = dgram::ClientOpts {
                    bufsize: 1024,
                    connect: false,
                    raw: true,
                    no_reply: false,
                    bind: None,
                    setup: Setup::default(),
                };
                if is_unix {
                    unix::dgram_client(&client_sys, &out, &bound, messages(), &opts)
                } else {
                    udp::client(&client_sys, &out, &bound, messages(), &opts)
                }
            }
        };
        if let Err(e) = client {
            // The server would wait for a client that is gone: stop here.
            crate::output::report(&e);
            std::process::exit(e.exit_code());
        }
        server
            .join()
            .unwrap_or(Err(Error::Runtime("demo server thread failed".into())))
    })
}

fn serve(sys: &Sys, out: &Output, addr: &Addr, sc: &Scenario, is_unix: bool) -> Result<()> {
    let common = |max: usize| (1024, Some(max as u64));
    match sc.kind {
        Kind::Stream => {
            let (bufsize, max_conns) = common(1);
            let opts = stream::ServerOpts {
                backlog: 5,
                bufsize,
                reuseaddr: false,
                once: false,
                max_conns,
                quiet: false,
                naive: false,
                naive_limit: 10,
                lines: false,
                sink: false,
                setup: Setup::default(),
                model: crate::programs::server_opts::Model::Iterative,
            };
            if is_unix {
                unix::server(
                    sys,
                    out,
                    addr,
                    false,
                    &unix::FileOpts::default(),
                    unix::Server::Stream(&opts),
                )
            } else {
                tcp::server(sys, out, addr, &opts)
            }
        }
        Kind::Dgram => {
            let (bufsize, max_conns) = common(sc.messages.len());
            let opts = dgram::ServerOpts {
                bufsize,
                once: false,
                max_conns,
                quiet: false,
                setup: Setup::default(),
                model: crate::programs::server_opts::Model::Iterative,
                batch: None,
            };
            if is_unix {
                unix::server(
                    sys,
                    out,
                    addr,
                    false,
                    &unix::FileOpts::default(),
                    unix::Server::Dgram(&opts),
                )
            } else {
                udp::server(sys, out, addr, false, &opts)
            }
        }
    }
}
