//! The cursor the parser reads a line with: byte positions, spans in
//! characters, and the small tokens of strace's syntax (identifiers,
//! numbers, strings with strace's escapes). Nothing here indexes a slice
//! in a way that can panic: every read goes through `get`.

use std::cell::Cell;

use crate::script::ast::{ParseError, Span};

/// How deep `{`, `[` and `f(` may nest before the parser gives up.
pub const MAX_DEPTH: usize = 32;

/// A position in one line of text.
pub struct Cur<'a> {
    pub s: &'a str,
    pub pos: usize,
    /// The line number spans and errors carry.
    pub line: usize,
    /// Where the text ends for this parse (a comment cuts a line short).
    pub end: usize,
    /// Current nesting of brackets.
    pub depth: usize,
    /// (byte position, characters before it) of the last span, so that
    /// spans along a long line cost linear time in all.
    cols: Cell<(usize, usize)>,
}

impl<'a> Cur<'a> {
    pub fn new(s: &'a str, line: usize) -> Self {
        Cur {
            s,
            pos: 0,
            line,
            end: s.len(),
            depth: 0,
            cols: Cell::new((0, 0)),
        }
    }

    pub fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    pub fn peek_at(&self, n: usize) -> Option<u8> {
        let i = self.pos.checked_add(n)?;
        if i >= self.end {
            return None;
        }
        self.s.as_bytes().get(i).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    pub fn bump(&mut self) {
        if self.pos < self.end {
            self.pos += 1;
        }
    }

    /// The text from here to the end.
    pub fn rest(&self) -> &'a str {
        self.s.get(self.pos..self.end).unwrap_or("")
    }

    pub fn starts_with(&self, p: &str) -> bool {
        self.rest().starts_with(p)
    }

    /// Consume `p` if the text continues with it.
    pub fn eat(&mut self, p: &str) -> bool {
        if self.starts_with(p) {
            self.pos += p.len();
            true
        } else {
            false
        }
    }

    /// Skip spaces, tabs and strace's `/* ... */` comments.
    pub fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.bump(),
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    self.pos += 2;
                    match self.rest().find("*/") {
                        Some(i) => self.pos += i + 2,
                        None => self.pos = self.end,
                    }
                }
                _ => return,
            }
        }
    }

    /// The span of byte position `pos` (column in characters, 1-based).
    pub fn span_at(&self, pos: usize) -> Span {
        let (at, before) = self.cols.get();
        let (from, base) = if pos >= at { (at, before) } else { (0, 0) };
        let col = match self.s.get(from..pos) {
            Some(p) => {
                let n = base + p.chars().count();
                self.cols.set((pos, n));
                n
            }
            None => pos,
        };
        Span {
            line: self.line,
            col: col + 1,
        }
    }

    pub fn err_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        let sp = self.span_at(pos);
        ParseError {
            line: sp.line,
            col: sp.col,
            msg: msg.into(),
        }
    }

    pub fn err(&self, msg: impl Into<String>) -> ParseError {
        self.err_at(self.pos, msg)
    }

    /// What is at the cursor, for messages: `'x'` or "end of line".
    pub fn found(&self) -> String {
        match self.rest().chars().next() {
            Some(c) => format!("'{c}'"),
            None => "end of line".to_string(),
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*` (with `-` too when `dash`).
    pub fn ident(&mut self, dash: bool) -> Option<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.bump(),
            _ => return None,
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || (dash && c == b'-') {
                self.bump();
            } else {
                break;
            }
        }
        self.s.get(start..self.pos)
    }

    /// Digits (of a radix) from here; the text of them.
    pub fn digits(&mut self, radix: u32) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if (c as char).is_digit(radix) {
                self.bump();
            } else {
                break;
            }
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// An integer as strace prints one: `3`, `-1`, `0x802`, `0600`
    /// (octal), `0`. A hex value above i64::MAX (a pointer) wraps.
    pub fn int(&mut self) -> Result<i64, ParseError> {
        let start = self.pos;
        let neg = self.eat("-");
        let mag: i128 = if self.eat("0x") || self.eat("0X") {
            let d = self.digits(16);
            if d.is_empty() {
                return Err(self.err("expected hex digits after 0x"));
            }
            let v =
                u64::from_str_radix(d, 16).map_err(|_| self.err_at(start, "integer too large"))?;
            i128::from(v as i64)
        } else if self.peek() == Some(b'0') {
            let d = self.digits(10);
            let oct = d.get(1..).unwrap_or("");
            if oct.is_empty() {
                0
            } else {
                let v = u64::from_str_radix(oct, 8)
                    .map_err(|_| self.err_at(start, format!("bad octal number '{d}'")))?;
                i128::from(v)
            }
        } else {
            let d = self.digits(10);
            if d.is_empty() {
                return Err(self.err("expected a number"));
            }
            d.parse::<i128>()
                .map_err(|_| self.err_at(start, "integer too large"))?
        };
        let v = if neg { -mag } else { mag };
        i64::try_from(v).map_err(|_| self.err_at(start, "integer too large"))
    }

    /// A string in strace's syntax at the cursor (which is at `"`):
    /// the bytes, and whether strace cut it (`"..."...`).
    pub fn string(&mut self) -> Result<(Vec<u8>, bool), ParseError> {
        let start = self.pos;
        self.bump();
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(start, "unterminated string"));
            };
            self.bump();
            match c {
                b'"' => break,
                b'\\' => out.push(self.escape()?),
                _ => out.push(c),
            }
        }
        let cut = self.eat("...");
        Ok((out, cut))
    }

    /// One escape after `\`: `\n \t \r \v \f \" \\ \xNN \NNN`.
    fn escape(&mut self) -> Result<u8, ParseError> {
        let at = self.pos.saturating_sub(1);
        let Some(c) = self.peek() else {
            return Err(self.err_at(at, "unterminated string"));
        };
        let simple = match c {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'v' => Some(0x0b),
            b'f' => Some(0x0c),
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(b) = simple {
            self.bump();
            return Ok(b);
        }
        if c == b'x' {
            self.bump();
            let start = self.pos;
            for _ in 0..2 {
                match self.peek() {
                    Some(h) if h.is_ascii_hexdigit() => self.bump(),
                    _ => break,
                }
            }
            let d = self.s.get(start..self.pos).unwrap_or("");
            return u8::from_str_radix(d, 16)
                .map_err(|_| self.err_at(at, "bad escape '\\x': expected hex digits"));
        }
        if (b'0'..=b'7').contains(&c) {
            let start = self.pos;
            for _ in 0..3 {
                match self.peek() {
                    Some(o) if (b'0'..=b'7').contains(&o) => self.bump(),
                    _ => break,
                }
            }
            let d = self.s.get(start..self.pos).unwrap_or("");
            return u8::from_str_radix(d, 8)
                .map_err(|_| self.err_at(at, format!("bad escape '\\{d}': above \\377")));
        }
        let shown = self.rest().chars().next().unwrap_or('?');
        Err(self.err_at(at, format!("bad escape '\\{shown}' in string")))
    }
}
