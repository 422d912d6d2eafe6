//! Buffers sized from the command line (`--bufsize`, `--size`), allocated
//! fallibly, and the `--size` pattern.

use crate::values::error::{Error, Result};

/// A zeroed buffer of `n` bytes sized from the command line (`what`:
/// `--bufsize`, `--size`): a failed allocation is an error, exit 1
/// (`cannot allocate N bytes for --size`), not an abort, so the caller's
/// cleanup (a UNIX server's unlink) still runs. Zeroed pages are only
/// touched when used, as with `vec![0; n]`.
pub fn buffer(n: usize, what: &str) -> Result<Vec<u8>> {
    let cannot = || {
        Error::Runtime(format!(
            "cannot allocate {n} bytes for {what} (out of memory, or over the address-space limit: ulimit -v)"
        ))
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(n).map_err(|_| cannot())?;
    // SAFETY: the layout's size is not zero (n > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(cannot());
    }
    // SAFETY: ptr was allocated by the global allocator with the layout
    // of n bytes of u8 (align 1), and all n bytes are initialised (zero).
    Ok(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

/// `n` bytes of `abc...xyz` repeated: lowercase, so the echo is checkable.
/// Allocated as [`buffer`] (for `what`, `--size`).
pub fn pattern(n: usize, what: &str) -> Result<Vec<u8>> {
    let mut msg = buffer(n, what)?;
    for (b, c) in msg.iter_mut().zip((b'a'..=b'z').cycle()) {
        *b = c;
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_and_buffer() {
        assert_eq!(
            pattern(28, "--size").unwrap(),
            b"abcdefghijklmnopqrstuvwxyzab"
        );
        assert_eq!(buffer(3, "--bufsize").unwrap(), [0, 0, 0]);
        assert!(buffer(0, "--bufsize").unwrap().is_empty());
        let e = buffer(usize::MAX, "--size").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot allocate 18446744073709551615 bytes for --size")
        );
    }
}
