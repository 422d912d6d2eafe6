//! A script's sendmmsg line: its datagrams laid out as one batch.

use crate::sys::{Batch, Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::Result;

/// A script's sendmmsg: one batch entry per datagram, each with its own
/// bytes and msg_name (all named, or none: a connected socket).
pub fn sendmmsg(
    sys: &Sys,
    sock: Socket,
    data: &[Vec<u8>],
    to: &[Option<Addr>],
    flags: i32,
) -> Result<i64> {
    let size = data.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let named = to.iter().any(Option::is_some);
    let mut b = Batch::new(vec![0u8; size * data.len()], size, named);
    for (k, bytes) in data.iter().enumerate() {
        if let Some(buf) = b.buf_mut(k).get_mut(..bytes.len()) {
            buf.copy_from_slice(bytes);
        }
        b.set_len(k, bytes.len());
        if let Some(Some(addr)) = to.get(k) {
            b.set_name(k, addr);
        }
    }
    Ok(sys.sendmmsg(sock, &mut b, 0, data.len(), flags)? as i64)
}
