//! `socklab sockopt list`: every known option's default on a fresh socket of
//! each type, as UNP's `sockopt/checkopts.c` prints it (and
//! `c_compat/checkopts.c` does).
//!
//! Per socket type: 1. `socket(family, type)`; 2. `getsockopt` of each
//! option that applies to it, in table order; 3. `close`.

use nix::sys::socket::{AddressFamily, SockType};

use crate::output::Output;
use crate::sys::Sys;
use crate::values::error::Result;
use crate::values::sockopt::{self, Scope};

/// The socket types `sockopt list` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SockKind {
    Tcp,
    Udp,
    Tcp6,
    Udp6,
    Unix,
    UnixDgram,
}

impl SockKind {
    pub const ALL: [SockKind; 6] = [
        SockKind::Tcp,
        SockKind::Udp,
        SockKind::Tcp6,
        SockKind::Udp6,
        SockKind::Unix,
        SockKind::UnixDgram,
    ];

    fn socket(self) -> (AddressFamily, SockType) {
        match self {
            SockKind::Tcp => (AddressFamily::Inet, SockType::Stream),
            SockKind::Udp => (AddressFamily::Inet, SockType::Datagram),
            SockKind::Tcp6 => (AddressFamily::Inet6, SockType::Stream),
            SockKind::Udp6 => (AddressFamily::Inet6, SockType::Datagram),
            SockKind::Unix => (AddressFamily::Unix, SockType::Stream),
            SockKind::UnixDgram => (AddressFamily::Unix, SockType::Datagram),
        }
    }

    fn name(self) -> &'static str {
        match self {
            SockKind::Tcp => "tcp",
            SockKind::Udp => "udp",
            SockKind::Tcp6 => "tcp6",
            SockKind::Udp6 => "udp6",
            SockKind::Unix => "unix",
            SockKind::UnixDgram => "unix-dgram",
        }
    }

    fn has(self, scope: Scope) -> bool {
        match scope {
            Scope::Any => true,
            Scope::Tcp => matches!(self, SockKind::Tcp | SockKind::Tcp6),
            Scope::Ipv4 => matches!(self, SockKind::Tcp | SockKind::Udp),
            Scope::Ipv6 => matches!(self, SockKind::Tcp6 | SockKind::Udp6),
        }
    }
}

/// Print the table for `kinds` (all of them when empty).
pub fn list(sys: &Sys, out: &Output, kinds: &[SockKind]) -> Result<()> {
    let kinds = if kinds.is_empty() {
        &SockKind::ALL[..]
    } else {
        kinds
    };
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            out.say("");
        }
        let (family, ty) = kind.socket();
        let s = sys.socket(family, ty)?;
        out.say(&format!("{}: defaults on a fresh socket", kind.name()));
        for opt in sockopt::TABLE.iter().filter(|o| kind.has(o.scope)) {
            let value = match sys.getsockopt(s, opt) {
                Ok(v) => v.human(opt.kind),
                Err(e) => match e.errno() {
                    Some(errno) => format!("{errno:?}"),
                    None => return Err(e),
                },
            };
            let access = if sockopt::read_only(opt) {
                "read-only"
            } else if opt.user_name == "SO_SNDLOWAT" {
                "fixed on Linux (setsockopt: ENOPROTOOPT)"
            } else {
                "settable"
            };
            out.say(&format!("  {:<20} {:<14} {access}", opt.user_name, value));
        }
        sys.close(s)?;
    }
    Ok(())
}
