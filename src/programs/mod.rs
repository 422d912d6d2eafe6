//! The programs: stream and datagram servers (every server model a peer
//! of the others) and clients over TCP, UDP and UNIX sockets, the demo,
//! and the socket option list.

pub mod conn;
pub mod demo;
pub mod dgram;
pub mod model;
pub mod server_opts;
pub mod sockopt_list;
pub mod stream;
pub mod tcp;
pub mod udp;
pub mod unix;
