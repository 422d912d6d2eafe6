//! `socklab script` and `socklab shell` (issue 14): socket calls in the
//! syntax `--trace` prints (strace's), any call, in any order, on any
//! number of sockets and actors. `ast.rs`: what a line says.

pub mod ast;
pub mod parse;
