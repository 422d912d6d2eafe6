//! From the command line's argument groups to the programs' options.

use std::io::IsTerminal;

use super::args::{ClientArgs, DgramClientArgs, ServerArgs, StreamClientArgs, StreamServerArgs};
use crate::programs::{dgram, stream};
use crate::socket::buffer::pattern;
use crate::socket::messages::Messages;
use crate::socket::modes::Setup;
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

impl ServerArgs {
    pub fn stream(&self, s: &StreamServerArgs) -> stream::ServerOpts {
        stream::ServerOpts {
            backlog: s.backlog,
            bufsize: self.bufsize as usize,
            reuseaddr: self.reuseaddr,
            once: self.once,
            max_conns: self.max_conns,
            quiet: self.quiet,
            naive: s.naive,
            naive_limit: s.naive_limit,
            lines: s.lines,
            sink: s.sink,
            setup: self.socket.setup(),
            model: s.model,
        }
    }

    pub fn dgram(&self) -> dgram::ServerOpts {
        dgram::ServerOpts {
            bufsize: self.bufsize as usize,
            once: self.once,
            max_conns: self.max_conns,
            quiet: self.quiet,
            setup: self.socket.setup(),
            model: crate::programs::server_opts::Model::Iterative,
            batch: None,
        }
    }
}

impl ClientArgs {
    /// The messages to send: `--size N` bytes of a pattern (allocated
    /// here, before any call: a failure is `cannot allocate`, exit 1),
    /// `-m TEXT`s, or stdin lines.
    pub fn messages(&self) -> Result<Messages> {
        match self.size {
            Some(n) => Ok(Messages::one(pattern(n as usize, "--size")?)),
            None => Ok(Messages::new(
                self.messages
                    .iter()
                    .map(|m| std::os::unix::ffi::OsStrExt::as_bytes(m.as_os_str()).to_vec())
                    .collect(),
            )),
        }
    }

    /// Print the server's bytes raw: `--raw`, or stdout is not a terminal.
    fn raw(&self) -> bool {
        self.raw || !std::io::stdout().is_terminal()
    }

    /// `--bind ADDR` as the client's family reads it (a usage error when
    /// it is not an address).
    fn bind(&self, unix: bool) -> Result<Option<Addr>> {
        let Some(arg) = &self.bind else {
            return Ok(None);
        };
        let addr = if unix {
            Addr::parse_unix_os(arg.clone())
        } else {
            Addr::parse_inet(&arg.to_string_lossy())
        };
        addr.map(Some)
            .map_err(|e| Error::Usage(format!("--bind {}: {e}", arg.to_string_lossy())))
    }

    /// The wait mode and sockopts, with `--send-flags` and `--recv-flags`.
    fn setup(&self) -> Setup {
        let or = |all: &[i32]| all.iter().fold(0, |a, b| a | b);
        Setup {
            send_flags: or(&self.send_flags),
            recv_flags: or(&self.recv_flags),
            ..self.socket.setup()
        }
    }

    pub fn stream(&self, s: &StreamClientArgs, unix: bool) -> Result<stream::ClientOpts> {
        Ok(stream::ClientOpts {
            bufsize: self.bufsize as usize,
            send_empty: s.send_empty,
            connect_ex: s.connect_ex,
            send_mode: s.send_mode,
            sized: self.size.is_some(),
            lines: s.lines,
            shutdown: s.shutdown,
            raw: self.raw(),
            no_reply: self.no_reply,
            bind: self.bind(unix)?,
            setup: self.setup(),
            unix,
        })
    }

    pub fn dgram(&self, d: &DgramClientArgs, unix: bool) -> Result<dgram::ClientOpts> {
        Ok(dgram::ClientOpts {
            bufsize: self.bufsize as usize,
            connect: d.connect,
            raw: self.raw(),
            no_reply: self.no_reply,
            bind: self.bind(unix)?,
            setup: self.setup(),
        })
    }
}
