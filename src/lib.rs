//! socklab: a Linux command-line lab for BSD sockets. See DESIGN.md in
//! `../shared/` and CONVENTIONS.md for the architecture: every syscall goes
//! through the traced `sys` layer.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "socklab is a lab for Linux sockets (accept4, abstract UNIX addresses, strace): it builds on Linux only"
);

// The layers, bottom to top (CONVENTIONS.md draws them; `layers.rs`
// checks that each imports only from the layers below it). `pub` only
// where the tests or main.rs reach in.

// 0 values, 1 strace rendering, 2 sys: the one traced layer.
pub mod strace;
pub mod sys;
pub mod values;
// 3 socket helpers, the inspector, the wire, program output, private dirs.
pub(crate) mod inspect;
pub mod output;
pub(crate) mod private_dir;
pub(crate) mod socket;
pub mod wire;
// 4 programs, the lab network; 5 labs and benchmarks; 6 the command line.
pub(crate) mod bench;
pub mod cli;
pub(crate) mod lab;
pub mod net;
pub(crate) mod programs;
pub mod script;

#[cfg(test)]
mod layers;
