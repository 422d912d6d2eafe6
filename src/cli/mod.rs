//! The command line: parse arguments into typed values (`args.rs`, with
//! the value parsers in `parse.rs`), turn them into the programs' options
//! (`opts.rs`) and run the program asked for (`run.rs`, with the trace
//! sink of `trace_sink.rs`).

mod args;
mod end;
mod hint_context;
mod net;
mod opts;
mod parse;
mod run;
mod script;
mod trace_sink;

pub use args::*;
pub use parse::{parse_mode, parse_pause, parse_sockopt};
pub use run::{exit_code, run};
