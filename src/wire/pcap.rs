//! `--pcap FILE`: the captured frames as a standard pcap file that
//! `tcpdump -r FILE -nn` and Wireshark open.
//!
//! The classic format (not pcapng): a 24-byte global header with the
//! nanosecond magic `0xa1b23c4d`, version 2.4, snaplen 262144, link type 1
//! (Ethernet: Linux `lo` frames carry a 14-byte header of zero addresses),
//! then per frame a 16-byte record header (seconds, nanoseconds, captured
//! length, original length) and the bytes. Written in the host's byte
//! order, as libpcap does; readers detect it from the magic.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

/// pcap's magic for nanosecond timestamps.
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
pub const SNAPLEN: u32 = 262_144;
pub const LINKTYPE_ETHERNET: u32 = 1;

/// The global header.
pub fn header() -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&MAGIC_NSEC.to_ne_bytes());
    h.extend_from_slice(&2u16.to_ne_bytes());
    h.extend_from_slice(&4u16.to_ne_bytes());
    h.extend_from_slice(&0i32.to_ne_bytes()); // thiszone
    h.extend_from_slice(&0u32.to_ne_bytes()); // sigfigs
    h.extend_from_slice(&SNAPLEN.to_ne_bytes());
    h.extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
    h
}

/// One record: `ts` since the epoch, the captured bytes (cut at the
/// snaplen) and the frame's original length.
pub fn record(ts: Duration, frame: &[u8], orig_len: usize) -> Vec<u8> {
    let caplen = frame.len().min(SNAPLEN as usize);
    let mut r = Vec::with_capacity(16 + caplen);
    r.extend_from_slice(&(ts.as_secs() as u32).to_ne_bytes());
    r.extend_from_slice(&ts.subsec_nanos().to_ne_bytes());
    r.extend_from_slice(&(caplen as u32).to_ne_bytes());
    r.extend_from_slice(&(orig_len.max(caplen) as u32).to_ne_bytes());
    r.extend_from_slice(&frame[..caplen]);
    r
}

/// A pcap file being written.
pub struct Writer {
    out: Box<dyn Write + Send>,
}

impl Writer {
    /// Create `path` (never through a symbolic link) and write the global header.
    pub fn create(path: &std::path::Path) -> std::io::Result<Writer> {
        // Leaked on purpose, as the trace file: the file stays open until
        // the process exits, so no untraced close(2) among the socket calls.
        let file: &'static mut std::fs::File = Box::leak(Box::new(
            crate::sys::untraced::create_output(path, false, 0)?,
        ));
        let mut out: Box<dyn Write + Send> = Box::new(std::io::BufWriter::new(file));
        out.write_all(&header())?;
        out.flush()?;
        Ok(Writer { out })
    }

    pub fn write(
        &mut self,
        ts: std::time::SystemTime,
        frame: &[u8],
        orig_len: usize,
    ) -> std::io::Result<()> {
        let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
        self.out.write_all(&record(since, frame, orig_len))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_24_bytes_with_the_nanosecond_magic() {
        let h = header();
        assert_eq!(h.len(), 24);
        assert_eq!(u32::from_ne_bytes([h[0], h[1], h[2], h[3]]), 0xa1b2_3c4d);
        assert_eq!(u32::from_ne_bytes([h[20], h[21], h[22], h[23]]), 1);
    }

    #[test]
    fn record_cuts_at_the_snaplen_and_keeps_the_original_length() {
        let r = record(Duration::new(7, 9), &[1, 2, 3], 3);
        assert_eq!(r.len(), 19);
        assert_eq!(u32::from_ne_bytes([r[4], r[5], r[6], r[7]]), 9);
    }
}
