//! One line: the prefixes (`[pid N]`, a pid as `strace -o` writes it,
//! strace's time stamps, packetdrill's `+SECS`, an actor tag `NAME | `),
//! the lines that are not calls, `NAME = `, the call in its three forms
//! and the result.

use std::time::Duration;

use super::expr;
use super::lex::Cur;
use super::skip::{comment_start, ignored};
use crate::script::ast::{Call, Expect, Form, Line, Outcome, ParseError};

/// What the prefixes said.
#[derive(Default)]
struct Prefix {
    actor: Option<String>,
    /// An actor tag `NAME | ` was read.
    tagged: bool,
    /// `[pid N]`'s N.
    task: Option<i64>,
    delay: Option<Duration>,
}

pub fn line(no: usize, text: &str) -> Result<Option<Line>, ParseError> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    if ignored(text) {
        return Ok(None);
    }
    let mut c = Cur::new(text, no);
    c.end = comment_start(text);
    let Some(p) = prefixes(&mut c)? else {
        return Ok(None);
    };
    c.skip_ws();
    if c.at_end() || ignored(c.rest()) {
        return Ok(None);
    }
    let bind = binding(&mut c);
    let call = call(&mut c)?;
    Ok(Some(Line {
        no,
        text: text.to_string(),
        actor: p.actor,
        task: p.task,
        delay: p.delay,
        bind,
        call,
    }))
}

/// Read the prefixes; None when what follows makes the line ignored.
fn prefixes(c: &mut Cur) -> Result<Option<Prefix>, ParseError> {
    let mut p = Prefix::default();
    let mut first = true;
    loop {
        c.skip_ws();
        let save = c.pos;
        if c.eat("[pid") {
            c.skip_ws();
            let d = c.digits(10);
            if d.is_empty() || !c.eat("]") {
                return Err(c.err_at(save, "bad '[pid N]' prefix"));
            }
            // After a tag (`client | [pid 42] ...`, a timeline's task) the
            // tag names the actor.
            if !p.tagged {
                p.actor = Some(format!("pid {d}"));
            }
            p.task = d.parse().ok();
        } else if c.peek() == Some(b'+') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            c.bump();
            let at = c.pos;
            let d = decimal(c);
            let secs = d
                .parse::<f64>()
                .ok()
                .and_then(|f| Duration::try_from_secs_f64(f).ok())
                .ok_or_else(|| c.err_at(at, format!("bad delay '+{d}'")))?;
            if !matches!(c.peek(), Some(b' ' | b'\t')) {
                return Err(c.err_at(save, "expected a space after the '+SECS' delay"));
            }
            p.delay = Some(secs);
        } else if c.eat("(+") {
            // strace -r with -t/-tt/-ttt: `10:11:12.123456 (+     0.000123) `.
            c.skip_ws();
            decimal(c);
            if !c.eat(")") {
                return Err(c.err_at(save, "bad '(+ SECS)' relative time"));
            }
        } else if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            if !time_stamp(c, first, &mut p) {
                c.pos = save;
                return Ok(Some(p));
            }
        } else if let Some(name) = actor(c) {
            if name == "wire" {
                return Ok(None);
            }
            p.actor = Some(name);
            p.tagged = true;
        } else {
            c.pos = save;
            return Ok(Some(p));
        }
        first = false;
        if ignored(c.rest()) {
            return Ok(None);
        }
    }
}

fn decimal<'a>(c: &mut Cur<'a>) -> &'a str {
    let start = c.pos;
    c.digits(10);
    if c.peek() == Some(b'.') {
        c.bump();
        c.digits(10);
    }
    c.s.get(start..c.pos).unwrap_or("")
}

/// `12:00:01[.123456] `, `1700000000.123456 `, `0.000123 ` (strace -r),
/// or a bare pid first on the line (`strace -f -o`): a space follows.
fn time_stamp(c: &mut Cur, first: bool, p: &mut Prefix) -> bool {
    let start = c.pos;
    let d = c.digits(10);
    let mut clock = false;
    while c.peek() == Some(b':') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.bump();
        c.digits(10);
        clock = true;
    }
    let mut frac = false;
    if c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.bump();
        c.digits(10);
        frac = true;
    }
    if !matches!(c.peek(), Some(b' ' | b'\t')) {
        c.pos = start;
        return false;
    }
    if !clock && !frac {
        if !first {
            c.pos = start;
            return false;
        }
        p.actor = Some(format!("pid {d}"));
        p.task = d.parse().ok();
    }
    true
}

/// `NAME | ` (padded), or `NAME@HOST | ` (an actor on a host of the lab
/// network: `script/hosts.rs` checks the host); the name as written.
/// `pid N | `: the actor a timeline names after a fork's or clone3's
/// result N (strace -f's `[pid N]` lines).
fn actor(c: &mut Cur) -> Option<String> {
    let save = c.pos;
    if let Some(n) = c.ident(true) {
        let mut n = n.to_string();
        if n == "pid" && c.peek() == Some(b' ') {
            c.skip_ws();
            let d = c.digits(10);
            if d.is_empty() {
                c.pos = save;
                return None;
            }
            n = format!("pid {d}");
        }
        if c.peek() == Some(b'@') {
            c.bump();
            n = format!("{n}@{}", c.ident(true).unwrap_or(""));
        }
        c.skip_ws();
        if c.peek() == Some(b'|') {
            c.bump();
            return Some(n);
        }
    }
    c.pos = save;
    None
}

/// `NAME = ` before a call.
fn binding(c: &mut Cur) -> Option<(String, crate::script::ast::Span)> {
    let save = c.pos;
    let span = c.span_at(save);
    if let Some(n) = c.ident(false) {
        c.skip_ws();
        if c.peek() == Some(b'=') && c.peek_at(1) != Some(b'>') {
            c.bump();
            c.skip_ws();
            return Some((n.to_string(), span));
        }
    }
    c.pos = save;
    None
}

fn call(c: &mut Cur) -> Result<Call, ParseError> {
    let start = c.pos;
    let (name, form) = if c.eat("<...") {
        c.skip_ws();
        let at = c.pos;
        let n = c
            .ident(false)
            .ok_or_else(|| c.err("expected a call name after '<...'"))?;
        c.skip_ws();
        if !c.eat("resumed>") {
            return Err(c.err(format!("expected 'resumed>', found {}", c.found())));
        }
        // strace's `<... clone resumed>, child_tidptr=...) = N`: the
        // unfinished half ended on a whole argument.
        c.skip_ws();
        if c.peek() == Some(b',') {
            c.bump();
        }
        ((n, at), Form::Resumed)
    } else {
        let n = c
            .ident(false)
            .ok_or_else(|| c.err(format!("expected a call, found {}", c.found())))?;
        if !c.eat("(") {
            return Err(c.err(format!("expected '(' after '{n}', found {}", c.found())));
        }
        ((n, start), Form::Whole)
    };
    let args = expr::list(c, Some(b')'))?;
    c.skip_ws();
    let mut call = Call {
        name: name.0.to_string(),
        name_span: c.span_at(name.1),
        args,
        form,
        result: None,
    };
    if c.starts_with("<unfinished") {
        if form == Form::Resumed {
            return Err(c.err("a resumed call cannot be unfinished again"));
        }
        if !c.eat("<unfinished ...>") {
            return Err(c.err("expected '<unfinished ...>'"));
        }
        call.form = Form::Unfinished;
        c.skip_ws();
        if !c.at_end() {
            return Err(c.err(format!("unexpected {} after '<unfinished ...>'", c.found())));
        }
        return Ok(call);
    }
    if !c.eat(")") {
        return Err(c.err(format!("missing ')': found {}", c.found())));
    }
    c.skip_ws();
    if c.at_end() {
        return Ok(call);
    }
    if !c.eat("=") {
        return Err(c.err(format!(
            "expected '= RESULT' after ')', found {}",
            c.found()
        )));
    }
    c.skip_ws();
    call.result = Some(result(c)?);
    Ok(call)
}

/// After `= `: the value, the errno's name, the note, `<0.000012>`.
fn result(c: &mut Cur) -> Result<Expect, ParseError> {
    let span = c.span_at(c.pos);
    let value = if c.eat("...") {
        Outcome::Any
    } else if c.eat("?") {
        c.skip_ws();
        Outcome::Unknown(c.ident(false).map(str::to_string))
    } else if c.peek().is_some_and(|b| b == b'-' || b.is_ascii_digit()) {
        let v = c.int()?;
        c.skip_ws();
        match c.peek() {
            Some(b'E') if v == -1 => Outcome::Errno(c.ident(false).unwrap_or("").to_string()),
            _ => Outcome::Value(v),
        }
    } else {
        return Err(c.err(format!(
            "expected a result (N, -1 ENAME, ? or ...), found {}",
            c.found()
        )));
    };
    if c.peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(c.err(format!("unexpected {} after the result", c.found())));
    }
    let mut note = None;
    loop {
        c.skip_ws();
        match c.peek() {
            None => break,
            Some(b'(') => {
                let at = c.pos;
                let inner = group(c, b'(', b')')
                    .ok_or_else(|| c.err_at(at, "unbalanced '(' in the result's note"))?;
                if note.is_none() {
                    note = Some(inner.to_string());
                }
            }
            Some(b'<') => {
                let at = c.pos;
                group(c, b'<', b'>')
                    .ok_or_else(|| c.err_at(at, "unbalanced '<' after the result"))?;
            }
            Some(_) => return Err(c.err(format!("unexpected {} after the result", c.found()))),
        }
    }
    Ok(Expect { span, value, note })
}

/// A balanced `(...)` (or `<...>`) at the cursor, aware of strings: the
/// text inside. None if it does not close.
fn group<'a>(c: &mut Cur<'a>, open: u8, close: u8) -> Option<&'a str> {
    let start = c.pos;
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    while let Some(b) = c.peek() {
        c.bump();
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if b == b'"' {
            in_str = true;
        } else if b == open {
            depth += 1;
        } else if b == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return c.s.get(start + 1..c.pos - 1);
            }
        }
    }
    None
}
