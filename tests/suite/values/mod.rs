//! Values: errors and their hints (addresses and options are parsed in
//! `cli`, fuzzed in `reliability::fuzz`, set in `socket::sockopts`).

mod errors;
