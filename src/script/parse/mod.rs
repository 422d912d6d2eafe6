//! The script parser: lines in the syntax `--trace`, lab timelines and
//! `strace -f` print, into [`crate::script::ast`]. It never panics and
//! never recurses deeper than [`lex::MAX_DEPTH`] brackets; an error is
//! one line with its position ([`ParseError`]).

mod expr;
mod lex;
mod line;
mod skip;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_expr;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_lab;

use std::ops::Range;

use crate::script::ast::{Expr, Line, ParseError, Script, Span};

/// Every call line of `text`; every line's error if any line is wrong.
pub fn parse(text: &str) -> Result<Script, Vec<ParseError>> {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, l) in text.lines().enumerate() {
        match parse_line(i + 1, l) {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Script { lines })
    } else {
        Err(errors)
    }
}

/// One line (`no` is its 1-based number); None for a blank line, a
/// comment or a line that is not a call (lab headers, program output,
/// strace's `--- SIG ---` and `+++ exited +++`, wire lines).
pub fn parse_line(no: usize, line: &str) -> Result<Option<Line>, ParseError> {
    line::line(no, line)
}

/// An argument list as a rendered trace prints it: `3, {sa_family=...},
/// [128 => 16]` (spans on line 1).
pub fn parse_args(text: &str) -> Result<Vec<Expr>, ParseError> {
    let mut c = lex::Cur::new(text, 1);
    expr::list(&mut c, None)
}

/// The byte ranges of the top-level arguments of `text` (trimmed of
/// spaces), splitting at commas outside strings and brackets. A trailing
/// comma adds no empty argument.
pub fn split_args(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in crate::strace::top_level_commas(text) {
        out.push(trimmed(text, start..at));
        start = at + 1;
    }
    let last = trimmed(text, start..text.len());
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// `r` without the spaces at either end.
fn trimmed(text: &str, r: Range<usize>) -> Range<usize> {
    let s = text.get(r.clone()).unwrap_or("");
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    let start = r.start + lead;
    start..(r.end - trail).max(start)
}

fn error_at(sp: Span, msg: &str) -> ParseError {
    ParseError {
        line: sp.line,
        col: sp.col,
        msg: msg.to_string(),
    }
}
