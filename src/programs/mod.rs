//! The programs: stream and datagram servers (every server model a peer
//! of the others) and clients over TCP, UDP and UNIX sockets, the demo,
//! and the socket option list.

pub(crate) mod conn;
pub(crate) mod demo;
pub(crate) mod dgram;
pub(crate) mod dgram_batch;
pub(crate) mod model;
pub(crate) mod server_opts;
pub(crate) mod sockopt_list;
pub(crate) mod stream;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod unix;
