//! Values: the call table's rows for every call the programs make,
//! errors and their hints (addresses and options are parsed in
//! `cli`, fuzzed in `reliability::fuzz`, set in `socket::sockopts`).

mod calls;
mod errors;
mod hints;
mod hints_reuse;
