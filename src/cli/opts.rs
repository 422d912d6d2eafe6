//! From the command line's argument groups to the programs' options.

use std::io::IsTerminal;

use super::args::{ClientArgs, DgramClientArgs, ServerArgs, StreamClientArgs, StreamServerArgs};
use crate::programs::{dgram, stream};
use crate::socket::buffer::pattern;
use crate::socket::messages::Messages;

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
        }
    }
}

impl ClientArgs {
    /// The messages to send: `--size N` bytes of a pattern (allocated
    /// here, before any call: a failure is `cannot allocate`, exit 1),
    /// `-m TEXT`s, or stdin lines.
    pub fn messages(&self) -> crate::values::error::Result<Messages> {
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

    pub fn stream(&self, s: &StreamClientArgs) -> stream::ClientOpts {
        stream::ClientOpts {
            bufsize: self.bufsize as usize,
            send_empty: s.send_empty,
            connect_ex: s.connect_ex,
            send_mode: s.send_mode,
            sized: self.size.is_some(),
            lines: s.lines,
            shutdown: s.shutdown,
            raw: self.raw(),
            setup: self.socket.setup(),
        }
    }

    pub fn dgram(&self, d: &DgramClientArgs) -> dgram::ClientOpts {
        dgram::ClientOpts {
            bufsize: self.bufsize as usize,
            connect: d.connect,
            raw: self.raw(),
            setup: self.socket.setup(),
        }
    }
}
