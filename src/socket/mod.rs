//! Socket helpers built on `sys`: Python's blocking, timeout and
//! non-blocking modes (`modes`, `retry`), line framing (`lines`), long
//! messages sent while their echo is read (`duplex`), messages and buffers
//! (`text`).

pub mod duplex;
pub mod lines;
pub mod modes;
mod retry;
pub mod text;
