//! The JSON Lines form of the trace (`--trace-format json`).

use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use super::Event;

pub fn json_line(ev: &Event, side: Option<&str>) -> String {
    let time = ev
        .start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let (ret, errno) = match ev.ret {
        Ok(v) => (v.to_string(), "null".to_string()),
        Err(e) => ("-1".to_string(), json_str(&format!("{e:?}"))),
    };
    format!(
        "{{\"time\":{time:.6},\"side\":{},\"call\":{},\"args\":{},\"ret\":{ret},\"errno\":{errno},\"duration_us\":{},\"line\":{}}}",
        side.map_or("null".to_string(), json_str),
        json_str(ev.call.name),
        json_str(ev.args),
        ev.duration.as_micros(),
        json_str(&ev.strace_line()),
    )
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_control_characters() {
        assert_eq!(json_str("a\"b\\c\n\x01"), r#""a\"b\\c\n\u0001""#);
    }
}
