//! Test harness: drive the real `socklab` binary as a user would.
//!
//! Servers run on port 0 or a fresh temporary path; the harness reads their
//! `listening on ADDR` line before starting a client (a handshake, never a
//! sleep). Every wait is bounded by a watchdog that kills the process, so a
//! hung test fails instead of hanging `make test`. On failure, assertions
//! print everything the processes wrote.
//!
//! `process`: running programs (a command to completion, a server that
//! listens); `fixtures`: what tests set up around them (private dirs,
//! abstract names, bound sockets, tools); `cmp`: Rust against C.
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod calls;
pub mod cmp;
mod fixtures;
mod process;

pub use fixtures::*;
pub use process::*;
