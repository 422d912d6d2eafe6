//! Whole messages on a blocking stream socket: send all of it, receive
//! exactly so many bytes. (Python's `sendall` with its timeout and
//! non-blocking modes is `modes::sendall`.)

use crate::sys::{Socket, Sys};
use crate::values::error::Result;

/// Send every byte of `msg`. Calls: `sendto`, again with the rest for as
/// long as the kernel takes less than asked.
pub fn send_all(sys: &Sys, s: Socket, msg: &[u8]) -> Result<()> {
    let mut sent = 0;
    while sent < msg.len() {
        sent += sys.sendto(s, &msg[sent..], None)?;
    }
    Ok(())
}

/// Fill `buf`. Calls: `recvfrom` into the part of `buf` not yet filled,
/// until it is full or the peer closes (`recvfrom` returns 0). Returns
/// the bytes received: `buf.len()`, or less when the peer closed first.
pub fn recv_exactly(sys: &Sys, s: Socket, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let (n, _) = sys.recvfrom(s, &mut buf[got..], false)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}
