//! What the hints may know of a program's sockets (values::calls::When),
//! from its command line: a failed call's hint then names only options
//! this command has, and causes this socket can have.

use super::args::{ClientArgs, Command, TcpCommand, UdpCommand, UnixCommand};
use crate::bench;
use crate::values::calls::Context;
use crate::values::sockopt::Phase;

/// The sockets' family and type, whether SO_REUSEADDR and SO_BROADCAST
/// are set (by --reuseaddr or a --sockopt right after socket), the
/// user's --send-flags and --recv-flags, whether the program is a server
/// or a client (a client sets SO_REUSEADDR with --sockopt, and a
/// server's timeout waits for clients), and a client's --send-empty.
pub fn of(command: &Command) -> Option<Context> {
    let or = |flags: &[i32]| flags.iter().fold(0, |a, f| a | f);
    let sent = |c: &ClientArgs| (or(&c.send_flags), or(&c.recv_flags));
    let (unix, dgram, reuseaddr, socket, (send_flags, recv_flags)) = match command {
        Command::Tcp(TcpCommand::Server { common, .. }) => {
            (false, false, common.reuseaddr, &common.socket, (0, 0))
        }
        Command::Tcp(TcpCommand::Client { client, .. }) => {
            (false, false, false, &client.socket, sent(client))
        }
        Command::Udp(UdpCommand::Server {
            common, recv_flags, ..
        }) => (
            false,
            true,
            common.reuseaddr,
            &common.socket,
            (0, or(recv_flags)),
        ),
        Command::Udp(UdpCommand::Client { client, .. }) => {
            (false, true, false, &client.socket, sent(client))
        }
        Command::Unix(UnixCommand::Server {
            common,
            dgram,
            recv_flags,
            ..
        }) => (
            true,
            *dgram,
            common.reuseaddr,
            &common.socket,
            (0, or(recv_flags)),
        ),
        Command::Unix(UnixCommand::Client { client, dgram, .. }) => {
            (true, *dgram, false, &client.socket, sent(client))
        }
        Command::Bench(b) => {
            let opts = b.opts();
            return Some(Context {
                unix: opts.addr.is_unix(),
                dgram: Some(opts.test == bench::Test::Udp),
                client: true,
                ..Context::default()
            });
        }
        _ => return None,
    };
    let server = matches!(
        command,
        Command::Tcp(TcpCommand::Server { .. })
            | Command::Udp(UdpCommand::Server { .. })
            | Command::Unix(UnixCommand::Server { .. })
    );
    let send_empty = match command {
        Command::Tcp(TcpCommand::Client { stream, .. })
        | Command::Unix(UnixCommand::Client { stream, .. }) => stream.send_empty,
        _ => false,
    };
    let set = |level: i32, name: i32| {
        socket.sockopts.iter().any(|o| {
            o.phase == Phase::Created
                && (o.opt.level, o.opt.name) == (level, name)
                && o.value.as_int().is_some_and(|v| v != 0)
        })
    };
    Some(Context {
        unix,
        dgram: Some(dgram),
        reuseaddr: reuseaddr || set(libc::SOL_SOCKET, libc::SO_REUSEADDR),
        broadcast: set(libc::SOL_SOCKET, libc::SO_BROADCAST),
        send_flags,
        recv_flags,
        server,
        client: !server,
        send_empty,
        ..Context::default()
    })
}
