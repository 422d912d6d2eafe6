//! What a hint depends on besides the call and its errno: the socket
//! ([`Context`]: its family, type, options, and the program's role) and
//! the conditions a hint or an errno list is for ([`When`]).

use nix::errno::Errno;

/// Which sockets an errno list or a hint is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Any,
    /// An AF_UNIX socket (or its socket file).
    Unix,
    /// An AF_INET or AF_INET6 socket.
    Inet,
    /// A datagram socket.
    Dgram,
    /// An AF_INET/AF_INET6 stream socket (TCP).
    Tcp,
    /// A TCP socket with SO_REUSEADDR set (`--reuseaddr` or `--sockopt`).
    TcpReuseAddr,
    /// An AF_INET/AF_INET6 datagram socket (UDP).
    Udp,
    /// A UDP socket with SO_REUSEADDR set.
    UdpReuseAddr,
    /// A UDP socket without SO_BROADCAST.
    UdpNoBroadcast,
    /// A UDP socket whose sends have MSG_MORE (`--send-flags`): corked.
    UdpMore,
    /// An AF_UNIX abstract name (`@NAME`): no file.
    UnixAbstract,
    /// The user's `--send-flags` have this flag.
    SendFlag(i32),
    /// The user's `--recv-flags` have this flag.
    RecvFlag(i32),
    /// A call about this option (level, name): setsockopt's.
    Option(i32, i32),
    /// A datagram server (it waits for clients; it sent nothing first).
    DgramServer,
    /// A stream client (TCP, UNIX) whose messages all had bytes (no
    /// --send-empty).
    StreamClientSentBytes,
    /// socklab's own capture socket (`--wire`, `--pcap`).
    Capture,
    /// A TCP client whose connect_ex returned an error: no connection.
    NotConnected,
}

/// What a hint may depend on besides the call and its errno: the socket
/// (`sys` sets `unix` and `port` from the call's address) and its type and
/// the options the program set (the program's command sets them with
/// [`crate::values::error::Error::in_context`]). Unknown is the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// An AF_UNIX socket.
    pub unix: bool,
    /// A datagram socket (`Some(false)`: a stream socket; None: not known).
    pub dgram: Option<bool>,
    /// SO_REUSEADDR was set on it.
    pub reuseaddr: bool,
    /// SO_BROADCAST was set on it.
    pub broadcast: bool,
    /// The port the failed call named (bind's, connect's, sendto's): a
    /// hint's `{port}`.
    pub port: Option<u16>,
    /// The option (level, name) the failed setsockopt or getsockopt named.
    pub option: Option<(i32, i32)>,
    /// The address the failed call named is an abstract UNIX name.
    pub abstract_name: bool,
    /// The user's `--send-flags` and `--recv-flags` (0: none).
    pub send_flags: i32,
    pub recv_flags: i32,
    /// A program's server, or its client (both false: not known, e.g. a
    /// script's line): their options differ (a client has no
    /// --reuseaddr), and so does what a timeout means.
    pub server: bool,
    pub client: bool,
    /// A client's --send-empty: it may make zero-length sends.
    pub send_empty: bool,
    /// The call was socklab's capture (`--wire`, `--pcap`), not the
    /// program's or a script's.
    pub capture: bool,
    /// `--connect-ex` returned an error code and the client went on: its
    /// socket has no connection (a TCP send waits for one).
    pub not_connected: bool,
}

impl When {
    pub fn holds(self, c: &Context) -> bool {
        let tcp = !c.unix && c.dgram == Some(false);
        let udp = !c.unix && c.dgram == Some(true);
        match self {
            When::Any => true,
            When::Unix => c.unix,
            When::Inet => !c.unix,
            When::Dgram => c.dgram == Some(true),
            When::Tcp => tcp,
            When::TcpReuseAddr => tcp && c.reuseaddr,
            When::Udp => udp,
            When::UdpReuseAddr => udp && c.reuseaddr,
            When::UdpNoBroadcast => udp && !c.broadcast,
            When::UdpMore => udp && c.send_flags & libc::MSG_MORE != 0,
            When::UnixAbstract => c.unix && c.abstract_name,
            When::SendFlag(f) => c.send_flags & f != 0,
            When::RecvFlag(f) => c.recv_flags & f != 0,
            When::Option(level, name) => c.option == Some((level, name)),
            When::DgramServer => c.dgram == Some(true) && c.server,
            When::StreamClientSentBytes => c.dgram == Some(false) && c.client && !c.send_empty,
            When::Capture => c.capture,
            When::NotConnected => tcp && c.not_connected,
        }
    }
}

/// A hint printed under a failed call's error line; `{port}` in its text
/// is the port the call named ([`Context::port`]), `{reuseaddr}` how
/// this program sets SO_REUSEADDR (a client: `--sockopt SO_REUSEADDR=1`).
#[derive(Debug, Clone, Copy)]
pub struct Hint {
    pub errnos: &'static [Errno],
    pub when: When,
    pub text: &'static str,
}

impl Hint {
    pub(super) fn text(&self, c: &Context) -> String {
        let port = c.port.map_or("PORT".to_string(), |p| p.to_string());
        let reuseaddr = if c.client {
            "--sockopt SO_REUSEADDR=1"
        } else {
            "--reuseaddr"
        };
        self.text
            .replace("{port}", &port)
            .replace("{reuseaddr}", reuseaddr)
    }
}
