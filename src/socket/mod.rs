//! Socket helpers built on `sys`: Python's blocking, timeout and
//! non-blocking modes (`wait`, `modes`, `retry`), line framing (`lines`), long
//! messages sent while their echo is read (`duplex`), a client's messages
//! (`messages`), buffers sized from the command line (`buffer`), whole
//! messages on a blocking socket (`exactly`).

pub(crate) mod buffer;
pub(crate) mod duplex;
pub(crate) mod exactly;
pub(crate) mod lines;
pub(crate) mod messages;
pub(crate) mod modes;
mod retry;
pub(crate) mod wait;
