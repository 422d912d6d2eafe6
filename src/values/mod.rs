//! The values every layer shares (the bottom layer): addresses, the error
//! type, the call table (with its hints), the socket option table, and
//! strace's text forms of C values (quoting, sockaddr) that their
//! `Display`s use. Nothing here imports from a layer above.

pub mod addr;
pub mod calls;
pub mod error;
pub mod quoting;
pub mod sockaddr;
pub mod sockopt;
pub mod xlat;
