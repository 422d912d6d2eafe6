//! The values every layer shares (the bottom layer): addresses, the error
//! type with its hint table, the socket option table.

pub mod addr;
pub mod error;
pub mod sockopt;
