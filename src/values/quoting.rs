//! strace's text forms of C values: buffers quoted and escaped as
//! `printstr` does (with its 32-byte cut), modes in octal, value-result
//! lengths. Pure functions over values; the strace layer re-exports them.

use std::fmt::Write as _;

/// strace's default `-s 32`: longer strings are cut and followed by `...`.
pub const STRACE_MAX_STRLEN: usize = 32;

/// A buffer as strace prints it: quoted, escaped, cut after `max` bytes
/// with `...` after the closing quote.
pub fn quote(buf: &[u8], max: usize) -> String {
    let shown = &buf[..buf.len().min(max)];
    let mut s = String::with_capacity(shown.len() + 8);
    s.push('"');
    for (i, &c) in shown.iter().enumerate() {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => escape_byte(&mut s, c, shown.get(i + 1).copied()),
        }
    }
    s.push('"');
    if buf.len() > max {
        s.push_str("...");
    }
    s
}

/// One byte outside strace's printable set, as strace escapes it: `\n`,
/// `\t`... for those that have a letter, else octal in its shortest form
/// (`\33`), or three digits when an octal digit follows (`\0331`).
pub fn escape_byte(s: &mut String, c: u8, next: Option<u8>) {
    match c {
        b'\x0c' => s.push_str("\\f"),
        b'\n' => s.push_str("\\n"),
        b'\r' => s.push_str("\\r"),
        b'\t' => s.push_str("\\t"),
        b'\x0b' => s.push_str("\\v"),
        _ => {
            let next_is_octal = next.is_some_and(|n| (b'0'..=b'7').contains(&n));
            s.push('\\');
            if next_is_octal {
                let _ = write!(s, "{:03o}", c);
            } else {
                let _ = write!(s, "{:o}", c);
            }
        }
    }
}

/// Bytes made safe for a terminal, as the trace escapes them: UTF-8 text
/// stays, control characters (C0, DEL, C1) and bytes that are not UTF-8
/// become `\33`, `\7`, `\r`, `\377`; with `keep_lines`, newline and tab
/// stay (a peer's lines), else they are escaped too (an address).
pub fn terminal_safe(bytes: &[u8], keep_lines: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            if c.is_control() && !(keep_lines && (c == '\n' || c == '\t')) {
                let mut utf8 = [0; 4];
                let encoded = c.encode_utf8(&mut utf8).as_bytes();
                for (j, &b) in encoded.iter().enumerate() {
                    escape_byte(&mut out, b, bytes.get(at + i + j + 1).copied());
                }
            } else {
                out.push(c);
            }
        }
        at += chunk.valid().len();
        for (j, &b) in chunk.invalid().iter().enumerate() {
            escape_byte(&mut out, b, bytes.get(at + j + 1).copied());
        }
        at += chunk.invalid().len();
    }
    out
}

/// A mode as strace prints it (C's `%#03o`): `000`, `022`, `0177`, `0777`.
pub fn octal_mode(v: u32) -> String {
    let s = if v == 0 {
        "0".to_string()
    } else {
        format!("0{v:o}")
    };
    format!("{s:0>3}")
}

/// strace's value-result length: `[16]` when unchanged, `[128 => 16]` otherwise.
pub fn len_in_out(before: libc::socklen_t, after: libc::socklen_t) -> String {
    if before == after {
        format!("[{after}]")
    } else {
        format!("[{before} => {after}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_strace_escaping() {
        // Captured from `strace -e sendto python3 -c 'a.send(...)'`.
        let bytes = b"\x00\x01\x02ab\x7f\x80\xff\"\\\t\r\x0b\x0c0\x001";
        assert_eq!(
            quote(bytes, 32),
            r#""\0\1\2ab\177\200\377\"\\\t\r\v\f0\0001""#
        );
        assert_eq!(
            quote(b"hello\n\x01\x1b7\x00end", 32),
            r#""hello\n\1\0337\0end""#
        );
    }

    #[test]
    fn quote_cuts_after_32_bytes() {
        assert_eq!(quote(&[b'a'; 32], 32), format!("\"{}\"", "a".repeat(32)));
        assert_eq!(quote(&[b'a'; 33], 32), format!("\"{}\"...", "a".repeat(32)));
    }
}
