//! Reliability: fuzz of the parsers and decoders, soak of the servers.

mod fuzz;
mod soak;
