//! socklab's integration tests: one test binary (`cargo test --test
//! suite`) whose modules follow the source tree. Each test drives the real
//! `socklab` binary (and the C twins of `c_compat/`) through `harness`.
//!
//! Run one subject with a filter: `cargo test --release --test suite --
//! sys::faults::` (what `make faults` does), `reliability::fuzz::`,
//! `reliability::soak::`, `programs::differential::` ...

mod harness;

mod bench;
mod cli;
mod inspect;
mod lab;
mod net;
mod outputs;
mod private_dir;
mod programs;
mod reliability;
mod script;
mod socket;
mod strace;
mod sys;
mod values;
mod wire;
