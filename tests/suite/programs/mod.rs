//! The programs: tcp, udp and unix servers and clients, their models, the
//! sockopt list; with other peers (nc, socat, misbehaving ones, the C
//! twins), their UNIX files, and signals.

mod allocation;
mod client_flags;
mod clients;
mod dgram_lines;
mod differential;
mod echo;
mod interop_c;
mod misbehaving_peers;
mod model;
mod non_utf8;
mod peers;
mod signals;
mod sockopt_list;
mod unix_files;
