//! The value parsers of the command line's options: each message made one
//! printable line (issue #8).

use crate::inspect::{self, Pause};
use crate::values::sockopt::{self, Setting};

/// `--sockopt`, its message made one printable line (issue #8).
pub fn parse_sockopt(s: &str) -> Result<Setting, String> {
    sockopt::parse_setting(s).map_err(|e| crate::values::error::printable(&e))
}

/// `--pause-before/--pause-after`, its message made one printable line.
pub fn parse_pause(s: &str) -> Result<Pause, String> {
    inspect::parse_pause(s).map_err(|e| crate::values::error::printable(&e))
}

/// `--mode OCTAL`: permission bits 0 to 0777 (`0600`, `660`).
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m)
            if !digits.is_empty()
                && digits.len() <= 4
                && m <= 0o777
                && !digits.starts_with('+') =>
        {
            Ok(m)
        }
        _ => Err(crate::values::error::printable(&format!(
            "'{s}' is not an octal file mode from 0 to 0777 (e.g. 0600, 0660)"
        ))),
    }
}

pub(crate) fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        // poll(2) counts milliseconds: a shorter time would be 0, non-blocking.
        Ok(v) if v.is_finite() && (0.001..=1e6).contains(&v) => Ok(v),
        _ => Err(crate::values::error::printable(&format!(
            "'{s}' is not a number of seconds (0.001 to 1000000)"
        ))),
    }
}

/// `--timeout SECS`: as [`parse_secs`], or 0 (Python's `settimeout(0.0)`,
/// which is `setblocking(False)`).
pub(crate) fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v == 0.0 && !s.starts_with('-') => Ok(0.0),
        _ => parse_secs(s).map_err(|_| {
            crate::values::error::printable(&format!(
                "'{s}' is not a number of seconds (0, or 0.001 to 1000000)"
            ))
        }),
    }
}

/// The flags `--send-flags` and `--recv-flags` take, as strace prints them.
pub const MSG_FLAGS: &[(&str, i32)] = &[
    ("MSG_PEEK", libc::MSG_PEEK),
    ("MSG_WAITALL", libc::MSG_WAITALL),
    ("MSG_DONTWAIT", libc::MSG_DONTWAIT),
    ("MSG_OOB", libc::MSG_OOB),
    ("MSG_MORE", libc::MSG_MORE),
    ("MSG_NOSIGNAL", libc::MSG_NOSIGNAL),
    ("MSG_TRUNC", libc::MSG_TRUNC),
];

/// `--send-flags`/`--recv-flags`: names joined by `|` (`MSG_PEEK|MSG_DONTWAIT`).
pub fn parse_msg_flags(s: &str) -> Result<i32, String> {
    let mut flags = 0;
    for name in s.split('|') {
        match MSG_FLAGS.iter().find(|(n, _)| *n == name.trim()) {
            Some((_, bit)) => flags |= bit,
            None => {
                let valid: Vec<&str> = MSG_FLAGS.iter().map(|(n, _)| *n).collect();
                return Err(crate::values::error::printable(&format!(
                    "'{name}' is not a flag: {} (joined with |, or the option repeated)",
                    valid.join(", ")
                )));
            }
        }
    }
    Ok(flags)
}

/// A datagram server's `--recv-flags`: as [`parse_msg_flags`], but not
/// MSG_PEEK (the server would answer the same datagram forever).
pub fn parse_server_recv_flags(s: &str) -> Result<i32, String> {
    let flags = parse_msg_flags(s)?;
    if flags & libc::MSG_PEEK != 0 {
        return Err(crate::values::error::printable(
            "MSG_PEEK leaves the datagram queued: the server would read the same one forever (the clients take it)",
        ));
    }
    Ok(flags)
}
