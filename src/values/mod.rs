//! The values every layer shares (the bottom layer): addresses, the error
//! type, the call table (with its hints), the socket option table.

pub mod addr;
pub mod calls;
pub mod error;
pub mod sockopt;
