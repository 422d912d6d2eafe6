//! Socket helpers built on `sys`: Python's blocking, timeout and
//! non-blocking modes (`wait`, `modes`, `retry`), line framing (`lines`), long
//! messages sent while their echo is read (`duplex`), a client's messages
//! (`messages`), buffers sized from the command line (`buffer`), whole
//! messages on a blocking socket (`exactly`).

pub mod buffer;
pub mod duplex;
pub mod exactly;
pub mod lines;
pub mod messages;
pub mod modes;
mod retry;
pub mod wait;
