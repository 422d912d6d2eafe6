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
